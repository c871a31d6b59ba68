//! `POST /webhooks/email/inbound`: inbound mail handed over by a relay or mail service as raw
//! MIME. The request names the email channel (`X-Switchboard-Channel`) and is signed:
//! `X-Switchboard-Signature: sha256=<hex HMAC-SHA256 over "{timestamp}.{body}">` with the
//! channel's `inbound_secret`, `X-Switchboard-Timestamp: <unix seconds>` within
//! `email.inbound_max_skew_secs`; each signature is accepted once (Redis `SET NX`).
//!
//! The body is read up to `email.inbound_max_bytes` and refused beyond it before any parsing;
//! unparseable or oversized mail is refused with a stable code and kept aside in
//! `email.rejected_dir`. A delivery status notification suppresses its failed recipients and
//! reaches no agent; an auto-reply is stored but marked so it triggers no agent turn; anything
//! else is threaded to its chat by `In-Reply-To`/`References` (or the sender's chat on this
//! channel) and goes through the one ingest path, which commits before we answer 200.

mod parse;
mod reject;
mod verify;

pub use parse::{MailKind, ParsedMail, parse, strip_reply};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, post, web};
use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::StreamExt;
use serde::Serialize;

use super::settings::{EmailSecretRefs, read_secret};
use crate::api::error::ApiError;
use crate::channels::ingest::{IngestError, Ingestor};
use crate::context::AppContext;
use crate::db::models::{Suppression, SuppressionReason};
use crate::db::schema::{channels, chats, messages};
use crate::domain::{
    ChannelId, ChannelKind, InboundMessage, InboundSender, NO_TURN_METADATA_KEY, OrganizationId,
};

/// Registers the endpoint.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(receive_email);
}

/// What became of an accepted email.
#[derive(Debug, Serialize)]
pub struct InboundEmailResponse {
    /// `stored`, `duplicate`, `auto_reply_stored` or `bounce_recorded`.
    pub status: &'static str,
    /// The stored message, when one was stored.
    pub message_id: Option<String>,
    /// Its chat.
    pub chat_id: Option<String>,
    /// Addresses a bounce suppressed.
    pub suppressed: Vec<String>,
}

fn refuse(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(status, code, message)
}

/// Receives one raw email.
#[post("/webhooks/email/inbound")]
pub async fn receive_email(
    ctx: web::Data<AppContext>,
    ingestor: web::Data<Ingestor>,
    request: HttpRequest,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let config = &ctx.config().email;
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let channel_id: ChannelId = header("X-Switchboard-Channel")
        .and_then(|v| v.parse().ok())
        .map(ChannelId)
        .ok_or_else(|| {
            refuse(
                StatusCode::BAD_REQUEST,
                "email_channel_missing",
                "X-Switchboard-Channel must name an email channel id",
            )
        })?;
    let (org, secret_refs) = {
        let mut conn = ctx.db().get().await?;
        channel_of(&mut conn, channel_id).await?
    };
    let secret = read_secret(&secret_refs.inbound_secret)
        .ok()
        .flatten()
        .ok_or_else(|| {
            refuse(
                StatusCode::FORBIDDEN,
                "email_inbound_not_configured",
                "the channel has no inbound_secret (or its environment variable is unset)",
            )
        })?;
    let timestamp = header("X-Switchboard-Timestamp")
        .and_then(|v| v.parse::<i64>().ok())
        .ok_or_else(|| {
            refuse(
                StatusCode::UNAUTHORIZED,
                "email_signature_invalid",
                "X-Switchboard-Timestamp is missing",
            )
        })?;
    if (Utc::now().timestamp() - timestamp).abs() > config.inbound_max_skew_secs {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "email_signature_expired",
            "the signature's timestamp is outside the accepted window",
        ));
    }
    let signature = header("X-Switchboard-Signature")
        .unwrap_or_default()
        .to_owned();

    // Read at most the limit; refuse (and keep a capped copy) beyond it, before parsing.
    let limit = config.inbound_max_bytes;
    let mut body = web::BytesMut::new();
    let mut oversized = false;
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            refuse(
                StatusCode::BAD_REQUEST,
                "email_body_unreadable",
                e.to_string(),
            )
        })?;
        if body.len() + chunk.len() > limit {
            let room = limit - body.len();
            body.extend_from_slice(&chunk[..room]);
            oversized = true;
            break;
        }
        body.extend_from_slice(&chunk);
    }
    if oversized {
        reject::keep_aside(&config.rejected_dir, channel_id, "too_large", &body).await;
        return Err(refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "email_too_large",
            format!("the message is larger than {limit} bytes"),
        ));
    }
    if !verify::signature_matches(secret.expose().as_bytes(), timestamp, &body, &signature) {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "email_signature_invalid",
            "the signature does not match the body",
        ));
    }
    if !verify::first_use(&ctx, &signature, config.inbound_max_skew_secs).await? {
        return Err(refuse(
            StatusCode::CONFLICT,
            "email_replayed",
            "this signed request was already received",
        ));
    }

    let mail = match parse(&body) {
        Ok(mail) => mail,
        Err(e) => {
            reject::keep_aside(&config.rejected_dir, channel_id, "malformed", &body).await;
            return Err(refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                "email_malformed",
                e.to_string(),
            ));
        }
    };
    if let MailKind::Bounce { failed } = &mail.kind {
        let mut conn = ctx.db().get().await?;
        for address in failed {
            Suppression::suppress_email(&mut conn, org, address, SuppressionReason::Bounce).await?;
        }
        tracing::info!(channel.id = %channel_id, recipients = failed.len(), "delivery status notification recorded");
        return Ok(HttpResponse::Ok().json(InboundEmailResponse {
            status: "bounce_recorded",
            message_id: None,
            chat_id: None,
            suppressed: failed.clone(),
        }));
    }
    let inbound = {
        let mut conn = ctx.db().get().await?;
        to_inbound(&mut conn, channel_id, &mail).await?
    };
    let auto_reply = mail.kind == MailKind::AutoReply;
    let mut outcome = ingestor
        .ingest(inbound.clone())
        .await
        .map_err(ingest_error)?;
    if outcome.duplicate
        && outcome.message.metadata["email"]["content_hash"].as_str() != Some(&mail.content_hash)
    {
        // The same Message-ID with different content is a different mail, not a redelivery.
        let mut other = inbound;
        other.external_message_id =
            format!("{}#{}", other.external_message_id, &mail.content_hash[..16]);
        outcome = ingestor.ingest(other).await.map_err(ingest_error)?;
    }
    let status = match (outcome.duplicate, auto_reply) {
        (true, _) => "duplicate",
        (false, true) => "auto_reply_stored",
        (false, false) => "stored",
    };
    Ok(HttpResponse::Ok().json(InboundEmailResponse {
        status,
        message_id: Some(outcome.message.id.to_string()),
        chat_id: Some(outcome.chat.id.to_string()),
        suppressed: Vec::new(),
    }))
}

