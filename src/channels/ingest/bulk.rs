//! Writing a whole batch of inbound messages with a handful of set-based statements, whatever
//! its size: one lookup of already-stored messages (dedupe and reply-to), one lookup of existing
//! chats, one multi-row insert, one chat update, and per organisation one cursor bump and one
//! event insert. Only a message that opens a new thread takes the per-message path
//! ([`super::persist`]) to resolve its contact and create its chat. Statement count, not fsync,
//! is what bounds ingest once commits are grouped, so this is where throughput comes from.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Int4, Text, Timestamptz, Uuid as SqlUuid};
use diesel::upsert::on_constraint;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use std::collections::HashMap;

use super::persist::{ChannelOwner, InboundRow, IngestOutcome, resolve_chat, resolve_contact};
use crate::db::models::message::preview;
use crate::db::models::{Chat, Event, Message};
use crate::db::schema::{chats, messages};
use crate::domain::{
    ChannelId, ChatId, Direction, InboundMessage, MessageId, MessageStatus, OrganizationId,
    SenderKind,
};

type MessageKey = (ChannelId, String);

/// Persists `work` (sorted by organisation) inside the caller's transaction; one outcome per
/// item, in order. Duplicates — of stored messages or of an earlier item in the same batch —
/// come back with `duplicate: true` and change nothing.
pub async fn persist_batch(
    conn: &mut AsyncPgConnection,
    work: &[(ChannelOwner, InboundMessage)],
) -> QueryResult<Vec<IngestOutcome>> {
    let mut stored = stored_messages(conn, work).await?;
    let mut threads = existing_chats(conn, work).await?;

    // Decide, item by item, what is new; new threads get their contact and chat here.
    let mut plan: Vec<Planned> = Vec::with_capacity(work.len());
    let mut rows: Vec<InboundRow<'_>> = Vec::new();
    let mut created_chats: Vec<ChatId> = Vec::new();
    let now = Utc::now();
    for (owner, inbound) in work {
        let key = (owner.id, inbound.external_message_id.clone());
        if stored.contains_key(&key) || rows.iter().any(|r| r.key_matches(&key)) {
            plan.push(Planned::Duplicate(key));
            continue;
        }
        let thread_key = (owner.id, inbound.external_thread_id.clone());
        let chat_id = match threads.get(&thread_key) {
            Some(chat) => chat.id,
            None => {
                let contact = resolve_contact(conn, *owner, inbound).await?;
                let (chat, created) =
                    resolve_chat(conn, *owner, contact, &inbound.external_thread_id).await?;
                if created {
                    created_chats.push(chat.id);
                }
                let id = chat.id;
                threads.insert(thread_key, chat);
                id
            }
        };
        let reply_to = inbound
            .reply_to_external_id
            .as_ref()
            .and_then(|external| stored.get(&(owner.id, external.clone())))
            .map(|m| m.id);
        rows.push(InboundRow::new(*owner, chat_id, inbound, reply_to, now));
        plan.push(Planned::New(key));
    }

    let inserted: HashMap<MessageKey, Message> = if rows.is_empty() {
        HashMap::new()
    } else {
        diesel::insert_into(messages::table)
            .values(&rows)
            .on_conflict(on_constraint("messages_channel_id_external_id_key"))
            .do_nothing()
            .returning(Message::as_returning())
            .get_results::<Message>(conn)
            .await?
            .into_iter()
            .map(|m| ((m.channel_id, m.external_id.clone().unwrap_or_default()), m))
            .collect()
    };
    // A row that did not come back lost a race with another node's delivery of the same message.
    let raced: Vec<&(ChannelOwner, InboundMessage)> = work
        .iter()
        .zip(&plan)
        .filter(|(_, p)| matches!(p, Planned::New(k) if !inserted.contains_key(k)))
        .map(|(item, _)| item)
        .collect();
    if !raced.is_empty() {
        stored.extend(stored_messages_of(conn, raced.iter().map(|(o, m)| (o.id, m))).await?);
    }

    // In batch order: messages of one batch share a timestamp, and the later one is the preview.
    let in_order = plan.iter().filter_map(|p| match p {
        Planned::New(key) => inserted.get(key),
        Planned::Duplicate(_) => None,
    });
    let updated = bump_chats(conn, in_order).await?;
    let mut chats_by_id: HashMap<ChatId, Chat> = threads.into_values().map(|c| (c.id, c)).collect();
    chats_by_id.extend(updated.into_iter().map(|c| (c.id, c)));
    let mut events =
        append_events(conn, work, &plan, &inserted, &created_chats, &chats_by_id).await?;

    let mut resolved: Vec<(Message, bool)> = Vec::with_capacity(plan.len());
    for planned in &plan {
        let found = match planned {
            Planned::New(key) => match inserted.get(key) {
                Some(message) => Some((message.clone(), false)),
                None => stored.get(key).map(|m| (m.clone(), true)),
            },
            Planned::Duplicate(key) => inserted
                .get(key)
                .or_else(|| stored.get(key))
                .map(|m| (m.clone(), true)),
        };
        resolved.push(found.ok_or(diesel::result::Error::NotFound)?);
    }
    let missing: Vec<ChatId> = resolved
        .iter()
        .map(|(m, _)| m.chat_id)
        .filter(|id| !chats_by_id.contains_key(id))
        .collect();
    if !missing.is_empty() {
        let loaded: Vec<Chat> = chats::table
            .filter(chats::id.eq_any(&missing))
            .select(Chat::as_select())
            .load(conn)
            .await?;
        chats_by_id.extend(loaded.into_iter().map(|c| (c.id, c)));
    }
    resolved
        .into_iter()
        .map(|(message, duplicate)| {
            let chat = chats_by_id
                .get(&message.chat_id)
                .cloned()
                .ok_or(diesel::result::Error::NotFound)?;
            let events = if duplicate {
                Vec::new()
            } else {
                events.remove(&message.id).unwrap_or_default()
            };
            Ok(IngestOutcome {
                message,
                chat,
                duplicate,
                events,
            })
        })
        .collect()
}

