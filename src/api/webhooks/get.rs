//! `GET /api/v1/webhooks/{id}` (never with its secret).

use actix_web::{HttpResponse, get, web};

use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::Webhook;
use crate::domain::{Scope, WebhookId};

/// One webhook.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = Webhook), (status = 404, body = ErrorResponse)))]
#[get("/webhooks/{id}")]
pub async fn get_webhook(
    ctx: web::Data<AppContext>,
    caller: Caller,
    id: web::Path<WebhookId>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Read)?;
    let mut conn = ctx.db().get().await?;
    let webhook = Webhook::find(&mut conn, caller.organization_id, *id)
        .await
        .map_err(not_found)?;
    Ok(HttpResponse::Ok().json(webhook))
}

/// Maps a missing row to this resource's 404.
pub(super) fn not_found(error: diesel::result::Error) -> ApiError {
    match error {
        diesel::result::Error::NotFound => ApiError::not_found("webhook"),
        other => other.into(),
    }
}
