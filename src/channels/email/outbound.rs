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

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::future::BoxFuture;
use lettre::message::Mailbox;
use lettre::message::dkim::DkimConfig;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::response::Severity;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::EmailError;
use super::compose::{Outgoing, compose, dkim_config};
use super::settings::{EmailSecretRefs, EmailSettings, SmtpTls, read_secret};
use super::unsubscribe::UnsubscribeSigner;
use crate::actors::outbox::{Delivery, OutboundSender, SendError};
use crate::db::DbPool;
use crate::db::models::{
    Channel, Chat, Contact, Message, OutboxEntry, Suppression, SuppressionReason,
};
use crate::db::schema::messages;
use crate::domain::{ChannelId, ChatId, MessageId, OrganizationId};

/// Most Message-IDs carried in `References` (the root plus the latest ones, as RFC 5322
/// suggests trimming long threads).
const MAX_REFERENCES: usize = 20;

type Transport = AsyncSmtpTransport<Tokio1Executor>;

/// A channel's transport and signer, rebuilt when the channel record changes.
struct ChannelEdge {
    updated_at: DateTime<Utc>,
    transport: Transport,
    dkim: Option<Arc<DkimConfig>>,
    settings: EmailSettings,
}

/// Sends `message.send` work of email channels over SMTP.
#[derive(Clone)]
pub struct EmailSender {
    pool: DbPool,
    public_url: String,
    signer: UnsubscribeSigner,
    edges: Arc<Mutex<HashMap<ChannelId, Arc<ChannelEdge>>>>,
}

#[derive(Deserialize)]
struct Payload {
    message_id: MessageId,
    chat_id: ChatId,
    channel_id: ChannelId,
}