/// An event to append, with the message it rides with: (message, type, chat, payload).
type PendingEvent = (MessageId, &'static str, ChatId, serde_json::Value);

/// What the batch does with one item.
enum Planned {
    /// Insert it (unless another node just did).
    New(MessageKey),
    /// Already stored, or an earlier item of this batch.
    Duplicate(MessageKey),
}

/// Stored messages the batch names, as messages or as reply-to targets.
async fn stored_messages(
    conn: &mut AsyncPgConnection,
    work: &[(ChannelOwner, InboundMessage)],
) -> QueryResult<HashMap<MessageKey, Message>> {
    let mut keys: Vec<(ChannelId, &str)> = Vec::with_capacity(work.len() * 2);
    for (owner, inbound) in work {
        keys.push((owner.id, &inbound.external_message_id));
        if let Some(reply) = &inbound.reply_to_external_id {
            keys.push((owner.id, reply));
        }
    }
    load_by_keys(conn, keys).await
}

async fn stored_messages_of<'a>(
    conn: &mut AsyncPgConnection,
    items: impl Iterator<Item = (ChannelId, &'a InboundMessage)>,
) -> QueryResult<HashMap<MessageKey, Message>> {
    let keys = items
        .map(|(c, m)| (c, m.external_message_id.as_str()))
        .collect();
    load_by_keys(conn, keys).await
}

/// Messages by `(channel, external id)`: one query over both columns' values, narrowed to the
/// exact pairs here (the pairs are few, so the over-fetch is too).
async fn load_by_keys(
    conn: &mut AsyncPgConnection,
    keys: Vec<(ChannelId, &str)>,
) -> QueryResult<HashMap<MessageKey, Message>> {
    let channels: Vec<ChannelId> = keys.iter().map(|(c, _)| *c).collect();
    let externals: Vec<&str> = keys.iter().map(|(_, e)| *e).collect();
    let found: Vec<Message> = messages::table
        .filter(messages::channel_id.eq_any(&channels))
        .filter(messages::external_id.eq_any(&externals))
        .select(Message::as_select())
        .load(conn)
        .await?;
    Ok(found
        .into_iter()
        .filter_map(|m| {
            let key = (m.channel_id, m.external_id.clone()?);
            keys.iter()
                .any(|(c, e)| *c == key.0 && *e == key.1)
                .then_some((key, m))
        })
        .collect())
}

/// Existing chats of the batch's threads.
async fn existing_chats(
    conn: &mut AsyncPgConnection,
    work: &[(ChannelOwner, InboundMessage)],
) -> QueryResult<HashMap<MessageKey, Chat>> {
    let channels: Vec<ChannelId> = work.iter().map(|(o, _)| o.id).collect();
    let threads: Vec<&str> = work
        .iter()
        .map(|(_, m)| m.external_thread_id.as_str())
        .collect();
    let found: Vec<Chat> = chats::table
        .filter(chats::channel_id.eq_any(&channels))
        .filter(chats::external_thread_id.eq_any(&threads))
        .select(Chat::as_select())
        .load(conn)
        .await?;
    Ok(found
        .into_iter()
        .map(|c| ((c.channel_id, c.external_thread_id.clone()), c))
        .collect())
}

/// One statement for every chat that got messages: newest time and preview, unread count up by
/// the number of new messages, and a resolved or snoozed chat reopened (a contact wrote again).
async fn bump_chats<'a>(
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
    diesel::sql_query(
        "UPDATE chats AS c SET last_message_at = v.at, last_message_preview = v.preview, \
         unread_count = c.unread_count + v.n, status = 'open', snoozed_until = NULL \
         FROM unnest($1, $2, $3, $4) AS v(id, at, preview, n) \
         WHERE c.id = v.id RETURNING c.*",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Array<Timestamptz>, _>(times)
    .bind::<Array<Text>, _>(previews)
    .bind::<Array<Int4>, _>(counts)
    .load::<Chat>(conn)
    .await
}

/// Appends `chat.created` for each new chat and `message.created` for each new message, one
/// cursor bump and one insert per organisation, in the batch's organisation order. Returns
/// each message's events keyed by message id (a new chat's event rides with its first message).
async fn append_events(
    conn: &mut AsyncPgConnection,
    work: &[(ChannelOwner, InboundMessage)],
    plan: &[Planned],
    inserted: &HashMap<MessageKey, Message>,
    created_chats: &[ChatId],
    chats_by_id: &HashMap<ChatId, Chat>,
) -> QueryResult<HashMap<MessageId, Vec<Event>>> {
    let mut per_org: Vec<(OrganizationId, Vec<PendingEvent>)> = Vec::new();
    let mut announced: Vec<ChatId> = Vec::new();
    for ((owner, _), planned) in work.iter().zip(plan) {
        let Planned::New(key) = planned else { continue };
        let Some(message) = inserted.get(key) else {
            continue;
        };
        let chat = chats_by_id
            .get(&message.chat_id)
            .ok_or(diesel::result::Error::NotFound)?;
        let org = owner.organization_id;
        if per_org.last().is_none_or(|(o, _)| *o != org) {
            per_org.push((org, Vec::new()));
        }
        let Some((_, items)) = per_org.last_mut() else {
            continue;
        };
        if created_chats.contains(&chat.id) && !announced.contains(&chat.id) {
            announced.push(chat.id);
            items.push((
                message.id,
                "chat.created",
                chat.id,
                serde_json::json!({ "chat": chat }),
            ));
        }
        items.push((
            message.id,
            "message.created",
            chat.id,
            serde_json::json!({ "message": message, "chat": chat }),
        ));
    }
    let mut by_message: HashMap<MessageId, Vec<Event>> = HashMap::new();
    for (org, items) in per_org {
        let specs: Vec<(&str, Option<ChatId>, &serde_json::Value)> = items
            .iter()
            .map(|(_, kind, chat, payload)| (*kind, Some(*chat), payload))
            .collect();
        let events = Event::append_many(conn, org, &specs).await?;
        for ((message, ..), event) in items.iter().zip(events) {
            by_message.entry(*message).or_default().push(event);
        }
    }
    Ok(by_message)
}

impl<'a> InboundRow<'a> {
    fn new(
        owner: ChannelOwner,
        chat_id: ChatId,
        inbound: &'a InboundMessage,
        reply_to: Option<MessageId>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: MessageId::new(),
            organization_id: owner.organization_id,
            chat_id,
            channel_id: owner.id,
            direction: Direction::Inbound,
            sender_kind: SenderKind::Contact,
            body: &inbound.text,
            status: MessageStatus::Received,
            external_id: &inbound.external_message_id,
            reply_to_message_id: reply_to,
            attachments: serde_json::to_value(&inbound.attachments)
                .unwrap_or_else(|_| serde_json::json!([])),
            metadata: if inbound.metadata.is_null() {
                serde_json::json!({})
            } else {
                inbound.metadata.clone()
            },
            created_at: now,
        }
    }

    fn key_matches(&self, key: &MessageKey) -> bool {
        self.channel_id == key.0 && self.external_id == key.1
    }
}
