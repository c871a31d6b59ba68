//! `POST /webhooks/telegram/{channel_id}`: Telegram's webhook delivery. The secret token header
//! is checked in constant time before anything else (mismatch: 403, nothing stored); the update
//! is committed through the `Ingestor` and only then answered 200, so an acknowledged update is
//! durable. Agent turns run after the commit, asynchronously, so a slow agent never delays the
//! answer. Any failure to store answers non-2xx, and Telegram redelivers (dedupe absorbs it).

use actix_web::{HttpRequest, HttpResponse, post, web};
use teloxide::types::Update;

use super::TelegramError;
use super::bot::{BotSettings, PollMode, find_channel};
use super::inbound::apply_update;
use crate::api::error::ApiError;
use crate::channels::ingest::Ingestor;
use crate::context::AppContext;
use crate::domain::ChannelId;

/// The header Telegram sends with the `secret_token` given to `setWebhook`.
pub const SECRET_HEADER: &str = "X-Telegram-Bot-Api-Secret-Token";

/// Receives one update for a webhook-mode Telegram channel.
#[post("/webhooks/telegram/{channel_id}")]
pub async fn receive_update(
    ctx: web::Data<AppContext>,
    ingestor: web::Data<Ingestor>,
    channel_id: web::Path<ChannelId>,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let channel_id = channel_id.into_inner();
    let channel = {
        let mut conn = ctx
            .db()
            .get()
            .await
            .map_err(|e| TelegramError::Pool(e.to_string()))?;
        find_channel(&mut conn, channel_id).await?
    };
    let settings = BotSettings::from_channel(&channel).map_err(|e| {
        // A missing secret env var: no way to authenticate the caller.
        tracing::warn!(channel.id = %channel_id, error = %e, "telegram webhook channel misconfigured");
        TelegramError::BadSecret
    })?;
    let presented = request
        .headers()
        .get(SECRET_HEADER)
        .map(|value| value.as_bytes());
    if settings.mode != PollMode::Webhook || !settings.webhook_secret_matches(presented) {
        return Err(TelegramError::BadSecret.into());
    }
    let update: Update =
        serde_json::from_slice(&body).map_err(|e| TelegramError::BadUpdate(e.to_string()))?;
    let applied = apply_update(
        &ctx,
        &ingestor,
        channel_id,
        channel.organization_id,
        &update,
    )
    .await?;
    tracing::debug!(channel.id = %channel_id, telegram.update_id = update.id.0, ?applied, "telegram update stored");
    Ok(HttpResponse::Ok().json(serde_json::json!({ "ok": true })))
}
