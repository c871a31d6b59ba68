//! The one inbound mail pipeline, shared by the signed webhook and the IMAP poller: raw MIME
//! bytes in; parsed with bounded work; a malformed message kept aside; a delivery status
//! notification turned into suppressions; anything else threaded to its chat and committed
//! through the `Ingestor`. Callers decide only how bytes arrive and how outcomes are answered.

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::parse::{MailKind, ParsedMail, parse};
use super::reject;
use crate::channels::ingest::{IngestError, IngestOutcome, Ingestor};
use crate::context::AppContext;
use crate::db::models::{Suppression, SuppressionReason};
use crate::db::schema::{chats, messages};
use crate::domain::{
    ChannelId, InboundMessage, InboundSender, NO_TURN_METADATA_KEY, OrganizationId,
};

/// What became of one raw message. Every variant is final: the message is committed (stored,
/// recorded as a bounce, or kept aside), so a poller may move past it.
#[derive(Debug)]
pub enum Accepted {
    /// Stored (or found already stored) as a chat message.
    Stored {
        /// The ingest result (`duplicate` says whether it was already there).
        outcome: Box<IngestOutcome>,
        /// An auto-reply: stored, but it triggers no agent turn.
        auto_reply: bool,
    },
    /// A delivery status notification: these recipients are now suppressed.
    Bounce {
        /// The failed recipients.
        suppressed: Vec<String>,
    },
    /// Unparseable or unusable: kept aside in `email.rejected_dir`.
    Rejected {
        /// Stable code (`email_malformed`, `email_unusable`).
        code: &'static str,
        /// Why, for the operator.
        detail: String,
    },
}

/// Why a message could not be committed at all (nothing was stored: retry it later).
#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    /// The ingest path refused or failed (saturated, channel gone, database).
    #[error("ingest: {0}")]
    Ingest(#[from] IngestError),
    /// A query failed.
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
    /// No database connection.
    #[error("database pool: {0}")]
    Pool(#[from] diesel_async::pooled_connection::deadpool::PoolError),
}

/// Runs one raw message through parsing, bounce handling, threading and ingest.
pub async fn accept_mail(
    ctx: &AppContext,
    ingestor: &Ingestor,
    channel: ChannelId,
    org: OrganizationId,
    raw: &[u8],
) -> Result<Accepted, AcceptError> {
    let rejected_dir = &ctx.config().email.rejected_dir;
    let mail = match parse(raw) {
        Ok(mail) => mail,
        Err(e) => {
            reject::keep_aside(rejected_dir, channel, "malformed", raw).await;
            return Ok(Accepted::Rejected {
                code: "email_malformed",
                detail: e.to_string(),
            });
        }
    };
    if let MailKind::Bounce { failed } = &mail.kind {
        let mut conn = ctx.db().get().await?;
        for address in failed {
            Suppression::suppress_email(&mut conn, org, address, SuppressionReason::Bounce).await?;
        }
        tracing::info!(channel.id = %channel, recipients = failed.len(), "delivery status notification recorded");
        return Ok(Accepted::Bounce {
            suppressed: failed.clone(),
        });
    }
    let inbound = {
        let mut conn = ctx.db().get().await?;
        to_inbound(&mut conn, channel, &mail).await?
    };
    let auto_reply = mail.kind == MailKind::AutoReply;
    let mut outcome = match ingestor.ingest(inbound.clone()).await {
        Ok(outcome) => outcome,
        Err(IngestError::Invalid(detail)) => {
            reject::keep_aside(rejected_dir, channel, "unusable", raw).await;
            return Ok(Accepted::Rejected {
                code: "email_unusable",
                detail,
            });
        }
        Err(e) => return Err(e.into()),
    };
    if outcome.duplicate
        && outcome.message.metadata["email"]["content_hash"].as_str() != Some(&mail.content_hash)
    {
        // The same Message-ID with different content is a different mail, not a redelivery.
        let mut other = inbound;
        other.external_message_id =
            format!("{}#{}", other.external_message_id, &mail.content_hash[..16]);
        outcome = ingestor.ingest(other).await?;
    }
    Ok(Accepted::Stored {
        outcome: Box::new(outcome),
        auto_reply,
    })
}

/// Builds the normalised message: threaded by the first known id among `In-Reply-To` and
/// `References` (newest first), else the sender's own thread on this channel.
async fn to_inbound(
    conn: &mut AsyncPgConnection,
    channel: ChannelId,
    mail: &ParsedMail,
) -> Result<InboundMessage, diesel::result::Error> {
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
