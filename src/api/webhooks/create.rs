//! `POST /api/v1/webhooks`: the answer is the only place the new signing secret appears.

use actix_web::{HttpResponse, post, web};
use diesel_async::AsyncConnection;
use validator::Validate;

use super::form::{CreateWebhook, WebhookWithSecret, new_secret, normalise_events};
use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{Webhook, WebhookInsertForm};
use crate::domain::{Scope, WebhookId};

/// Creates a webhook and returns it with its signing secret, once.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", security(("bearer" = [])),
    request_body = CreateWebhook,
    responses((status = 201, body = WebhookWithSecret), (status = 422, body = ErrorResponse)))]
#[post("/webhooks")]
pub async fn create_webhook(
    ctx: web::Data<AppContext>,
    caller: Caller,
    body: web::Json<CreateWebhook>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Configure)?;
    body.validate()?;
    let request = body.into_inner();
    let secret = new_secret();
    let form = WebhookInsertForm {
        id: WebhookId::new(),
        organization_id: caller.organization_id,
        url: request.url.trim().to_owned(),
        description: request.description.unwrap_or_default(),
        events: normalise_events(request.events),
        secret: secret.clone(),
        active: request.active.unwrap_or(true),
    };
    let mut conn = ctx.db().get().await?;
    let webhook = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let webhook = Webhook::create(conn, &form).await?;
            // The row type never serialises its secret, so the audit entry cannot hold it.
            audit::created(conn, &caller, "webhook", webhook.id, &webhook).await?;
            Ok(webhook)
        })
        .await?;
    Ok(HttpResponse::Created().json(WebhookWithSecret { webhook, secret }))
}
