//! `messages`: every message of a chat, inbound or outbound, including AI drafts waiting for a
//! human. Listed newest first like every list; a client reverses a page to display it.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;

use crate::after_cursor;
use crate::db::pagination::{Cursor, Page, PageRequest};
use crate::db::schema::messages;
use crate::domain::{
    AgentId, ChannelId, ChatId, Direction, DraftState, MessageId, MessageStatus, OrganizationId,
    SenderKind, UserId,
};

/// Characters of a message shown as its chat's preview in the inbox list.
pub const PREVIEW_CHARS: usize = 140;

/// A message.
#[derive(
    Debug, Clone, Queryable, QueryableByName, Selectable, Identifiable, Serialize, ToSchema,
)]
#[diesel(table_name = messages, check_for_backend(diesel::pg::Pg))]
pub struct Message {
    /// Id.
    pub id: MessageId,
    /// Organisation.
    #[serde(skip)]
    pub organization_id: OrganizationId,
    /// The chat.
    pub chat_id: ChatId,
    /// The chat's channel.
    pub channel_id: ChannelId,
    /// From the contact (`inbound`) or to them (`outbound`).
    pub direction: Direction,
    /// Who wrote it.
    pub sender_kind: SenderKind,
    /// The operator who wrote it.
    pub sender_user_id: Option<UserId>,
    /// The agent that wrote it.
    pub sender_agent_id: Option<AgentId>,
    /// Text.
    pub body: String,
    /// Delivery state.
    pub status: MessageStatus,
    /// Review state of an AI draft; null for anything else.
    pub draft_state: Option<DraftState>,
    /// The channel's own message id (the dedupe key of inbound messages).
    pub external_id: Option<String>,
    /// The message this one answers.
    pub reply_to_message_id: Option<MessageId>,
    /// Attachments (a JSON array).
    #[schema(value_type = Vec<Object>)]
    pub attachments: serde_json::Value,
    /// Channel-specific extras.
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    /// When the channel accepted it.
    pub sent_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A new message.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = messages)]
pub struct MessageInsertForm {
    /// Id.
    pub id: MessageId,
    /// Organisation.
    pub organization_id: OrganizationId,
    /// Chat.
    pub chat_id: ChatId,
    /// Channel.
    pub channel_id: ChannelId,
    /// Direction.
    pub direction: Direction,
    /// Sender kind.
    pub sender_kind: SenderKind,
    /// Operator.
    pub sender_user_id: Option<UserId>,
    /// Agent.
    pub sender_agent_id: Option<AgentId>,
    /// Text.
    pub body: String,
    /// Delivery state.
    pub status: MessageStatus,
    /// Draft state.
    pub draft_state: Option<DraftState>,
    /// Channel's id.
    pub external_id: Option<String>,
    /// Answered message.
    pub reply_to_message_id: Option<MessageId>,
}

/// A reviewer's decision on an AI draft (see `Message::resolve_draft`).
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = messages)]
pub struct DraftDecisionForm {
    /// `approved` or `rejected`.
    pub draft_state: DraftState,
    /// `queued` once approved; unchanged when rejected.
    pub status: Option<MessageStatus>,
    /// The reviewer's edited text, if any.
    pub body: Option<String>,
}

/// List filters.
#[derive(Debug, Clone, Default)]
pub struct MessageFilter {
    /// Only drafts in this review state.
    pub draft_state: Option<DraftState>,
}