/// What the database says about one send.
struct Prepared {
    channel: Channel,
    message: Message,
    to: String,
    to_name: Option<String>,
    subject: Option<String>,
    thread: Vec<String>,
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

fn build_edge(channel: &Channel) -> Result<ChannelEdge, EmailError> {
    let settings = EmailSettings::from_json(&channel.settings)?;
    let secrets = EmailSecretRefs::from_json(&channel.secret_refs)?;
    let host = settings.smtp_host.clone();
    let builder = match settings.smtp_tls {
        SmtpTls::None => Transport::builder_dangerous(&host).tls(Tls::None),
        SmtpTls::Starttls => Transport::builder_dangerous(&host).tls(Tls::Required(
            TlsParameters::new(host.clone()).map_err(|e| EmailError::Settings(e.to_string()))?,
        )),
        SmtpTls::Tls => Transport::builder_dangerous(&host).tls(Tls::Wrapper(
            TlsParameters::new(host.clone()).map_err(|e| EmailError::Settings(e.to_string()))?,
        )),
    };
    let mut builder = builder
        .port(settings.port())
        .timeout(Some(Duration::from_secs(settings.smtp_timeout_secs)))
        .pool_config(PoolConfig::new().max_size(settings.smtp_pool_size.max(1)));
    let username = read_secret(&secrets.smtp_username)?;
    let password = read_secret(&secrets.smtp_password)?;
    if let (Some(user), Some(pass)) = (username, password) {
        builder = builder.credentials(Credentials::new(
            user.expose().clone(),
            pass.expose().clone(),
        ));
    }
    let dkim = match (
        &settings.dkim_selector,
        read_secret(&secrets.dkim_private_key)?,
    ) {
        (Some(selector), Some(pem)) => {
            let domain = settings
                .dkim_domain
                .clone()
                .or_else(|| settings.domain().map(str::to_owned))
                .unwrap_or_default();
            Some(Arc::new(dkim_config(selector, &domain, pem.expose())?))
        }
        _ => None,
    };
    Ok(ChannelEdge {
        updated_at: channel.updated_at,
        transport: builder.build(),
        dkim,
        settings,
    })
}

fn mailbox(address: &str, name: Option<&str>) -> Result<Mailbox, EmailError> {
    let email = address
        .trim()
        .parse()
        .map_err(|_| EmailError::Address(address.to_owned()))?;
    Ok(Mailbox::new(name.map(str::to_owned), email))
}

/// Loads what a send needs and checks the recipient may be written to.
async fn prepare(
    conn: &mut AsyncPgConnection,
    org: OrganizationId,
    payload: &Payload,
) -> Result<Prepared, SendError> {
    let db = |e: diesel::result::Error| match e {
        diesel::result::Error::NotFound => SendError::permanent("message, chat or channel is gone"),
        other => SendError::transient(format!("database: {other}")),
    };
    let channel = Channel::find(conn, org, payload.channel_id)
        .await
        .map_err(db)?;
    let message = Message::find_in_chat(conn, org, payload.chat_id, payload.message_id)
        .await
        .map_err(db)?;
    let chat = Chat::find(conn, org, payload.chat_id).await.map_err(db)?;
    let contact = Contact::find(conn, org, chat.contact_id)
        .await
        .map_err(db)?;
    let to = contact
        .email
        .clone()
        .filter(|e| e.contains('@'))
        .ok_or_else(|| SendError::permanent("the contact has no email address"))?;
    if contact.unsubscribed_at.is_some() || contact.bounced_at.is_some() {
        return Err(SendError::permanent(
            "recipient is suppressed (contact unsubscribed or bounced)",
        ));
    }
    if let Some(s) = Suppression::find_email(conn, org, &to).await.map_err(db)? {
        return Err(SendError::permanent(format!(
            "recipient is suppressed ({})",
            s.reason
        )));
    }
    let earlier: Vec<(Option<String>, serde_json::Value)> = messages::table
        .filter(messages::organization_id.eq(org))
        .filter(messages::chat_id.eq(chat.id))
        .filter(messages::id.ne(message.id))
        .filter(messages::created_at.le(message.created_at))
        .filter(messages::external_id.is_not_null())
        .order((messages::created_at.asc(), messages::id.asc()))
        .select((messages::external_id, messages::metadata))
        .load(conn)
        .await
        .map_err(db)?;
    let subject = chat.subject.clone().or_else(|| {
        earlier
            .iter()
            .find_map(|(_, meta)| meta["email"]["subject"].as_str().map(str::to_owned))
    });
    let thread = earlier
        .into_iter()
        .filter_map(|(id, _)| id)
        .filter(|id| id.starts_with('<') && id.ends_with('>') && id.contains('@'))
        .collect();
    let to_name = Some(contact.name.clone()).filter(|n| !n.trim().is_empty() && n != &to);
    Ok(Prepared {
        channel,
        message,
        to,
        to_name,
        subject,
        thread,
    })
}

/// The message's Message-ID: the stored one, or a new one stored now (before any SMTP), so a
/// resend after a lost connection carries the same id.
async fn assign_message_id(
    conn: &mut AsyncPgConnection,
    org: OrganizationId,
    message: &Message,
    domain: &str,
) -> Result<String, SendError> {
    if let Some(existing) = &message.external_id {
        return Ok(existing.clone());
    }
    let id = format!("<{}@{}>", message.id.0.simple(), domain);
    let stored: Option<Option<String>> = diesel::update(
        messages::table
            .filter(messages::organization_id.eq(org))
            .filter(messages::id.eq(message.id))
            .filter(messages::external_id.is_null()),
    )
    .set((
        messages::external_id.eq(&id),
        messages::metadata.eq(merge_email_meta(
            &message.metadata,
            serde_json::json!({ "message_id": id }),
        )),
    ))
    .returning(messages::external_id)
    .get_result(conn)
    .await
    .optional()
    .map_err(|e| SendError::transient(format!("storing the Message-ID: {e}")))?;
    match stored {
        Some(_) => Ok(id),
        // Another attempt stored one first: use that.
        None => messages::table
            .filter(messages::organization_id.eq(org))
            .filter(messages::id.eq(message.id))
            .select(messages::external_id)
            .first::<Option<String>>(conn)
            .await
            .map_err(|e| SendError::transient(format!("reading the Message-ID: {e}")))?
            .ok_or_else(|| SendError::transient("the Message-ID vanished")),
    }
}

/// Records that an attempt ended without an SMTP verdict.
async fn mark_unknown(
    conn: &mut AsyncPgConnection,
    org: OrganizationId,
    id: MessageId,
) -> QueryResult<usize> {
    let patch = serde_json::json!({ "email": { "delivery": "unknown", "unknown_at": Utc::now() } });
    diesel::sql_query(
        "UPDATE messages SET metadata = jsonb_set(metadata, '{email}', \
         coalesce(metadata->'email', '{}'::jsonb) || ($3::jsonb -> 'email')) \
         WHERE organization_id = $1 AND id = $2",
    )
    .bind::<diesel::sql_types::Uuid, _>(org.0)
    .bind::<diesel::sql_types::Uuid, _>(id.0)
    .bind::<diesel::sql_types::Jsonb, _>(patch)
    .execute(conn)
    .await
}

fn merge_email_meta(metadata: &serde_json::Value, extra: serde_json::Value) -> serde_json::Value {
    let mut out = if metadata.is_object() {
        metadata.clone()
    } else {
        serde_json::json!({})
    };
    let email = &mut out["email"];
    if !email.is_object() {
        *email = serde_json::json!({});
    }
    if let (Some(target), Some(source)) = (email.as_object_mut(), extra.as_object()) {
        for (k, v) in source {
            target.insert(k.clone(), v.clone());
        }
    }
    out
}

/// The subject: "Re: " + the thread's subject for replies, else the thread's or the channel's.
fn subject_line(thread_subject: Option<&str>, is_reply: bool, settings: &EmailSettings) -> String {
    let base = thread_subject
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .or_else(|| settings.default_subject.clone())
        .unwrap_or_else(|| {
            format!(
                "Message from {}",
                settings
                    .from_name
                    .as_deref()
                    .unwrap_or(&settings.from_address)
            )
        });
    let already = base.len() >= 3 && base[..3].eq_ignore_ascii_case("re:");
    if is_reply && !already {
        format!("Re: {base}")
    } else {
        base
    }
}

/// The thread's root plus its latest ids, at most `MAX_REFERENCES`.
fn trim_references(thread: &[String]) -> Vec<String> {
    if thread.len() <= MAX_REFERENCES {
        return thread.to_vec();
    }
    let mut out = vec![thread[0].clone()];
    out.extend_from_slice(&thread[thread.len() - (MAX_REFERENCES - 1)..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_threads_keep_the_root_and_the_latest() {
        let thread: Vec<String> = (0..30).map(|i| format!("<{i}@x>")).collect();
        let refs = trim_references(&thread);
        assert_eq!(refs.len(), MAX_REFERENCES);
        assert_eq!(refs[0], "<0@x>");
        assert_eq!(refs.last().map(String::as_str), Some("<29@x>"));
        assert_eq!(refs[1], "<11@x>");
    }
}
