//! The per-message parts of ingest: which channel a message names, and for a message that opens
//! a new thread, its contact (found by id, Telegram user or email, else created) and its chat.
//! Everything else is written set-based for the whole batch by [`super::bulk`].

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::models::{Chat, Contact, Event, Message};
use crate::db::schema::{channels, chats, contacts};
use crate::domain::{
    ChannelId, ChannelKind, ChatId, ContactId, InboundMessage, MessageId, OrganizationId,
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

/// A new inbound message row (direction `inbound`, sender `contact`, status `received`; the
/// batch's time is bound once for all rows).
pub(super) struct InboundRow<'a> {
    pub(super) id: MessageId,
    pub(super) organization_id: OrganizationId,
    pub(super) chat_id: ChatId,
    pub(super) channel_id: ChannelId,
    pub(super) body: &'a str,
    pub(super) external_id: &'a str,
    pub(super) reply_to_message_id: Option<MessageId>,
    pub(super) attachments: serde_json::Value,
    pub(super) metadata: serde_json::Value,
}

pub(super) async fn resolve_contact(
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

pub(super) async fn resolve_chat(
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
