//! The execution log's two per-turn writes as fixed SQL, so each pooled connection's
//! prepared-statement cache keeps them. Diesel never caches an `UPDATE`, an insert of `Option`
//! fields (a `None` may become `DEFAULT`) or raw SQL, and diesel-async runs an uncached statement
//! as a Parse round trip followed by the execution: two round trips. Here every value is a bind,
//! NULLs included, so the text never varies and a turn pays one round trip per write.
//!
//! Both end in `RETURNING set_config('synchronous_commit', 'off', true)`: see
//! [`super::relaxed_commit`] for why that makes the statement's own commit skip the WAL flush.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Integer, Jsonb, Nullable, Text, Timestamptz, Uuid};

use super::{AgentExecutionFinishForm, AgentExecutionInsertForm};
use crate::domain::{ExecutionId, OrganizationId};

const RELAXED: &str = " RETURNING set_config('synchronous_commit', 'off', true)";

/// `INSERT` of a starting turn.
pub(super) struct Start<'a>(pub &'a AgentExecutionInsertForm);

/// `UPDATE` of a finished turn, scoped by organisation.
pub(super) struct Finish<'a> {
    pub org: OrganizationId,
    pub id: ExecutionId,
    pub form: &'a AgentExecutionFinishForm,
}

/// Statement cache keys (static: the SQL of each statement is fixed).
pub(super) struct StartKey;
pub(super) struct FinishKey;

impl QueryId for Start<'_> {
    type QueryId = StartKey;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl QueryId for Finish<'_> {
    type QueryId = FinishKey;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for Start<'_> {
    type SqlType = Text;
}

impl Query for Finish<'_> {
    type SqlType = Text;
}

impl QueryFragment<Pg> for Start<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> diesel::QueryResult<()> {
        let form = self.0;
        out.push_sql(
            "INSERT INTO agent_executions \
             (id, organization_id, agent_id, chat_id, message_id, trigger, status, inputs) \
             VALUES (",
        );
        out.push_bind_param::<Uuid, _>(&form.id)?;
        out.push_sql(", ");
        out.push_bind_param::<Uuid, _>(&form.organization_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Uuid>, _>(&form.agent_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Uuid>, _>(&form.chat_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Uuid>, _>(&form.message_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&form.trigger)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&form.status)?;
        out.push_sql(", ");
        out.push_bind_param::<Jsonb, _>(&form.inputs)?;
        out.push_sql(")");
        out.push_sql(RELAXED);
        Ok(())
    }
}

impl QueryFragment<Pg> for Finish<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> diesel::QueryResult<()> {
        let form = self.form;
        out.push_sql("UPDATE agent_executions SET status = ");
        out.push_bind_param::<Text, _>(&form.status)?;
        out.push_sql(", outputs = ");
        out.push_bind_param::<Jsonb, _>(&form.outputs)?;
        out.push_sql(", tool_calls = ");
        out.push_bind_param::<Jsonb, _>(&form.tool_calls)?;
        out.push_sql(", guardrail_decisions = ");
        out.push_bind_param::<Jsonb, _>(&form.guardrail_decisions)?;
        out.push_sql(", prompt_tokens = ");
        out.push_bind_param::<Integer, _>(&form.prompt_tokens)?;
        out.push_sql(", completion_tokens = ");
        out.push_bind_param::<Integer, _>(&form.completion_tokens)?;
        out.push_sql(", latency_ms = ");
        out.push_bind_param::<Nullable<Integer>, _>(&form.latency_ms)?;
        out.push_sql(", error = ");
        out.push_bind_param::<Nullable<Text>, _>(&form.error)?;
        out.push_sql(", finished_at = ");
        out.push_bind_param::<Nullable<Timestamptz>, _>(&form.finished_at)?;
        out.push_sql(" WHERE organization_id = ");
        out.push_bind_param::<Uuid, _>(&self.org)?;
        out.push_sql(" AND id = ");
        out.push_bind_param::<Uuid, _>(&self.id)?;
        out.push_sql(RELAXED);
        Ok(())
    }
}