impl Message {
    /// Inserts a message.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        form: &MessageInsertForm,
    ) -> QueryResult<Self> {
        diesel::insert_into(messages::table)
            .values(form)
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }

    /// One message of a chat.
    pub async fn find_in_chat(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        chat: ChatId,
        id: MessageId,
    ) -> QueryResult<Self> {
        messages::table
            .filter(messages::organization_id.eq(org))
            .filter(messages::chat_id.eq(chat))
            .filter(messages::id.eq(id))
            .select(Self::as_select())
            .first(conn)
            .await
    }

    /// One message of a chat, locked until the transaction ends: two reviewers deciding on one
    /// AI draft at once are serialised, and the second sees the first one's decision.
    pub async fn find_in_chat_for_update(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        chat: ChatId,
        id: MessageId,
    ) -> QueryResult<Self> {
        messages::table
            .filter(messages::organization_id.eq(org))
            .filter(messages::chat_id.eq(chat))
            .filter(messages::id.eq(id))
            .select(Self::as_select())
            .for_update()
            .first(conn)
            .await
    }

    /// Records a human's decision on an AI draft: its new review state, and for an approval the
    /// delivery state `queued` and, when the reviewer edited it, the text actually sent.
    pub async fn resolve_draft(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: MessageId,
        decision: &DraftDecisionForm,
    ) -> QueryResult<Self> {
        diesel::update(
            messages::table
                .filter(messages::organization_id.eq(org))
                .filter(messages::id.eq(id)),
        )
        .set(decision)
        .returning(Self::as_returning())
        .get_result(conn)
        .await
    }

    /// A page of a chat's messages, newest first; the cursor pages back into history.
    pub async fn list(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        chat: ChatId,
        filter: &MessageFilter,
        page: PageRequest,
    ) -> QueryResult<Page<Self>> {
        let mut query = after_cursor!(
            messages::table
                .filter(messages::organization_id.eq(org))
                .filter(messages::chat_id.eq(chat)),
            messages,
            page
        );
        if let Some(state) = filter.draft_state {
            query = query.filter(messages::draft_state.eq(state));
        }
        let rows = query.select(Self::as_select()).load(conn).await?;
        Ok(page.finish(rows, |m: &Self| Cursor {
            created_at: m.created_at,
            id: m.id.0,
        }))
    }
}

/// Delivery outcomes recorded by the outbox dispatcher, and the recent history that
/// short-term memory is rebuilt from.
impl Message {
    /// The channel accepted an outbound message: `sent` now, with the channel's own id when it
    /// gave one. A message already further along (`delivered`, `read`) is left alone.
    pub async fn mark_sent(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: MessageId,
        external_id: Option<&str>,
    ) -> QueryResult<usize> {
        let target = messages::table
            .filter(messages::organization_id.eq(org))
            .filter(messages::id.eq(id))
            .filter(messages::status.eq_any([MessageStatus::Queued, MessageStatus::Failed]));
        let sent = (
            messages::status.eq(MessageStatus::Sent),
            messages::sent_at.eq(diesel::dsl::now),
        );
        match external_id {
            Some(external) => {
                diesel::update(target)
                    .set((sent, messages::external_id.eq(external)))
                    .execute(conn)
                    .await
            }
            None => diesel::update(target).set(sent).execute(conn).await,
        }
    }

    /// Delivery was given up: a queued outbound message becomes `failed`.
    pub async fn mark_failed(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: MessageId,
    ) -> QueryResult<usize> {
        diesel::update(
            messages::table
                .filter(messages::organization_id.eq(org))
                .filter(messages::id.eq(id))
                .filter(messages::status.eq(MessageStatus::Queued)),
        )
        .set(messages::status.eq(MessageStatus::Failed))
        .execute(conn)
        .await
    }

    /// The last `limit` messages of the conversation, oldest first. AI drafts count once a human
    /// approved them; drafts waiting for review or rejected were never said to the contact.
    pub async fn recent_window(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        chat: ChatId,
        limit: i64,
    ) -> QueryResult<Vec<Self>> {
        let mut rows = messages::table
            .filter(messages::organization_id.eq(org))
            .filter(messages::chat_id.eq(chat))
            .filter(
                messages::draft_state
                    .is_null()
                    .or(messages::draft_state.eq(DraftState::Approved)),
            )
            .order((messages::created_at.desc(), messages::id.desc()))
            .limit(limit)
            .select(Self::as_select())
            .load(conn)
            .await?;
        rows.reverse();
        Ok(rows)
    }
}

/// A message body as its chat's inbox preview: whitespace collapsed to single spaces, cut to
/// `PREVIEW_CHARS` characters (ending in `…` when cut).
pub fn preview(body: &str) -> String {
    let flat = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= PREVIEW_CHARS {
        return flat;
    }
    let mut cut: String = flat.chars().take(PREVIEW_CHARS - 1).collect();
    cut.truncate(cut.trim_end().len());
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_is_flat_and_bounded() {
        assert_eq!(preview("hi\n\n  there"), "hi there");
        let long = "ж".repeat(500);
        let cut = preview(&long);
        assert_eq!(cut.chars().count(), PREVIEW_CHARS);
        assert!(cut.ends_with('…'));
    }
}
