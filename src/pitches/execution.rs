//! A written pitch's account: each pitch the model writes (not one served from the cache) is a
//! row in `agent_executions` (trigger `pitch`, with its outcome and token counts) and its tokens
//! count against the bizdev agent's `tokens_per_day`, in the same Redis counter its chat turns
//! use. A pitch asked for while that budget is spent is refused before the model is called.

use serde_json::json;
use std::time::Instant;

use super::PitchError;
use super::facts::Facts;
use crate::agents::Budgets;
use crate::context::AppContext;
use crate::db::models::agent_execution::status;
use crate::db::models::{AgentExecution, AgentExecutionFinishForm, AgentExecutionInsertForm};
use crate::domain::{ExecutionId, OrganizationId};
use crate::llm::ChatResponse;
use crate::supervisor::BudgetKeys;

/// `agent_executions.trigger` of pitches.
pub const TRIGGER: &str = "pitch";

/// One pitch being written, logged from its start.
pub struct PitchExecution {
    ctx: AppContext,
    org: OrganizationId,
    id: ExecutionId,
    keys: BudgetKeys,
    started: Instant,
}

impl PitchExecution {
    /// Checks the agent's daily token budget and logs the pitch as running; a spent budget is
    /// logged as blocked and refused.
    pub async fn start(
        ctx: &AppContext,
        org: OrganizationId,
        facts: &Facts,
        model: &str,
        regenerate: bool,
    ) -> Result<Self, PitchError> {
        let agent = &facts.agent;
        let budgets: Budgets = serde_json::from_value(agent.budgets.clone()).unwrap_or_default();
        let keys = BudgetKeys::for_agent(ctx, org, &agent.name);
        let spent = keys
            .tokens_spent(ctx)
            .await
            .map_err(|e| PitchError::BudgetUnavailable(e.to_string()))?;
        let execution = Self {
            ctx: ctx.clone(),
            org,
            id: ExecutionId::new(),
            keys,
            started: Instant::now(),
        };
        execution
            .log_start(
                json!({
                    "kind": TRIGGER,
                    "agent": agent.name,
                    "model": model,
                    "contact_id": facts.contact.id,
                    "regenerate": regenerate,
                }),
                agent.id,
            )
            .await;
        if spent >= budgets.tokens_per_day {
            let refused = PitchError::BudgetExhausted {
                agent: agent.name.clone(),
                tokens_per_day: budgets.tokens_per_day,
            };
            execution
                .log_finish(
                    status::BLOCKED,
                    json!({"reason": refused.to_string()}),
                    None,
                    None,
                )
                .await;
            return Err(refused);
        }
        Ok(execution)
    }

    /// Counts the model's tokens against the budget (whatever the rails then say: the model
    /// did the work) and logs the outcome.
    pub async fn finish(
        self,
        response: Option<&ChatResponse>,
        outcome: Result<&crate::db::models::Pitch, &PitchError>,
    ) {
        if let Some(response) = response {
            let tokens = u64::from(response.prompt_tokens) + u64::from(response.completion_tokens);
            if let Err(e) = self.keys.spend_tokens(&self.ctx, tokens).await {
                tracing::warn!(organization.id = %self.org, error = %e, "counting pitch tokens failed");
            }
        }
        let (state, outputs, error) = match outcome {
            Ok(pitch) => (
                status::DRAFTED,
                json!({"decision": "pitch", "pitch_id": pitch.id,
                       "review_reason": pitch.review_reason}),
                None,
            ),
            Err(e @ PitchError::Blocked { .. }) => {
                (status::BLOCKED, json!({"reason": e.to_string()}), None)
            }
            Err(e) => (
                status::FAILED,
                json!({"reason": e.to_string()}),
                Some(e.to_string()),
            ),
        };
        self.log_finish(state, outputs, response, error).await;
    }

    async fn log_start(&self, inputs: serde_json::Value, agent: crate::domain::AgentId) {
        let form = AgentExecutionInsertForm {
            id: self.id,
            organization_id: self.org,
            agent_id: Some(agent),
            chat_id: None,
            message_id: None,
            trigger: TRIGGER.into(),
            status: status::RUNNING.into(),
            inputs,
        };
        let result = match self.ctx.db().get().await {
            Ok(mut conn) => AgentExecution::log_start(&mut conn, &form)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = result {
            tracing::warn!(organization.id = %self.org, error = %e, "logging the pitch failed");
        }
    }

    async fn log_finish(
        &self,
        state: &str,
        outputs: serde_json::Value,
        response: Option<&ChatResponse>,
        error: Option<String>,
    ) {
        let form = AgentExecutionFinishForm {
            status: state.into(),
            outputs,
            tool_calls: json!([]),
            guardrail_decisions: json!([]),
            prompt_tokens: response
                .map_or(0, |r| i32::try_from(r.prompt_tokens).unwrap_or(i32::MAX)),
            completion_tokens: response.map_or(0, |r| {
                i32::try_from(r.completion_tokens).unwrap_or(i32::MAX)
            }),
            latency_ms: i32::try_from(self.started.elapsed().as_millis()).ok(),
            error,
            finished_at: Some(chrono::Utc::now()),
        };
        let result = match self.ctx.db().get().await {
            Ok(mut conn) => AgentExecution::log_finish(&mut conn, self.org, self.id, &form)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = result {
            tracing::warn!(organization.id = %self.org, error = %e, "logging the pitch outcome failed");
        }
    }
}
