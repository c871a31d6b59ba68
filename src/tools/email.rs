//! `send_email`: email the chat's own contact, and no one else. The message is queued like an
//! operator's reply (message row, outbox row, chat preview and `message.created` event in one
//! transaction) on the contact's email conversation, started on the organisation's email
//! channel if there is none yet. Suppressed, opted-out and bounced contacts are refused.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::json;

use super::args::SendEmailArgs;
use super::{Executed, ToolError, ToolScope};
use crate::db::models::{
    Chat, ChatInsertForm, Contact, Event, Message, MessageInsertForm, OutboxEntry,
    OutboxEntryInsertForm, preview,
};
use crate::db::schema::{channels, chats};
use crate::domain::{
    ChannelId, ChannelKind, ChatId, Direction, MessageId, MessageStatus, SenderKind,
};
use crate::rails::suppression;

/// The contact's email chat: this chat if it is on an email channel, else their latest email
/// chat, else a new one on the organisation's first active email channel.
async fn email_chat(
    conn: &mut AsyncPgConnection,
    scope: &ToolScope,
    subject: &str,
) -> Result<Chat, ToolError> {
    let org = scope.organization_id;
    let existing: Option<ChatId> = chats::table
        .inner_join(
            channels::table.on(channels::id
                .eq(chats::channel_id)
                .and(channels::organization_id.eq(chats::organization_id))),
        )
        .filter(chats::organization_id.eq(org))
        .filter(chats::contact_id.eq(scope.contact_id))
        .filter(channels::kind.eq(ChannelKind::Email))
        .filter(channels::active.eq(true))
        .order((
            chats::id.eq(scope.chat_id).desc(),
            chats::last_message_at.desc().nulls_last(),
        ))
        .select(chats::id)
        .first(conn)
        .await
        .optional()?;
    if let Some(id) = existing {
        return Ok(Chat::find_for_update(conn, org, id).await?);
    }
    let channel: ChannelId = channels::table
        .filter(channels::organization_id.eq(org))
        .filter(channels::kind.eq(ChannelKind::Email))
        .filter(channels::active.eq(true))
        .order(channels::created_at.asc())
        .select(channels::id)
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| {
            ToolError::rejected(
                "no_email_channel",
                "the organisation has no active email channel; hand off to a human",
            )
        })?;
    let form = ChatInsertForm {
        id: ChatId::new(),
        organization_id: org,
        contact_id: scope.contact_id,
        channel_id: channel,
        external_thread_id: format!("agent:{}", uuid::Uuid::now_v7()),
        subject: Some(subject.to_owned()),
    };
    Ok(Chat::create(conn, &form).await?)
}

/// `send_email`. The caller publishes `events` after commit and counts the send.
pub async fn send_email(
    conn: &mut AsyncPgConnection,
    scope: &ToolScope,
    args: &SendEmailArgs,
) -> Result<Executed, ToolError> {
    let org = scope.organization_id;
    let contact = Contact::find(conn, org, scope.contact_id)
        .await
        .optional()?
        .ok_or_else(|| ToolError::rejected("unknown_id", "the chat's contact no longer exists"))?;
    if contact.email.as_deref().is_none_or(|e| e.trim().is_empty()) {
        return Err(ToolError::rejected(
            "no_email_address",
            "the contact has no email address",
        ));
    }
    if contact.unsubscribed_at.is_some() || contact.bounced_at.is_some() {
        return Err(ToolError::rejected(
            "contact_suppressed",
            "the contact opted out or their email bounced; do not email them",
        ));
    }
    if suppression::entries_for(conn, &contact)
        .await?
        .iter()
        .any(|(kind, _)| kind == "email")
    {
        return Err(ToolError::rejected(
            "contact_suppressed",
            "the contact's email address is on the suppression list",
        ));
    }
    let chat = email_chat(conn, scope, &args.subject).await?;
    let form = MessageInsertForm {
        id: MessageId::new(),
        organization_id: org,
        chat_id: chat.id,
        channel_id: chat.channel_id,
        direction: Direction::Outbound,
        sender_kind: SenderKind::Agent,
        sender_user_id: None,
        sender_agent_id: scope.agent_id,
        body: args.body.clone(),
        status: MessageStatus::Queued,
        draft_state: None,
        external_id: None,
        reply_to_message_id: None,
    };
    let message = Message::create(conn, &form).await?;
    OutboxEntry::create(
        conn,
        &OutboxEntryInsertForm::message_send(org, chat.id, chat.channel_id, message.id),
    )
    .await?;
    let chat = Chat::record_message(
        conn,
        org,
        chat.id,
        message.created_at,
        &preview(&message.body),
        0,
    )
    .await?;
    let event = Event::append(
        conn,
        org,
        "message.created",
        Some(chat.id),
        &json!({ "message": message, "chat": chat }),
    )
    .await?;
    Ok(Executed {
        result: json!({ "queued": true, "message_id": message.id, "chat_id": chat.id }),
        events: vec![event],
        messages: vec![message],
        counted_send: true,
    })
}
