//! `agent_executions`: one row per agent turn, written by the supervisor when the turn starts
//! and finished with its outcome, every rail verdict, the tool calls and the token counts, so an
//! operator can see why an agent replied, drafted or handed off.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;

mod statements;

use crate::db::schema::agent_executions;
use crate::domain::{AgentId, ChatId, ExecutionId, MessageId, OrganizationId};

/// Status values of `agent_executions.status`.
pub mod status {
    /// The turn is running (or its node died mid-turn).
    pub const RUNNING: &str = "running";
    /// A reply was sent.
    pub const REPLIED: &str = "replied";
    /// A draft waits for a human.
    pub const DRAFTED: &str = "drafted";
    /// The chat went to a human.
    pub const HANDED_OFF: &str = "handed_off";
    /// A rail stopped the turn.
    pub const BLOCKED: &str = "blocked";
    /// The turn failed without a decision.
    pub const FAILED: &str = "failed";
    /// The turn was abandoned before it decided (a newer inbound message, the actor stopping).
    pub const CANCELLED: &str = "cancelled";
}

/// One logged turn.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize, ToSchema)]
#[diesel(table_name = agent_executions, check_for_backend(diesel::pg::Pg))]
pub struct AgentExecution {
    /// Id.
    pub id: ExecutionId,
    /// Organisation.
    #[serde(skip)]
    pub organization_id: OrganizationId,
    /// The agent.
    pub agent_id: Option<AgentId>,
    /// The chat.
    pub chat_id: Option<ChatId>,
    /// The newest message the turn answered.
    pub message_id: Option<MessageId>,
    /// What started it (`inbound`).
    pub trigger: String,
    /// Outcome, see [`status`].
    pub status: String,
    /// What went in (model, counts; never the contact's words).
    #[schema(value_type = Object)]
    pub inputs: serde_json::Value,
    /// What came out (the decision and its reason).
    #[schema(value_type = Object)]
    pub outputs: serde_json::Value,
    /// Tool calls and their outcomes.
    #[schema(value_type = Object)]
    pub tool_calls: serde_json::Value,
    /// Every rail verdict.
    #[schema(value_type = Object)]
    pub guardrail_decisions: serde_json::Value,
    /// Tokens read.
    pub prompt_tokens: i32,
    /// Tokens written.
    pub completion_tokens: i32,
    /// Wall time of the turn.
    pub latency_ms: Option<i32>,
    /// Stable error code with its message, when the model failed.
    pub error: Option<String>,
    /// Started.
    pub created_at: DateTime<Utc>,
    /// Finished.
    pub finished_at: Option<DateTime<Utc>>,
}

/// What the inbox shows about a logged turn next to its draft or hand-off ("why this draft"):
/// the decision, its reason and the rails' verdicts, without the turn's inputs or tool results.
/// It rides on the `draft.created` / hand-off `chat.updated` event, so a draft arriving live
/// shows its decision without the page asking for the chat's executions again.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ExecutionSummary {
    /// The execution's id (as in `GET /api/v1/chats/{id}/executions`).
    pub id: ExecutionId,
    /// The agent.
    pub agent_id: Option<AgentId>,
    /// The chat.
    pub chat_id: Option<ChatId>,
    /// The newest message the turn answered (a draft's `reply_to_message_id`).
    pub message_id: Option<MessageId>,
    /// Outcome, see [`status`].
    pub status: String,
    /// The decision and its reason.
    #[schema(value_type = Object)]
    pub outputs: serde_json::Value,
    /// Every rail verdict.
    #[schema(value_type = Object)]
    pub guardrail_decisions: serde_json::Value,
    /// Stable error code with its message, when the model failed.
    pub error: Option<String>,
    /// Started.
    pub created_at: DateTime<Utc>,
    /// Finished.
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<AgentExecution> for ExecutionSummary {
    fn from(row: AgentExecution) -> Self {
        Self {
            id: row.id,
            agent_id: row.agent_id,
            chat_id: row.chat_id,
            message_id: row.message_id,
            status: row.status,
            outputs: row.outputs,
            guardrail_decisions: row.guardrail_decisions,
            error: row.error,
            created_at: row.created_at,
            finished_at: row.finished_at,
        }
    }
}

/// A turn starting.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = agent_executions)]
pub struct AgentExecutionInsertForm {
    /// Id.
    pub id: ExecutionId,
    /// Organisation.
    pub organization_id: OrganizationId,
    /// Agent.
    pub agent_id: Option<AgentId>,
    /// Chat.
    pub chat_id: Option<ChatId>,
    /// Newest answered message.
    pub message_id: Option<MessageId>,
    /// Trigger.
    pub trigger: String,
    /// Status (`running`).
    pub status: String,
    /// Inputs.
    pub inputs: serde_json::Value,
}

