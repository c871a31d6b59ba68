//! `DELETE /api/v1/deals/{id}`.

use actix_web::{HttpResponse, delete, web};
use diesel_async::AsyncConnection;

use super::get::not_found;
use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::Deal;
use crate::domain::{DealId, Scope};

/// Deletes a deal.
#[utoipa::path(delete, path = "/api/v1/deals/{id}", tag = "deals", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    responses((status = 204, description = "deleted"), (status = 404, body = ErrorResponse)))]
#[delete("/deals/{id}")]
pub async fn delete_deal(
    ctx: web::Data<AppContext>,
    caller: Caller,
    id: web::Path<DealId>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Write)?;
    let id = *id;
    let mut conn = ctx.db().get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let before = Deal::find(conn, caller.organization_id, id)
            .await
            .map_err(not_found)?;
        Deal::delete(conn, caller.organization_id, id).await?;
        audit::deleted(conn, &caller, "deal", id, &before).await?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
