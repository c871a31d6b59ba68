//! `PATCH /api/v1/members/{id}`: changes a member's role.

use actix_web::{HttpResponse, patch, web};
use diesel_async::AsyncConnection;
use serde::Deserialize;
use utoipa::ToSchema;

use super::{not_found, require_owner_for};
use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{Member, Organization};
use crate::domain::{MemberId, Role, Scope};

/// The new role.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMember {
    /// Role.
    pub role: Role,
}

/// Changes a role; demoting the last owner is 409 `last_owner`.
#[utoipa::path(patch, path = "/api/v1/members/{id}", tag = "members", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)), request_body = UpdateMember,
    responses((status = 200, body = crate::db::models::MemberView), (status = 404, body = ErrorResponse),
              (status = 409, body = ErrorResponse)))]
#[patch("/members/{id}")]
pub async fn update_member(
    ctx: web::Data<AppContext>,
    caller: Caller,
    id: web::Path<MemberId>,
    body: web::Json<UpdateMember>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Admin)?;
    let (id, role) = (*id, body.role);
    let mut conn = ctx.db().get().await?;
    let view = conn
        .transaction::<_, ApiError, _>(async |conn| {
            Organization::lock(conn, caller.organization_id).await?;
            let before = Member::find_view(conn, caller.organization_id, id)
                .await
                .map_err(not_found)?;
            require_owner_for(&caller, before.role)?;
            require_owner_for(&caller, role)?;
            Member::set_role(conn, caller.organization_id, id, role).await?;
            if before.role == Role::Owner
                && Member::count_owners(conn, caller.organization_id).await? == 0
            {
                return Err(ApiError::conflict(
                    "last_owner",
                    "the organisation must keep at least one owner",
                ));
            }
            let after = Member::find_view(conn, caller.organization_id, id).await?;
            audit::updated(conn, &caller, "member", id, &before, &after).await?;
            Ok(after)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
