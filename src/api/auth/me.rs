//! `GET /api/v1/me`: who the credential belongs to, and what it may do.

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::error::{ApiResult, ErrorResponse};
use crate::auth::{Actor, Caller};
use crate::context::AppContext;
use crate::db::models::{Organization, User};
use crate::domain::{Role, Scope};

/// The caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    /// The organisation.
    pub organization: Organization,
    /// The user, for a person.
    pub user: Option<User>,
    /// The role, for a person.
    pub role: Option<Role>,
    /// The API key's id, for a machine.
    pub api_key_id: Option<crate::domain::ApiKeyId>,
    /// What the credential may do.
    pub scopes: Vec<Scope>,
}

/// Describes the caller.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])), responses(
    (status = 200, body = MeResponse), (status = 401, body = ErrorResponse)))]
#[get("/me")]
pub async fn get_me(ctx: web::Data<AppContext>, caller: Caller) -> ApiResult<HttpResponse> {
    let mut conn = ctx.db().get().await?;
    let organization = Organization::find(&mut conn, caller.organization_id).await?;
    let (user, role, api_key_id) = match caller.actor {
        Actor::User { user_id, role } => (
            Some(User::find(&mut conn, user_id).await?),
            Some(role),
            None,
        ),
        Actor::ApiKey { key_id } => (None, None, Some(key_id)),
    };
    Ok(HttpResponse::Ok().json(MeResponse {
        organization,
        user,
        role,
        api_key_id,
        scopes: caller.scopes,
    }))
}
