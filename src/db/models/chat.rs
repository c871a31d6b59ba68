//! `chats`: one conversation with one contact on one channel, with its workflow state
//! (status, assignee, autonomy) and what the inbox list shows (last message, unread count).
//! Lists come most recently active first; see `chat_cursor.rs` for that ordering's cursor.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;

use super::chat_cursor::{RecentCursor, RecentPageRequest};
use crate::db::pagination::Page;
use crate::db::schema::chats;
use crate::domain::{
    AgentId, Autonomy, ChannelId, ChatId, ChatStatus, ContactId, OrganizationId, UserId,
};

/// A chat.
#[derive(
    Debug, Clone, Queryable, QueryableByName, Selectable, Identifiable, Serialize, ToSchema,
)]
#[diesel(table_name = chats, check_for_backend(diesel::pg::Pg))]
pub struct Chat {
    /// Id.
    pub id: ChatId,
    /// Organisation.
    #[serde(skip)]
    pub organization_id: OrganizationId,
    /// Who the conversation is with.
    pub contact_id: ContactId,
    /// Which channel it runs on.
    pub channel_id: ChannelId,
    /// The channel's own thread id (Telegram chat id, email thread); unique per channel.
    pub external_thread_id: String,
    /// Subject (email) or a title an operator gave it.
    pub subject: Option<String>,
    /// Where it stands in the team's workflow.
    pub status: ChatStatus,
    /// When a snoozed chat wakes up.
    pub snoozed_until: Option<DateTime<Utc>>,
    /// The operator handling it (at most one of user and agent).
    pub assigned_user_id: Option<UserId>,
    /// The AI agent handling it.
    pub assigned_agent_id: Option<AgentId>,
    /// How far the agent may act on its own here.
    pub autonomy: Autonomy,
    /// The newest message's time; null before the first message.
    pub last_message_at: Option<DateTime<Utc>>,
    /// The start of the newest message, for the inbox list.
    pub last_message_preview: Option<String>,
    /// Inbound messages no operator has read yet.
    pub unread_count: i32,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A new chat (status `open`, autonomy `draft`, nothing unread).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = chats)]
pub struct ChatInsertForm {
    /// Id.
    pub id: ChatId,
    /// Organisation.
    pub organization_id: OrganizationId,
    /// Contact.
    pub contact_id: ContactId,
    /// Channel.
    pub channel_id: ChannelId,
    /// The channel's thread id.
    pub external_thread_id: String,
    /// Subject.
    pub subject: Option<String>,
}

/// Workflow changes to a chat; `Some(None)` clears a column.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = chats)]
pub struct ChatUpdateForm {
    /// Status.
    pub status: Option<ChatStatus>,
    /// Snooze end.
    pub snoozed_until: Option<Option<DateTime<Utc>>>,
    /// Autonomy.
    pub autonomy: Option<Autonomy>,
    /// Subject.
    pub subject: Option<Option<String>>,
}

/// Who handles a chat: both `None` unassigns; both `Some` breaks the table's CHECK.
#[derive(Debug, Clone, Copy, Default, AsChangeset, Serialize)]
#[diesel(table_name = chats, treat_none_as_null = true)]
pub struct ChatAssignment {
    /// The operator.
    pub assigned_user_id: Option<UserId>,
    /// The agent.
    pub assigned_agent_id: Option<AgentId>,
}

/// Whom a listed chat is assigned to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssigneeFilter {
    /// This operator.
    User(UserId),
    /// This agent.
    Agent(AgentId),
    /// Any agent.
    AnyAgent,
    /// Nobody.
    Unassigned,
}

/// List filters.
#[derive(Debug, Clone, Default)]
pub struct ChatFilter {
    /// On this channel.
    pub channel_id: Option<ChannelId>,
    /// With this contact.
    pub contact_id: Option<ContactId>,
    /// In this status.
    pub status: Option<ChatStatus>,
    /// Assigned like this.
    pub assignee: Option<AssigneeFilter>,
    /// Only chats with unread messages.
    pub unread_only: bool,
}

impl Chat {
    /// Inserts a chat.
    pub async fn create(conn: &mut AsyncPgConnection, form: &ChatInsertForm) -> QueryResult<Self> {
        diesel::insert_into(chats::table)
            .values(form)
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }

    /// One chat of the organisation.
    pub async fn find(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: ChatId,
    ) -> QueryResult<Self> {
        chats::table
            .filter(chats::organization_id.eq(org))
            .filter(chats::id.eq(id))
            .select(Self::as_select())
            .first(conn)
            .await
    }

    /// One chat of the organisation, locked until the transaction ends, so concurrent writers
    /// to the same chat (two operators sending) apply one after the other.
    pub async fn find_for_update(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: ChatId,
    ) -> QueryResult<Self> {
        chats::table
            .filter(chats::organization_id.eq(org))
            .filter(chats::id.eq(id))
            .for_update()
            .select(Self::as_select())
            .first(conn)
            .await
    }