/// A turn's outcome.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = agent_executions)]
pub struct AgentExecutionFinishForm {
    /// Status.
    pub status: String,
    /// Outputs.
    pub outputs: serde_json::Value,
    /// Tool calls.
    pub tool_calls: serde_json::Value,
    /// Rail verdicts.
    pub guardrail_decisions: serde_json::Value,
    /// Tokens read.
    pub prompt_tokens: i32,
    /// Tokens written.
    pub completion_tokens: i32,
    /// Wall time.
    pub latency_ms: Option<i32>,
    /// Error.
    pub error: Option<String>,
    /// Finished.
    pub finished_at: Option<DateTime<Utc>>,
}

/// Makes the statement it is part of commit without waiting for its WAL flush. The execution
/// log is an account of a decision, not the decision's effect: a turn's reply, draft or hand-off
/// is committed afterwards with a normal (flushed) commit, and flushing WAL is sequential, so the
/// log row is durable no later than the outcome it explains. A turn whose outcome writes nothing
/// risks at most the WAL writer's last few hundred milliseconds of log rows in a crash; in
/// exchange a turn pays no disk flush for logging (measured in `benches/agent_turn.rs`).
///
/// It is evaluated in the statement's `RETURNING` list, i.e. while the statement runs in its
/// implicit transaction: `set_config(.., is_local => true)` lasts until that transaction ends,
/// and PostgreSQL reads `synchronous_commit` when it commits, so this is `SET LOCAL` without
/// the `BEGIN`, `SET` and `COMMIT` round trips of an explicit transaction.
fn relaxed_commit() -> diesel::expression::SqlLiteral<diesel::sql_types::Text> {
    diesel::dsl::sql("set_config('synchronous_commit', 'off', true)")
}

impl AgentExecution {
    /// Logs a turn's start: one cached statement, one round trip, relaxed commit (what the
    /// supervisor calls on every turn; [`create`](Self::create) also returns the row).
    pub async fn log_start(
        conn: &mut AsyncPgConnection,
        form: &AgentExecutionInsertForm,
    ) -> QueryResult<()> {
        let _: String = statements::Start(form).get_result(conn).await?;
        Ok(())
    }

    /// Logs a turn's outcome: one cached statement, one round trip, relaxed commit; `NotFound`
    /// when the start was never logged. Every field of `form` is written (a `None` as NULL).
    pub async fn log_finish(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: ExecutionId,
        form: &AgentExecutionFinishForm,
    ) -> QueryResult<()> {
        let _: String = statements::Finish { org, id, form }
            .get_result(conn)
            .await?;
        Ok(())
    }

    /// Logs a turn's start (one statement, relaxed commit).
    pub async fn create(
        conn: &mut AsyncPgConnection,
        form: &AgentExecutionInsertForm,
    ) -> QueryResult<Self> {
        let (row, _): (Self, String) = diesel::insert_into(agent_executions::table)
            .values(form)
            .returning((Self::as_returning(), relaxed_commit()))
            .get_result(conn)
            .await?;
        Ok(row)
    }

    /// Logs a turn's outcome (one statement, relaxed commit); `NotFound` when the start was
    /// never logged.
    pub async fn finish(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: ExecutionId,
        form: &AgentExecutionFinishForm,
    ) -> QueryResult<Self> {
        let (row, _): (Self, String) = diesel::update(
            agent_executions::table
                .filter(agent_executions::organization_id.eq(org))
                .filter(agent_executions::id.eq(id)),
        )
        .set(form)
        .returning((Self::as_returning(), relaxed_commit()))
        .get_result(conn)
        .await?;
        Ok(row)
    }

    /// Marks the chat's still-running turn that answered up to `message` (`None`: a follow-up
    /// turn) as cancelled with `reason`; the chat actor calls it when it abandons that turn.
    /// Returns how many rows changed (0 when the turn had not logged its start).
    pub async fn cancel_running(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        chat: ChatId,
        message: Option<MessageId>,
        reason: &str,
    ) -> QueryResult<usize> {
        use diesel::PgExpressionMethods;
        diesel::update(
            agent_executions::table
                .filter(agent_executions::organization_id.eq(org))
                .filter(agent_executions::chat_id.eq(chat))
                .filter(agent_executions::status.eq(status::RUNNING))
                .filter(agent_executions::message_id.is_not_distinct_from(message)),
        )
        .set((
            agent_executions::status.eq(status::CANCELLED),
            agent_executions::outputs
                .eq(serde_json::json!({"decision": "cancelled", "reason": reason})),
            agent_executions::finished_at.eq(Some(Utc::now())),
        ))
        .execute(conn)
        .await
    }

    /// A chat's logged turns, newest first.
    pub async fn list_for_chat(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        chat: ChatId,
        limit: i64,
    ) -> QueryResult<Vec<Self>> {
        agent_executions::table
            .filter(agent_executions::organization_id.eq(org))
            .filter(agent_executions::chat_id.eq(chat))
            .order((
                agent_executions::created_at.desc(),
                agent_executions::id.desc(),
            ))
            .limit(limit)
            .select(Self::as_select())
            .load(conn)
            .await
    }
}
