//! `/api/v1/members`: who belongs to the organisation and with which role. Managing members needs
//! the `admin` scope; only owners may create, promote to, demote or remove owners, and the last
//! owner can never be removed or demoted.

mod add;
mod list;
mod remove;
mod update;

pub use add::*;
pub use list::*;
pub use remove::*;
pub use update::*;

use actix_web::web;
use utoipa::OpenApi;

use crate::api::error::ApiError;
use crate::auth::{Actor, Caller};
use crate::domain::Role;

/// Routes of this resource.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_members)
        .service(add_member)
        .service(update_member)
        .service(remove_member);
}

/// OpenAPI of this resource.
#[derive(OpenApi)]
#[openapi(
    paths(list_members, add_member, update_member, remove_member),
    components(schemas(crate::db::models::MemberView, AddMember, UpdateMember)),
    tags((name = "members", description = "People in the organisation and their roles"))
)]
pub struct MembersApi;

/// Owners are managed by owners only (an API key with `admin` scope cannot touch them).
fn require_owner_for(caller: &Caller, role: Role) -> Result<(), ApiError> {
    let is_owner = matches!(
        caller.actor,
        Actor::User {
            role: Role::Owner,
            ..
        }
    );
    if role == Role::Owner && !is_owner {
        return Err(ApiError::new(
            actix_web::http::StatusCode::FORBIDDEN,
            "owner_required",
            "only an owner can add, change or remove owners",
        ));
    }
    Ok(())
}

/// 404 for a membership of this organisation that does not exist.
fn not_found(error: diesel::result::Error) -> ApiError {
    match error {
        diesel::result::Error::NotFound => ApiError::not_found("member"),
        other => other.into(),
    }
}
