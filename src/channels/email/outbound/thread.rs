//! What one send needs from the database: the message, its chat's contact (refused when
//! suppressed), the thread's earlier Message-IDs and subject, and the message's own Message-ID,
//! stored before SMTP so a resend carries the same one.

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Deserialize;

use super::super::settings::EmailSettings;
use crate::actors::outbox::SendError;
use crate::db::models::{Channel, Chat, Contact, Message, Suppression};
use crate::db::schema::messages;
use crate::domain::{ChannelId, ChatId, MessageId, OrganizationId};

/// Most Message-IDs carried in `References` (the root plus the latest ones, as RFC 5322
/// suggests trimming long threads).
const MAX_REFERENCES: usize = 20;

#[derive(Deserialize)]
pub(super) struct Payload {
    pub(super) message_id: MessageId,
    pub(super) chat_id: ChatId,
    pub(super) channel_id: ChannelId,
}

/// What the database says about one send.
pub(super) struct Prepared {
    pub(super) channel: Channel,
    pub(super) message: Message,
    pub(super) to: String,
    pub(super) to_name: Option<String>,
    pub(super) subject: Option<String>,
    pub(super) thread: Vec<String>,
}

/// Loads what a send needs and checks the recipient may be written to.
pub(super) async fn prepare(
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
pub(super) async fn assign_message_id(
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
pub(super) async fn mark_unknown(
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
pub(super) fn subject_line(
    thread_subject: Option<&str>,
    is_reply: bool,
    settings: &EmailSettings,
) -> String {
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
pub(super) fn trim_references(thread: &[String]) -> Vec<String> {
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
