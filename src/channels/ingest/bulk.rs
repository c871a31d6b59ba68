//! Writing a whole batch of inbound messages with a handful of set-based statements, whatever
//! its size: one lookup of already-stored messages (dedupe and reply-to), one lookup of existing
//! chats, one insert, one chat update, and per organisation one statement that bumps the cursor
//! and inserts the events. Only a message that opens a new thread takes the per-message path
//! ([`super::persist`]) to resolve its contact and create its chat. The insert and the update
//! ([`super::write`]) and the events bind one array per column (`unnest`) instead of a parameter
//! per value, so their text is fixed and prepared once, and parsing, planning and binding do not
//! grow with the batch (docs/benchmarks.md, "Update of 2026-11-30: ingest").

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use std::collections::{HashMap, HashSet};

use super::persist::{ChannelOwner, InboundRow, IngestOutcome, resolve_chat, resolve_contact};
use super::write::{bump_chats, insert_messages};
use crate::db::models::{Chat, Event, Message};
use crate::db::schema::{chats, messages};
use crate::domain::{ChannelId, ChatId, InboundMessage, MessageId, OrganizationId};

type MessageKey = (ChannelId, String);

/// Persists `work` (sorted by organisation) inside the caller's transaction, stamping new
/// messages with `now` (the batch's time); one outcome per item, in order. Duplicates — of stored messages or of an earlier item in the same batch —
/// come back with `duplicate: true` and change nothing.
pub async fn persist_batch(
    conn: &mut AsyncPgConnection,
    work: &[(ChannelOwner, InboundMessage)],
    now: DateTime<Utc>,
) -> QueryResult<Vec<IngestOutcome>> {
    let mut stored = stored_messages(conn, work).await?;
    let mut threads = existing_chats(conn, work).await?;

    // Decide, item by item, what is new; new threads get their contact and chat here.
    let mut plan: Vec<Planned> = Vec::with_capacity(work.len());
    let mut rows: Vec<InboundRow<'_>> = Vec::new();
    let mut created_chats: Vec<ChatId> = Vec::new();
    let mut planned_keys: HashSet<(ChannelId, &str)> = HashSet::with_capacity(work.len());
    for (owner, inbound) in work {
        let key = (owner.id, inbound.external_message_id.clone());
        if stored.contains_key(&key)
            || !planned_keys.insert((owner.id, inbound.external_message_id.as_str()))
        {
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
        rows.push(InboundRow::new(*owner, chat_id, inbound, reply_to));
        plan.push(Planned::New(key));
    }

    let inserted: HashMap<MessageKey, Message> = insert_messages(conn, rows, now)
        .await?
        .into_iter()
        .map(|m| ((m.channel_id, m.external_id.clone().unwrap_or_default()), m))
        .collect();
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
    let mut announced: HashSet<ChatId> = HashSet::new();
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
        if created_chats.contains(&chat.id) && announced.insert(chat.id) {
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
        let (messages, specs): (Vec<MessageId>, Vec<_>) = items
            .into_iter()
            .map(|(message, kind, chat, payload)| (message, (kind, Some(chat), payload)))
            .unzip();
        let events = Event::append_many(conn, org, specs).await?;
        for (message, event) in messages.into_iter().zip(events) {
            by_message.entry(message).or_default().push(event);
        }
    }
    Ok(by_message)
}
