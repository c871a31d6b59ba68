//! Writing one `InboundMessage` inside a (batch) transaction: resolve the contact and the chat,
//! insert the message with dedupe on `(channel_id, external_id)`, bump the chat, append events.
//! A duplicate returns the stored message and changes nothing.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::on_constraint;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::models::message::preview;
use crate::db::models::{Chat, Contact, Event, Message};
use crate::db::schema::{channels, chats, contacts, messages};
use crate::domain::{
    ChannelId, ChannelKind, ChatId, ChatStatus, ContactId, Direction, InboundMessage, MessageId,
    MessageStatus, OrganizationId, SenderKind,
};

/// What became of one inbound message.
#[derive(Debug, Clone)]
pub struct IngestOutcome {
    /// The stored message (the earlier one for a duplicate).
    pub message: Message,
    /// Its chat, after the update.
    pub chat: Chat,
    /// True when the channel had delivered it before; nothing changed.
    pub duplicate: bool,
    /// Events appended (empty for a duplicate), to publish after commit.
    pub events: Vec<Event>,
}

/// The channel an inbound message names: who owns it and what it is.
#[derive(Debug, Clone, Copy, Queryable)]
pub struct ChannelOwner {
    /// Channel.
    pub id: ChannelId,
    /// Its organisation.
    pub organization_id: OrganizationId,
    /// Its kind.
    pub kind: ChannelKind,
    /// Whether it accepts messages.
    pub active: bool,
}

/// Looks up the channels of a batch in one query.
pub async fn channel_owners(
    conn: &mut AsyncPgConnection,
    ids: &[ChannelId],
) -> QueryResult<Vec<ChannelOwner>> {
    channels::table
        .filter(channels::id.eq_any(ids))
        .select((
            channels::id,
            channels::organization_id,
            channels::kind,
            channels::active,
        ))
        .load(conn)
        .await
}

#[derive(Insertable)]
#[diesel(table_name = messages)]
struct InboundRow<'a> {
    id: MessageId,
    organization_id: OrganizationId,
    chat_id: ChatId,
    channel_id: ChannelId,
    direction: Direction,
    sender_kind: SenderKind,
    body: &'a str,
    status: MessageStatus,
    external_id: &'a str,
    reply_to_message_id: Option<MessageId>,
    attachments: serde_json::Value,
    metadata: serde_json::Value,
    created_at: DateTime<Utc>,
}

