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

mod accept;
mod parse;
pub mod reject;
mod verify;

pub use accept::{AcceptError, Accepted, accept_mail};
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
use crate::db::schema::channels;
use crate::domain::{ChannelId, ChannelKind, OrganizationId};

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

    match accept_mail(&ctx, &ingestor, channel_id, org, &body).await {
        Ok(Accepted::Rejected { code, detail }) => {
            Err(refuse(StatusCode::UNPROCESSABLE_ENTITY, code, detail))
        }
        Ok(Accepted::Bounce { suppressed }) => Ok(HttpResponse::Ok().json(InboundEmailResponse {
            status: "bounce_recorded",
            message_id: None,
            chat_id: None,
            suppressed,
        })),
        Ok(Accepted::Stored {
            outcome,
            auto_reply,
        }) => Ok(HttpResponse::Ok().json(InboundEmailResponse {
            status: match (outcome.duplicate, auto_reply) {
                (true, _) => "duplicate",
                (false, true) => "auto_reply_stored",
                (false, false) => "stored",
            },
            message_id: Some(outcome.message.id.to_string()),
            chat_id: Some(outcome.chat.id.to_string()),
            suppressed: Vec::new(),
        })),
        Err(AcceptError::Ingest(e)) => Err(ingest_error(e)),
        Err(AcceptError::Database(e)) => Err(e.into()),
        Err(AcceptError::Pool(e)) => Err(e.into()),
    }
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