fn ingest_error(e: IngestError) -> ApiError {
    match e {
        IngestError::Saturated => refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "ingest_saturated",
            e.to_string(),
        ),
        IngestError::Invalid(m) => refuse(StatusCode::UNPROCESSABLE_ENTITY, "email_unusable", m),
        IngestError::UnknownChannel | IngestError::InactiveChannel => refuse(
            StatusCode::NOT_FOUND,
            "email_channel_unknown",
            e.to_string(),
        ),
        other => ApiError::unavailable(other),
    }
}

/// The channel's organisation and secret references, if it is an active email channel.
async fn channel_of(
    conn: &mut AsyncPgConnection,
    id: ChannelId,
) -> Result<(OrganizationId, EmailSecretRefs), ApiError> {
    let found: Option<(OrganizationId, ChannelKind, bool, serde_json::Value)> = channels::table
        .filter(channels::id.eq(id))
        .select((
            channels::organization_id,
            channels::kind,
            channels::active,
            channels::secret_refs,
        ))
        .first(conn)
        .await
        .optional()?;
    match found {
        Some((org, ChannelKind::Email, true, refs)) => Ok((
            org,
            EmailSecretRefs::from_json(&refs).map_err(ApiError::internal)?,
        )),
        _ => Err(refuse(
            StatusCode::NOT_FOUND,
            "email_channel_unknown",
            "no active email channel with that id",
        )),
    }
}

/// Builds the normalised message: threaded by the first known id among `In-Reply-To` and
/// `References` (newest first), else the sender's own thread on this channel.
async fn to_inbound(
    conn: &mut AsyncPgConnection,
    channel: ChannelId,
    mail: &ParsedMail,
) -> Result<InboundMessage, ApiError> {
    let mut candidates: Vec<String> = mail.in_reply_to.clone();
    candidates.extend(mail.references.iter().rev().cloned());
    let known: Vec<(Option<String>, String)> = if candidates.is_empty() {
        Vec::new()
    } else {
        messages::table
            .inner_join(chats::table.on(chats::id.eq(messages::chat_id)))
            .filter(messages::channel_id.eq(channel))
            .filter(messages::external_id.eq_any(&candidates))
            .select((messages::external_id, chats::external_thread_id))
            .load(conn)
            .await?
    };
    let thread = candidates
        .iter()
        .find_map(|c| {
            known
                .iter()
                .find(|(id, _)| id.as_deref() == Some(c.as_str()))
                .map(|(_, t)| t.clone())
        })
        .unwrap_or_else(|| format!("email:{}", mail.from.as_deref().unwrap_or_default()));
    let external_message_id = mail
        .message_id
        .clone()
        .unwrap_or_else(|| format!("sha256:{}", mail.content_hash));
    let mut metadata = serde_json::json!({
        "email": {
            "message_id": mail.message_id,
            "subject": mail.subject,
            "in_reply_to": mail.in_reply_to,
            "references": mail.references,
            "content_hash": mail.content_hash,
            "original_text": mail.original_text,
            "auto_reply": mail.kind == MailKind::AutoReply,
        }
    });
    if mail.kind == MailKind::AutoReply {
        metadata[NO_TURN_METADATA_KEY] = serde_json::Value::Bool(true);
    }
    Ok(InboundMessage {
        channel_id: channel,
        external_thread_id: thread,
        external_message_id,
        sender: InboundSender {
            name: mail.from_name.clone(),
            email: mail.from.clone(),
            ..Default::default()
        },
        text: mail.text.clone(),
        attachments: mail.attachments.clone(),
        reply_to_external_id: <[String]>::first(&mail.in_reply_to).cloned(),
        received_at: Utc::now(),
        metadata,
    })
}
