//! The turn's `agent_executions` row: inserted as `running` when the turn starts (so a turn in
//! flight is visible, and the chat actor can mark it cancelled), finished with the decision,
//! every rail verdict, the tool calls and the token counts. Each write is one cached statement:
//! one round trip.

use serde_json::json;
use std::time::Instant;

use super::budget::BudgetKeys;
use super::decide::Outcome;
use super::{Supervisor, TurnInput};
use crate::actors::chat::TurnDecision;
use crate::db::models::agent_execution::status;
use crate::db::models::{
    AgentExecution, AgentExecutionFinishForm, AgentExecutionInsertForm, ExecutionSummary,
};
use crate::domain::ExecutionId;
use crate::rails::RailVerdict;

/// Accumulated while a turn runs, logged (and counted) at the end.
#[derive(Default)]
pub(super) struct Log {
    /// Every rail verdict, in order.
    pub verdicts: Vec<RailVerdict>,
    /// Tool calls with their outcomes.
    pub tool_calls: Vec<serde_json::Value>,
    /// Tokens read by the model.
    pub prompt_tokens: u64,
    /// Tokens written by the model.
    pub completion_tokens: u64,
    /// Tokens not yet added to the agent's daily budget counter.
    pub unspent_tokens: u64,
    /// The budget counters to add them to (set once the model was asked).
    pub budget: Option<BudgetKeys>,
    /// The model's failure, with its code.
    pub error: Option<String>,
}

impl Supervisor {
    /// Inserts the `running` row. A failure is logged; the turn goes on.
    pub(super) async fn log_start(&self, input: &TurnInput, id: ExecutionId) {
        let form = AgentExecutionInsertForm {
            id,
            organization_id: input.organization_id,
            agent_id: input.agent_id,
            chat_id: Some(input.chat_id),
            message_id: input.message_id,
            trigger: "inbound".into(),
            status: status::RUNNING.into(),
            inputs: json!({
                "agent": input.agent_name,
                "model": input.model,
                "autonomy": input.autonomy,
                "tools": input.tools,
                "contact_chars": input.contact_text.chars().count(),
                "prompt_chars": input.system_prompt.chars().count(),
            }),
        };
        let result = match self.ctx.db().get().await {
            Ok(mut conn) => AgentExecution::log_start(&mut conn, &form)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = result {
            tracing::warn!(chat.id = %input.chat_id, error = %e, "logging the agent turn failed");
        }
    }

    /// Finishes the row with the outcome and returns it as the inbox shows it (built here, not
    /// read back: no extra round trip). A failure is logged and gives `None`.
    pub(super) async fn log_finish(
        &self,
        input: &TurnInput,
        id: ExecutionId,
        outcome: &Outcome,
        log: Log,
        started: Instant,
    ) -> Option<ExecutionSummary> {
        let (kind, chars) = match &outcome.decision {
            TurnDecision::Reply(t) => ("reply", t.chars().count()),
            TurnDecision::Draft(t) => ("draft", t.chars().count()),
            TurnDecision::Handoff(_) => ("handoff", 0),
            TurnDecision::Nothing => ("nothing", 0),
        };
        let outputs = json!({"decision": kind, "reason": outcome.reason, "reply_chars": chars});
        let verdicts = serde_json::to_value(&log.verdicts).unwrap_or_default();
        let finished_at = chrono::Utc::now();
        let (summary_outputs, summary_verdicts, summary_error) =
            (outputs.clone(), verdicts.clone(), log.error.clone());
        let form = AgentExecutionFinishForm {
            status: outcome.state.into(),
            outputs,
            tool_calls: serde_json::Value::Array(log.tool_calls),
            guardrail_decisions: verdicts,
            prompt_tokens: i32::try_from(log.prompt_tokens).unwrap_or(i32::MAX),
            completion_tokens: i32::try_from(log.completion_tokens).unwrap_or(i32::MAX),
            latency_ms: i32::try_from(started.elapsed().as_millis()).ok(),
            error: log.error,
            finished_at: Some(finished_at),
        };
        let result = match self.ctx.db().get().await {
            Ok(mut conn) => AgentExecution::log_finish(&mut conn, input.organization_id, id, &form)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match result {
            Ok(()) => Some(ExecutionSummary {
                id,
                agent_id: input.agent_id,
                chat_id: Some(input.chat_id),
                message_id: input.message_id,
                status: outcome.state.into(),
                outputs: summary_outputs,
                guardrail_decisions: summary_verdicts,
                error: summary_error,
                created_at: finished_at
                    - chrono::Duration::from_std(started.elapsed()).unwrap_or_default(),
                finished_at: Some(finished_at),
            }),
            Err(e) => {
                tracing::warn!(chat.id = %input.chat_id, error = %e, "logging the agent decision failed");
                None
            }
        }
    }
}
