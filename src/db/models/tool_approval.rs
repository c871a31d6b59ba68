//! `tool_approvals`: tool calls an agent made that wait for a human. The state machine lives in
//! the `WHERE status = 'pending'` of the updates below, so two approvals race to one winner and
//! a call runs at most once.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::tool_approvals;
use crate::domain::{
    AgentId, ChatId, ContactId, ExecutionId, OrganizationId, ToolApprovalId, ToolApprovalStatus,
    UserId,
};

/// A tool call waiting for (or decided by) a human.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize, ToSchema)]
#[diesel(table_name = tool_approvals, check_for_backend(diesel::pg::Pg))]
pub struct ToolApproval {
    /// Id.
    pub id: ToolApprovalId,
    /// Organisation.
    #[serde(skip)]
    pub organization_id: OrganizationId,
    /// The chat whose turn made the call.
    pub chat_id: ChatId,
    /// The chat's contact (the only contact the call may touch).
    pub contact_id: ContactId,
    /// The agent row, when the agent has one.
    pub agent_id: Option<AgentId>,
    /// The agent turn that made the call.
    pub execution_id: ExecutionId,
    /// Tool name.
    pub tool: String,
    /// Arguments as validated when the call was made.
    #[schema(value_type = Object)]
    pub arguments: serde_json::Value,
    /// Where it stands.
    pub status: ToolApprovalStatus,
    /// The tool's result (or error) once it ran.
    #[schema(value_type = Option<Object>)]
    pub result: Option<serde_json::Value>,
    /// Who approved or rejected it.
    pub decided_by: Option<UserId>,
    /// When.
    pub decided_at: Option<DateTime<Utc>>,
    /// The reviewer's note (e.g. why it was rejected).
    pub decision_note: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A new pending approval.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = tool_approvals)]
pub struct ToolApprovalInsertForm {
    /// Id.
    pub id: ToolApprovalId,
    /// Organisation.
    pub organization_id: OrganizationId,
    /// Chat.
    pub chat_id: ChatId,
    /// Contact.
    pub contact_id: ContactId,
    /// Agent.
    pub agent_id: Option<AgentId>,
    /// Turn.
    pub execution_id: ExecutionId,
    /// Tool.
    pub tool: String,
    /// Validated arguments.
    pub arguments: serde_json::Value,
}

/// List filters.
#[derive(Debug, Clone, Default)]
pub struct ToolApprovalFilter {
    /// Only in this state.
    pub status: Option<ToolApprovalStatus>,
    /// Only of this chat.
    pub chat_id: Option<ChatId>,
}

impl ToolApproval {
    /// Stores a pending call.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        form: &ToolApprovalInsertForm,
    ) -> QueryResult<Self> {
        diesel::insert_into(tool_approvals::table)
            .values(form)
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }

    /// One approval of the organisation.
    pub async fn find(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: ToolApprovalId,
    ) -> QueryResult<Self> {
        tool_approvals::table
            .filter(tool_approvals::organization_id.eq(org))
            .filter(tool_approvals::id.eq(id))
            .select(Self::as_select())
            .first(conn)
            .await
    }

    /// The organisation's approvals, newest first (at most `limit`).
    pub async fn list(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        filter: &ToolApprovalFilter,
        limit: i64,
    ) -> QueryResult<Vec<Self>> {
        let mut query = tool_approvals::table
            .filter(tool_approvals::organization_id.eq(org))
            .select(Self::as_select())
            .order((tool_approvals::created_at.desc(), tool_approvals::id.desc()))
            .limit(limit)
            .into_boxed();
        if let Some(status) = filter.status {
            query = query.filter(tool_approvals::status.eq(status));
        }
        if let Some(chat) = filter.chat_id {
            query = query.filter(tool_approvals::chat_id.eq(chat));
        }
        query.load(conn).await
    }

    /// Takes a pending call for a decision: moves it to `to` in one statement, so of two
    /// concurrent deciders exactly one gets the row. `None` when it was not pending (or is
    /// not the organisation's).
    pub async fn decide(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: ToolApprovalId,
        to: ToolApprovalStatus,
        by: Option<UserId>,
        note: Option<&str>,
        result: Option<&serde_json::Value>,
    ) -> QueryResult<Option<Self>> {
        diesel::update(
            tool_approvals::table
                .filter(tool_approvals::organization_id.eq(org))
                .filter(tool_approvals::id.eq(id))
                .filter(tool_approvals::status.eq(ToolApprovalStatus::Pending)),
        )
        .set((
            tool_approvals::status.eq(to),
            tool_approvals::decided_by.eq(by),
            tool_approvals::decided_at.eq(diesel::dsl::now),
            tool_approvals::decision_note.eq(note),
            tool_approvals::result.eq(result),
        ))
        .returning(Self::as_returning())
        .get_result(conn)
        .await
        .optional()
    }
}

impl ToolApproval {
    /// Records what running an approved call produced (same transaction as the run).
    pub async fn set_result(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: ToolApprovalId,
        result: &serde_json::Value,
    ) -> QueryResult<Self> {
        diesel::update(
            tool_approvals::table
                .filter(tool_approvals::organization_id.eq(org))
                .filter(tool_approvals::id.eq(id)),
        )
        .set(tool_approvals::result.eq(result))
        .returning(Self::as_returning())
        .get_result(conn)
        .await
    }
}
