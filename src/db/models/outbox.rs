//! `outbox`: work a committed transaction wants done outside the database (send a message,
//! deliver a webhook). Rows are written in the same transaction as the change that needs them,
//! so nothing is sent for a rolled-back change and nothing committed is forgotten; the outbox
//! dispatcher claims and delivers them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use crate::db::schema::outbox;
use crate::domain::{ChannelId, ChatId, MessageId, OrganizationId, OutboxId, OutboxStatus};

/// `kind` of a row asking the dispatcher to send an outbound message through its channel.
pub const MESSAGE_SEND: &str = "message.send";

/// One piece of outgoing work.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = outbox, check_for_backend(diesel::pg::Pg))]
pub struct OutboxEntry {
    /// Id.
    pub id: OutboxId,
    /// Organisation.
    pub organization_id: OrganizationId,
    /// What to do, e.g. `message.send`.
    pub kind: String,
    /// Rows with the same key are delivered in id order (one chat's messages).
    pub ordering_key: Option<String>,
    /// What the handler of `kind` needs.
    pub payload: serde_json::Value,
    /// Where it stands.
    pub status: OutboxStatus,
    /// Delivery attempts so far.
    pub attempts: i32,
    /// Not before this time.
    pub next_attempt_at: DateTime<Utc>,
    /// A dispatcher's claim, until this time.
    pub locked_until: Option<DateTime<Utc>>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// Stops the same work being queued twice.
    pub idempotency_key: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// New outgoing work (pending, due now).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = outbox)]
pub struct OutboxEntryInsertForm {
    /// Id.
    pub id: OutboxId,
    /// Organisation.
    pub organization_id: OrganizationId,
    /// Kind.
    pub kind: String,
    /// Ordering key.
    pub ordering_key: Option<String>,
    /// Payload.
    pub payload: serde_json::Value,
    /// Idempotency key, unique per organisation.
    pub idempotency_key: Option<String>,
}

impl OutboxEntryInsertForm {
    /// Work to send one outbound message: ordered per chat, queued at most once per message.
    pub fn message_send(
        org: OrganizationId,
        chat: ChatId,
        channel: ChannelId,
        message: MessageId,
    ) -> Self {
        Self {
            id: OutboxId::new(),
            organization_id: org,
            kind: MESSAGE_SEND.to_owned(),
            ordering_key: Some(format!("chat:{chat}")),
            payload: serde_json::json!({
                "message_id": message,
                "chat_id": chat,
                "channel_id": channel,
            }),
            idempotency_key: Some(format!("message:{message}")),
        }
    }
}

impl OutboxEntry {
    /// Queues work; call it inside the transaction that makes the change needing it.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        form: &OutboxEntryInsertForm,
    ) -> QueryResult<Self> {
        diesel::insert_into(outbox::table)
            .values(form)
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }

    /// The organisation's row queued under this idempotency key.
    pub async fn find_by_idempotency_key(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        key: &str,
    ) -> QueryResult<Self> {
        outbox::table
            .filter(outbox::organization_id.eq(org))
            .filter(outbox::idempotency_key.eq(key))
            .select(Self::as_select())
            .first(conn)
            .await
    }
}