/// Persists one message; call inside a transaction.
pub async fn persist(
    conn: &mut AsyncPgConnection,
    owner: ChannelOwner,
    inbound: &InboundMessage,
) -> QueryResult<IngestOutcome> {
    let org = owner.organization_id;
    if let Some(existing) = find_existing(conn, owner.id, &inbound.external_message_id).await? {
        let chat = Chat::find(conn, org, existing.chat_id).await?;
        return Ok(IngestOutcome {
            message: existing,
            chat,
            duplicate: true,
            events: Vec::new(),
        });
    }
    let contact = resolve_contact(conn, owner, inbound).await?;
    let (chat, chat_created) =
        resolve_chat(conn, owner, contact, &inbound.external_thread_id).await?;
    let reply_to = match &inbound.reply_to_external_id {
        Some(external) => find_existing(conn, owner.id, external).await?.map(|m| m.id),
        None => None,
    };
    let row = InboundRow {
        id: MessageId::new(),
        organization_id: org,
        chat_id: chat.id,
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
        created_at: Utc::now(),
    };
    let inserted: Option<Message> = diesel::insert_into(messages::table)
        .values(&row)
        .on_conflict(on_constraint("messages_channel_id_external_id_key"))
        .do_nothing()
        .returning(Message::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    let Some(message) = inserted else {
        // Lost a race with a concurrent delivery of the same message on another node.
        let existing = find_existing(conn, owner.id, &inbound.external_message_id)
            .await?
            .ok_or(diesel::result::Error::NotFound)?;
        let chat = Chat::find(conn, org, existing.chat_id).await?;
        return Ok(IngestOutcome {
            message: existing,
            chat,
            duplicate: true,
            events: Vec::new(),
        });
    };
    let chat = diesel::update(
        chats::table
            .filter(chats::organization_id.eq(org))
            .filter(chats::id.eq(chat.id)),
    )
    .set((
        chats::last_message_at.eq(message.created_at),
        chats::last_message_preview.eq(preview(&message.body)),
        chats::unread_count.eq(chats::unread_count + 1),
        // A contact writing again reopens a resolved or snoozed conversation.
        chats::status.eq(ChatStatus::Open),
        chats::snoozed_until.eq(None::<DateTime<Utc>>),
    ))
    .returning(Chat::as_returning())
    .get_result(conn)
    .await?;
    let mut events = Vec::with_capacity(2);
    if chat_created {
        events.push(
            Event::append(
                conn,
                org,
                "chat.created",
                Some(chat.id),
                &serde_json::json!({ "chat": chat }),
            )
            .await?,
        );
    }
    let payload = serde_json::json!({ "message": message, "chat": chat });
    events.push(Event::append(conn, org, "message.created", Some(chat.id), &payload).await?);
    Ok(IngestOutcome {
        message,
        chat,
        duplicate: false,
        events,
    })
}

async fn find_existing(
    conn: &mut AsyncPgConnection,
    channel: ChannelId,
    external_id: &str,
) -> QueryResult<Option<Message>> {
    messages::table
        .filter(messages::channel_id.eq(channel))
        .filter(messages::external_id.eq(external_id))
        .select(Message::as_select())
        .first(conn)
        .await
        .optional()
}

async fn resolve_contact(
    conn: &mut AsyncPgConnection,
    owner: ChannelOwner,
    inbound: &InboundMessage,
) -> QueryResult<ContactId> {
    let org = owner.organization_id;
    let sender = &inbound.sender;
    if let Some(id) = sender.contact_id {
        return Contact::find(conn, org, id).await.map(|c| c.id);
    }
    if let Some(telegram) = sender.telegram_user_id {
        let found: Option<ContactId> = contacts::table
            .filter(contacts::organization_id.eq(org))
            .filter(contacts::telegram_user_id.eq(telegram))
            .select(contacts::id)
            .first(conn)
            .await
            .optional()?;
        if let Some(id) = found {
            return Ok(id);
        }
    }
    if let Some(email) = &sender.email {
        match Contact::find_by_email(conn, org, email).await {
            Ok(contact) => return Ok(contact.id),
            Err(diesel::result::Error::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    let name = sender
        .name
        .clone()
        .or_else(|| sender.telegram_username.clone())
        .or_else(|| sender.email.clone())
        .unwrap_or_default();
    let form = crate::db::models::ContactInsertForm {
        id: ContactId::new(),
        organization_id: org,
        name,
        email: sender.email.clone(),
        phone: sender.phone.clone(),
        telegram_user_id: sender.telegram_user_id,
        // The contact's own (private) chat: positive ids; groups are negative.
        telegram_chat_id: (owner.kind == ChannelKind::Telegram)
            .then(|| inbound.external_thread_id.parse().ok())
            .flatten()
            .filter(|id: &i64| *id > 0),
        telegram_username: sender.telegram_username.clone(),
        attributes: serde_json::json!({}),
        source: Some(owner.kind.as_str().to_owned()),
        ..Default::default()
    };
    Contact::create(conn, &form).await.map(|c| c.id)
}

async fn resolve_chat(
    conn: &mut AsyncPgConnection,
    owner: ChannelOwner,
    contact: ContactId,
    thread: &str,
) -> QueryResult<(Chat, bool)> {
    let existing: Option<Chat> = chats::table
        .filter(chats::channel_id.eq(owner.id))
        .filter(chats::external_thread_id.eq(thread))
        .select(Chat::as_select())
        .first(conn)
        .await
        .optional()?;
    if let Some(chat) = existing {
        return Ok((chat, false));
    }
    let inserted: Option<Chat> = diesel::insert_into(chats::table)
        .values((
            chats::id.eq(ChatId::new()),
            chats::organization_id.eq(owner.organization_id),
            chats::contact_id.eq(contact),
            chats::channel_id.eq(owner.id),
            chats::external_thread_id.eq(thread),
        ))
        .on_conflict((chats::channel_id, chats::external_thread_id))
        .do_nothing()
        .returning(Chat::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    match inserted {
        Some(chat) => Ok((chat, true)),
        None => {
            let chat = chats::table
                .filter(chats::channel_id.eq(owner.id))
                .filter(chats::external_thread_id.eq(thread))
                .select(Chat::as_select())
                .first(conn)
                .await?;
            Ok((chat, false))
        }
    }
}