    /// A filtered page, most recently active first (chats without messages last).
    pub async fn list(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        filter: &ChatFilter,
        page: RecentPageRequest,
    ) -> QueryResult<Page<Self>> {
        let mut query = chats::table
            .filter(chats::organization_id.eq(org))
            .order((chats::last_message_at.desc().nulls_last(), chats::id.desc()))
            .limit(page.fetch_limit())
            .select(Self::as_select())
            .into_boxed();
        if let Some(after) = page.after {
            query = match after.last_message_at {
                Some(at) => query.filter(
                    chats::last_message_at
                        .lt(at)
                        .or(chats::last_message_at.eq(at).and(chats::id.lt(after.id)))
                        .or(chats::last_message_at.is_null()),
                ),
                None => query.filter(chats::last_message_at.is_null().and(chats::id.lt(after.id))),
            };
        }
        if let Some(channel) = filter.channel_id {
            query = query.filter(chats::channel_id.eq(channel));
        }
        if let Some(contact) = filter.contact_id {
            query = query.filter(chats::contact_id.eq(contact));
        }
        if let Some(status) = filter.status {
            query = query.filter(chats::status.eq(status));
        }
        query = match filter.assignee {
            Some(AssigneeFilter::User(user)) => query.filter(chats::assigned_user_id.eq(user)),
            Some(AssigneeFilter::Agent(agent)) => query.filter(chats::assigned_agent_id.eq(agent)),
            Some(AssigneeFilter::AnyAgent) => query.filter(chats::assigned_agent_id.is_not_null()),
            Some(AssigneeFilter::Unassigned) => query
                .filter(chats::assigned_user_id.is_null())
                .filter(chats::assigned_agent_id.is_null()),
            None => query,
        };
        if filter.unread_only {
            query = query.filter(chats::unread_count.gt(0));
        }
        let rows = query.load(conn).await?;
        Ok(page.finish(rows, |c: &Self| RecentCursor {
            last_message_at: c.last_message_at,
            id: c.id.0,
        }))
    }

    /// Applies workflow changes.
    pub async fn update(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: ChatId,
        form: &ChatUpdateForm,
    ) -> QueryResult<Self> {
        diesel::update(
            chats::table
                .filter(chats::organization_id.eq(org))
                .filter(chats::id.eq(id)),
        )
        .set(form)
        .returning(Self::as_returning())
        .get_result(conn)
        .await
    }

    /// Sets (or clears) who handles the chat.
    pub async fn assign(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: ChatId,
        assignment: &ChatAssignment,
    ) -> QueryResult<Self> {
        diesel::update(
            chats::table
                .filter(chats::organization_id.eq(org))
                .filter(chats::id.eq(id)),
        )
        .set(assignment)
        .returning(Self::as_returning())
        .get_result(conn)
        .await
    }

    /// Records a new message in the inbox view: its time and preview, plus `unread` more
    /// unread messages (0 for what the team itself sends).
    pub async fn record_message(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: ChatId,
        at: DateTime<Utc>,
        preview: &str,
        unread: i32,
    ) -> QueryResult<Self> {
        diesel::update(
            chats::table
                .filter(chats::organization_id.eq(org))
                .filter(chats::id.eq(id)),
        )
        .set((
            chats::last_message_at.eq(at),
            chats::last_message_preview.eq(preview),
            chats::unread_count.eq(chats::unread_count + unread),
        ))
        .returning(Self::as_returning())
        .get_result(conn)
        .await
    }

    /// Marks everything in the chat read.
    pub async fn mark_read(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: ChatId,
    ) -> QueryResult<Self> {
        diesel::update(
            chats::table
                .filter(chats::organization_id.eq(org))
                .filter(chats::id.eq(id)),
        )
        .set(chats::unread_count.eq(0))
        .returning(Self::as_returning())
        .get_result(conn)
        .await
    }

    /// This chat's assignee.
    pub fn assignment(&self) -> ChatAssignment {
        ChatAssignment {
            assigned_user_id: self.assigned_user_id,
            assigned_agent_id: self.assigned_agent_id,
        }
    }
}

impl Chat {
    /// Records that the turn with `fence` stores its decision; false when a turn with a newer
    /// fence already did (the caller's lease was superseded and it must not write).
    pub async fn advance_turn_fence(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: ChatId,
        fence: i64,
    ) -> QueryResult<bool> {
        let updated = diesel::update(
            chats::table
                .filter(chats::organization_id.eq(org))
                .filter(chats::id.eq(id))
                .filter(chats::turn_fence.lt(fence)),
        )
        .set(chats::turn_fence.eq(fence))
        .execute(conn)
        .await?;
        Ok(updated == 1)
    }
}
