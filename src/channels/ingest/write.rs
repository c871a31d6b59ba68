//! The batch's two fixed-text array statements: the insert of its new messages
//! (`insert_messages.sql`) and the bump of the chats they landed in (`bump_chats.sql`). Each binds
//! one array per column (`unnest`), so the text never changes with the batch's size and stays
//! prepared on the connection.

use chrono::{DateTime, Utc};
use diesel::QueryResult;
use diesel::sql_types::{Array, Int4, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use std::collections::HashMap;

use super::persist::{ChannelOwner, InboundRow};
use crate::db::models::message::preview;
use crate::db::models::{Chat, Message};
use crate::db::prepared::cached;
use crate::domain::{ChatId, Direction, InboundMessage, MessageId, MessageStatus, SenderKind};

/// One statement (`bump_chats.sql`) for every chat that got messages: newest time and preview,
/// unread count up by the number of new messages, and a resolved or snoozed chat reopened.
pub(super) async fn bump_chats<'a>(
    conn: &mut AsyncPgConnection,
    inserted: impl Iterator<Item = &'a Message>,
) -> QueryResult<Vec<Chat>> {
    let mut per_chat: HashMap<ChatId, (DateTime<Utc>, &'a str, i32)> = HashMap::new();
    for message in inserted {
        let entry =
            per_chat
                .entry(message.chat_id)
                .or_insert((message.created_at, &message.body, 0));
        if message.created_at >= entry.0 {
            entry.0 = message.created_at;
            entry.1 = &message.body;
        }
        entry.2 += 1;
    }
    if per_chat.is_empty() {
        return Ok(Vec::new());
    }
    let mut per_chat: Vec<_> = per_chat.into_iter().collect();
    per_chat.sort_unstable_by_key(|(id, _)| *id);
    let mut ids = Vec::with_capacity(per_chat.len());
    let mut times = Vec::with_capacity(per_chat.len());
    let mut previews = Vec::with_capacity(per_chat.len());
    let mut counts = Vec::with_capacity(per_chat.len());
    for (id, (at, body, count)) in per_chat {
        ids.push(uuid::Uuid::from(id));
        times.push(at);
        previews.push(preview(body));
        counts.push(count);
    }
    cached(
        diesel::sql_query(include_str!("bump_chats.sql"))
            .bind::<Array<SqlUuid>, _>(ids)
            .bind::<Array<Timestamptz>, _>(times)
            .bind::<Array<Text>, _>(previews)
            .bind::<Array<Int4>, _>(counts),
    )
    .load::<Chat>(conn)
    .await
}

/// Inserts the new rows with one statement of fixed text (`insert_messages.sql`), in dedupe-key
/// order; a row another node stored meanwhile is skipped and does not come back.
pub(super) async fn insert_messages(
    conn: &mut AsyncPgConnection,
    mut rows: Vec<InboundRow<'_>>,
    now: DateTime<Utc>,
) -> QueryResult<Vec<Message>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    rows.sort_unstable_by(|a, b| (a.channel_id, a.external_id).cmp(&(b.channel_id, b.external_id)));
    let n = rows.len();
    let mut ids = Vec::with_capacity(n);
    let mut orgs = Vec::with_capacity(n);
    let mut chats = Vec::with_capacity(n);
    let mut channels = Vec::with_capacity(n);
    let mut bodies = Vec::with_capacity(n);
    let mut externals = Vec::with_capacity(n);
    let mut replies = Vec::with_capacity(n);
    let mut attachments = Vec::with_capacity(n);
    let mut metadata = Vec::with_capacity(n);
    for row in rows {
        ids.push(uuid::Uuid::from(row.id));
        orgs.push(uuid::Uuid::from(row.organization_id));
        chats.push(uuid::Uuid::from(row.chat_id));
        channels.push(uuid::Uuid::from(row.channel_id));
        bodies.push(row.body);
        externals.push(row.external_id);
        replies.push(row.reply_to_message_id.map(uuid::Uuid::from));
        attachments.push(row.attachments);
        metadata.push(row.metadata);
    }
    let query = diesel::sql_query(include_str!("insert_messages.sql"))
        .bind::<Array<SqlUuid>, _>(ids)
        .bind::<Array<SqlUuid>, _>(orgs)
        .bind::<Array<SqlUuid>, _>(chats)
        .bind::<Array<SqlUuid>, _>(channels)
        .bind::<Array<Text>, _>(bodies)
        .bind::<Array<Text>, _>(externals)
        .bind::<Array<Nullable<SqlUuid>>, _>(replies)
        .bind::<Array<Jsonb>, _>(attachments)
        .bind::<Array<Jsonb>, _>(metadata)
        .bind::<Text, _>(Direction::Inbound.as_str())
        .bind::<Text, _>(SenderKind::Contact.as_str())
        .bind::<Text, _>(MessageStatus::Received.as_str())
        .bind::<Timestamptz, _>(now);
    cached(query).load::<Message>(conn).await
}

impl<'a> InboundRow<'a> {
    /// The row for one inbound message of the batch.
    pub(super) fn new(
        owner: ChannelOwner,
        chat_id: ChatId,
        inbound: &'a InboundMessage,
        reply_to: Option<MessageId>,
    ) -> Self {
        Self {
            id: MessageId::new(),
            organization_id: owner.organization_id,
            chat_id,
            channel_id: owner.id,
            body: &inbound.text,
            external_id: &inbound.external_message_id,
            reply_to_message_id: reply_to,
            attachments: serde_json::to_value(&inbound.attachments)
                .unwrap_or_else(|_| serde_json::json!([])),
            metadata: if inbound.metadata.is_null() {
                serde_json::json!({})
            } else {
                inbound.metadata.clone()
            },
        }
    }
}
