//! The email channel's `OutboundSender`. For each queued message it:
//! 1. loads the message, chat, contact and channel (scoped by organisation);
//! 2. refuses suppressed recipients (suppression list, unsubscribed, bounced) — at send time,
//!    so a suppression that came after queueing still wins;
//! 3. assigns the message its `Message-ID` (`<message uuid>@<sending domain>`) and stores it
//!    BEFORE talking to SMTP, so any resend carries the same id;
//! 4. threads it under the chat's earlier Message-IDs (`In-Reply-To` = the latest,
//!    `References` = all of them, oldest first);
//! 5. sends through the channel's pooled SMTP transport and maps the outcome: 2xx → sent;
//!    4xx → transient (the outbox retries with backoff); 5xx → permanent, and the address is
//!    suppressed as a hard bounce; no SMTP reply at all (connection lost, timeout) → the
//!    delivery is recorded as unknown on the message and retried with the same Message-ID.

mod thread;
mod transport;

use futures_util::future::BoxFuture;
use lettre::AsyncTransport;
use lettre::transport::smtp::response::Severity;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::EmailError;
use super::compose::{Outgoing, compose};
use super::unsubscribe::UnsubscribeSigner;
use crate::actors::outbox::{Delivery, OutboundSender, SendError};
use crate::db::DbPool;
use crate::db::models::{Channel, OutboxEntry, Suppression, SuppressionReason};
use crate::domain::{ChannelId, OrganizationId};
use thread::{
    Payload, Prepared, assign_message_id, mark_unknown, prepare, subject_line, trim_references,
};
use transport::{ChannelEdge, build_edge, mailbox};

/// Sends `message.send` work of email channels over SMTP.
#[derive(Clone)]
pub struct EmailSender {
    pool: DbPool,
    public_url: String,
    signer: UnsubscribeSigner,
    edges: Arc<Mutex<HashMap<ChannelId, Arc<ChannelEdge>>>>,
}

impl EmailSender {
    /// A sender; `public_url` is where unsubscribe links point.
    pub fn new(pool: DbPool, public_url: &str, signer: UnsubscribeSigner) -> Self {
        Self {
            pool,
            public_url: public_url.trim_end_matches('/').to_owned(),
            signer,
            edges: Arc::default(),
        }
    }

    async fn deliver(&self, entry: &OutboxEntry) -> Result<Delivery, SendError> {
        let payload: Payload = serde_json::from_value(entry.payload.clone())
            .map_err(|e| SendError::permanent(format!("message.send payload: {e}")))?;
        let org = entry.organization_id;
        let mut conn = self
            .pool
            .get()
            .await
            .map_err(|e| SendError::transient(format!("database pool: {e}")))?;
        let prepared = prepare(&mut conn, org, &payload).await?;
        let edge = self.edge(&prepared.channel)?;
        let domain = edge
            .settings
            .domain()
            .ok_or_else(|| SendError::permanent("from_address has no domain"))?
            .to_owned();
        let message_id = assign_message_id(&mut conn, org, &prepared.message, &domain).await?;
        drop(conn);

        let from = mailbox(
            &edge.settings.from_address,
            edge.settings.from_name.as_deref(),
        )
        .map_err(|e| SendError::permanent(e.to_string()))?;
        let to = mailbox(&prepared.to, prepared.to_name.as_deref())
            .map_err(|e| SendError::permanent(e.to_string()))?;
        let subject = subject_line(
            prepared.subject.as_deref(),
            !prepared.thread.is_empty(),
            &edge.settings,
        );
        let outgoing = Outgoing {
            from,
            to,
            subject,
            message_id: message_id.clone(),
            in_reply_to: prepared.thread.last().cloned(),
            references: trim_references(&prepared.thread),
            text: prepared.message.body.clone(),
            unsubscribe_url: Some(format!(
                "{}/unsubscribe/{}",
                self.public_url,
                self.signer.token(org, &prepared.to)
            )),
        };
        let email = compose(&outgoing, edge.dkim.as_deref())
            .map_err(|e| SendError::permanent(e.to_string()))?;
        match edge.transport.send(email).await {
            Ok(_) => Ok(Delivery {
                external_id: Some(message_id),
            }),
            Err(error) => Err(self.failed(org, &prepared, &error).await),
        }
    }

    /// Maps an SMTP failure to the outbox's terms, recording what it means first.
    async fn failed(
        &self,
        org: OrganizationId,
        prepared: &Prepared,
        error: &lettre::transport::smtp::Error,
    ) -> SendError {
        let code = error.status();
        match code.map(|c| c.severity) {
            Some(Severity::TransientNegativeCompletion) => {
                SendError::transient(format!("SMTP {}: temporary failure", code_text(code)))
            }
            Some(Severity::PermanentNegativeCompletion) => {
                // A hard bounce: nobody may send to this address again.
                match self.pool.get().await {
                    Ok(mut conn) => {
                        if let Err(e) = Suppression::suppress_email(
                            &mut conn,
                            org,
                            &prepared.to,
                            SuppressionReason::Bounce,
                        )
                        .await
                        {
                            tracing::error!(error = %e, "recording a hard bounce failed");
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "recording a hard bounce failed"),
                }
                SendError::permanent(format!(
                    "SMTP {}: rejected permanently; address suppressed",
                    code_text(code)
                ))
            }
            _ => {
                // No SMTP verdict: the connection may have dropped after DATA, so the mail may
                // or may not have been accepted. Record that; the retry reuses the Message-ID,
                // letting the recipient's side recognise a duplicate.
                if let Ok(mut conn) = self.pool.get().await
                    && let Err(e) = mark_unknown(&mut conn, org, prepared.message.id).await
                {
                    tracing::error!(error = %e, "recording an unknown delivery failed");
                }
                SendError::transient(format!("SMTP delivery unknown: {error}"))
            }
        }
    }

    /// The channel's transport, built once per version of the channel record.
    fn edge(&self, channel: &Channel) -> Result<Arc<ChannelEdge>, SendError> {
        if let Ok(edges) = self.edges.lock()
            && let Some(edge) = edges.get(&channel.id)
            && edge.updated_at == channel.updated_at
        {
            return Ok(edge.clone());
        }
        let edge = Arc::new(build_edge(channel).map_err(|e| match e {
            EmailError::MissingSecret(_) => SendError::transient(e.to_string()),
            other => SendError::permanent(other.to_string()),
        })?);
        if let Ok(mut edges) = self.edges.lock() {
            edges.insert(channel.id, edge.clone());
        }
        Ok(edge)
    }
}

impl OutboundSender for EmailSender {
    fn send<'a>(&'a self, entry: &'a OutboxEntry) -> BoxFuture<'a, Result<Delivery, SendError>> {
        Box::pin(self.deliver(entry))
    }
}

fn code_text(code: Option<lettre::transport::smtp::response::Code>) -> String {
    code.map(|c| c.to_string()).unwrap_or_default()
}
