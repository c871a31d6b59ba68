//! `DELETE /api/v1/members/{id}`: removes a person from the organisation (their user stays).

use actix_web::{HttpResponse, delete, web};
use diesel_async::AsyncConnection;

use super::{not_found, require_owner_for};
use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{Member, Organization};
use crate::domain::{MemberId, Role, Scope};

/// Removes a member; the last owner cannot be removed (409 `last_owner`).
#[utoipa::path(delete, path = "/api/v1/members/{id}", tag = "members", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    responses((status = 204, description = "removed"), (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse)))]
#[delete("/members/{id}")]
pub async fn remove_member(
    ctx: web::Data<AppContext>,
    caller: Caller,
    id: web::Path<MemberId>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Admin)?;
    let id = *id;
    let mut conn = ctx.db().get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        Organization::lock(conn, caller.organization_id).await?;
        let before = Member::find_view(conn, caller.organization_id, id)
            .await
            .map_err(not_found)?;
        require_owner_for(&caller, before.role)?;
        Member::delete(conn, caller.organization_id, id).await?;
        if before.role == Role::Owner
            && Member::count_owners(conn, caller.organization_id).await? == 0
        {
            return Err(ApiError::conflict(
                "last_owner",
                "the organisation must keep at least one owner",
            ));
        }
        audit::deleted(conn, &caller, "member", id, &before).await?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
