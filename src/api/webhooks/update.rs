//! `PATCH /api/v1/webhooks/{id}`.

use actix_web::{HttpResponse, patch, web};
use diesel_async::AsyncConnection;
use validator::Validate;

use super::form::{UpdateWebhook, normalise_events};
use super::get::not_found;
use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{Webhook, WebhookUpdateForm};
use crate::db::or_unchanged;
use crate::domain::{Scope, WebhookId};

impl UpdateWebhook {
    fn into_form(self) -> WebhookUpdateForm {
        WebhookUpdateForm {
            url: self.url.map(|u| u.trim().to_owned()),
            description: self.description,
            events: self.events.map(normalise_events),
            active: self.active,
        }
    }
}

/// Changes a webhook (the secret changes only through rotate-secret).
#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)), request_body = UpdateWebhook,
    responses((status = 200, body = Webhook), (status = 404, body = ErrorResponse),
              (status = 422, body = ErrorResponse)))]
#[patch("/webhooks/{id}")]
pub async fn update_webhook(
    ctx: web::Data<AppContext>,
    caller: Caller,
    id: web::Path<WebhookId>,
    body: web::Json<UpdateWebhook>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Configure)?;
    body.validate()?;
    let form = body.into_inner().into_form();
    let id = *id;
    let mut conn = ctx.db().get().await?;
    let webhook = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let before = Webhook::find(conn, caller.organization_id, id)
                .await
                .map_err(not_found)?;
            let after = or_unchanged(
                Webhook::update(conn, caller.organization_id, id, &form).await,
                &before,
            )?;
            audit::updated(conn, &caller, "webhook", id, &before, &after).await?;
            Ok(after)
        })
        .await?;
    Ok(HttpResponse::Ok().json(webhook))
}
