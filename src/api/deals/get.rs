//! `GET /api/v1/deals/{id}`.

use actix_web::{HttpResponse, get, web};

use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::Deal;
use crate::domain::{DealId, Scope};

/// One deal.
#[utoipa::path(get, path = "/api/v1/deals/{id}", tag = "deals", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = Deal), (status = 404, body = ErrorResponse)))]
#[get("/deals/{id}")]
pub async fn get_deal(
    ctx: web::Data<AppContext>,
    caller: Caller,
    id: web::Path<DealId>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Read)?;
    let mut conn = ctx.db().get().await?;
    let deal = Deal::find(&mut conn, caller.organization_id, *id)
        .await
        .map_err(not_found)?;
    Ok(HttpResponse::Ok().json(deal))
}

/// Maps a missing row to this resource's 404.
pub(super) fn not_found(error: diesel::result::Error) -> ApiError {
    match error {
        diesel::result::Error::NotFound => ApiError::not_found("deal"),
        other => other.into(),
    }
}
