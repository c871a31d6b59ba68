//! `GET /api/v1/api-keys` and `GET /api/v1/api-keys/{id}`.

use actix_web::{HttpResponse, get, web};

use super::not_found;
use crate::api::error::{ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::ApiKey;
use crate::db::pagination::{PageParams, PageRequest};
use crate::domain::{ApiKeyId, Scope};

/// Lists keys (revoked ones included, marked), newest first.
#[utoipa::path(get, path = "/api/v1/api-keys", tag = "api_keys", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = inline(crate::db::pagination::Page<ApiKey>)), (status = 403, body = ErrorResponse)))]
#[get("/api-keys")]
pub async fn list_api_keys(
    ctx: web::Data<AppContext>,
    caller: Caller,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Admin)?;
    let page = PageRequest::from_params(&page)?;
    let mut conn = ctx.db().get().await?;
    Ok(HttpResponse::Ok().json(ApiKey::list(&mut conn, caller.organization_id, page).await?))
}

/// One key.
#[utoipa::path(get, path = "/api/v1/api-keys/{id}", tag = "api_keys", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = ApiKey), (status = 404, body = ErrorResponse)))]
#[get("/api-keys/{id}")]
pub async fn get_api_key(
    ctx: web::Data<AppContext>,
    caller: Caller,
    id: web::Path<ApiKeyId>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Admin)?;
    let mut conn = ctx.db().get().await?;
    Ok(HttpResponse::Ok().json(
        ApiKey::find(&mut conn, caller.organization_id, *id)
            .await
            .map_err(not_found)?,
    ))
}
