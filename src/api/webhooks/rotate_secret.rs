//! `POST /api/v1/webhooks/{id}/rotate-secret`: replaces the signing secret at once (deliveries
//! from then on are signed with the new one) and shows the new secret once.

use actix_web::{HttpResponse, post, web};
use diesel_async::AsyncConnection;

use super::form::{WebhookWithSecret, new_secret};
use super::get::not_found;
use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::Webhook;
use crate::domain::{Scope, WebhookId};

/// Issues a new signing secret.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/rotate-secret", tag = "webhooks",
    security(("bearer" = [])), params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = WebhookWithSecret), (status = 404, body = ErrorResponse)))]
#[post("/webhooks/{id}/rotate-secret")]
pub async fn rotate_webhook_secret(
    ctx: web::Data<AppContext>,
    caller: Caller,
    id: web::Path<WebhookId>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Configure)?;
    let id = *id;
    let secret = new_secret();
    let mut conn = ctx.db().get().await?;
    let webhook = conn
        .transaction::<_, ApiError, _>(async |conn| {
            Webhook::find(conn, caller.organization_id, id)
                .await
                .map_err(not_found)?;
            let webhook = Webhook::set_secret(conn, caller.organization_id, id, &secret).await?;
            audit::acted(conn, &caller, "rotate_secret", "webhook", id, None, None).await?;
            Ok(webhook)
        })
        .await?;
    Ok(HttpResponse::Ok().json(WebhookWithSecret { webhook, secret }))
}
