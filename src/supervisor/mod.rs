//! The supervisor: every agent LLM call passes through it. In order: daily budgets (Redis),
//! input rails, the model with the agent's allowed tools, the tool loop (bounded in steps and
//! tokens; every call executed through the `ToolExecutor`, its outcome fed back to the model),
//! output rails, and the decision by autonomy: `auto` replies only when every rail allowed,
//! otherwise a draft; a blocked rail, an exhausted budget, an open circuit breaker or an
//! unreachable model hand the chat to a human with the reason. Every decision is logged in
//! `agent_executions` with its reason.
//!
//! Modules: `decide` (the checks before and after the model, and the decision), `converse` (the
//! model and the tool loop), `execution_log` (the `agent_executions` row), `budget` (Redis
//! counters), `rails` (the rails' call sites). Writes that do not depend on each other go out
//! together: the `running` row with the checks before the model, and at the end the spent
//! tokens, the send counters and the finished row.

mod budget;
mod converse;
mod decide;
mod execution_log;
pub mod rails;

pub use budget::{BudgetKeys, TurnCount};
pub use converse::MAX_TOOL_STEPS;

use std::sync::Arc;
use std::time::Instant;

use crate::actors::chat::TurnDecision;
use crate::agents::Budgets;
use crate::agents::compiled::PerAgent;
use crate::context::AppContext;
use crate::db::models::ExecutionSummary;
use crate::domain::{
    AgentId, Autonomy, ChannelKind, ChatId, ContactId, ExecutionId, MessageId, OrganizationId,
};
use crate::llm::LlmClient;
use crate::rails::{ActionRails, RailPolicy};
use crate::tools::ToolExecutor;

/// Everything the supervisor needs for one turn; built by the agent turn handler.
#[derive(Debug, Clone)]
pub struct TurnInput {
    /// Tenant.
    pub organization_id: OrganizationId,
    /// Chat.
    pub chat_id: ChatId,
    /// The chat's contact.
    pub contact_id: ContactId,
    /// The agent row.
    pub agent_id: Option<AgentId>,
    /// The agent's name (budget keys, logs).
    pub agent_name: String,
    /// Model.
    pub model: String,
    /// Sampling temperature.
    pub temperature: f32,
    /// Most tokens per reply.
    pub max_tokens: u32,
    /// The agent's allowed tools.
    pub tools: Vec<String>,
    /// The agent's rail settings.
    pub guardrails: serde_json::Value,
    /// Spending limits.
    pub budgets: Budgets,
    /// The chat's autonomy.
    pub autonomy: Autonomy,
    /// The channel a reply would go out on.
    pub channel: ChannelKind,
    /// The contact's own email (a reply may mention it).
    pub contact_email: Option<String>,
    /// The contact's own phone (a reply may mention it).
    pub contact_phone: Option<String>,
    /// The rendered system prompt.
    pub system_prompt: String,
    /// The contact's newest words (the burst this turn answers), untrusted.
    pub contact_text: String,
    /// The newest message answered.
    pub message_id: Option<MessageId>,
}

/// What the supervisor decided, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Supervised {
    /// The decision for the chat actor.
    pub decision: TurnDecision,
    /// The logged execution.
    pub execution_id: ExecutionId,
    /// The logged decision as the inbox shows it (`None` when logging it failed).
    pub execution: Option<ExecutionSummary>,
}

/// Guards every agent LLM and tool call. Cheap to clone.
#[derive(Clone)]
pub struct Supervisor {
    ctx: AppContext,
    llm: LlmClient,
    tools: Option<Arc<dyn ToolExecutor>>,
    action: ActionRails,
    /// Each agent's parsed rail policy, re-parsed when its guardrails change.
    policies: Arc<PerAgent<serde_json::Value, RailPolicy>>,
}

impl Supervisor {
    /// A supervisor calling `llm` and, when given, running tools through `tools`.
    pub fn new(ctx: AppContext, llm: LlmClient, tools: Option<Arc<dyn ToolExecutor>>) -> Self {
        Self {
            action: ActionRails::new(&ctx),
            ctx,
            llm,
            tools,
            policies: Arc::default(),
        }
    }

    /// The model client (its breaker state says whether agents are degraded).
    pub fn llm(&self) -> &LlmClient {
        &self.llm
    }

    /// Runs one turn to a decision and logs it.
    pub async fn run(&self, input: TurnInput) -> Supervised {
        let started = Instant::now();
        let execution_id = ExecutionId::new();
        let mut log = execution_log::Log::default();
        // The `running` row (what shows a turn in flight) is written while the checks before
        // the model run; neither needs the other, and the model is asked only after both.
        let ((), admission) = tokio::join!(
            self.log_start(&input, execution_id),
            self.admit(&input, &mut log)
        );
        let outcome = match admission {
            decide::Admission::Stop(outcome) => outcome,
            decide::Admission::Go(admitted) => {
                self.answer(&input, admitted, execution_id, &mut log).await
            }
        };
        // Independent writes, together: the tokens of the last model call, the send counters
        // of a reply, and the finished row.
        let tokens = (log.budget.take(), std::mem::take(&mut log.unspent_tokens));
        let ((), execution) = tokio::join!(
            self.settle(&input, tokens, outcome.count_send),
            self.log_finish(&input, execution_id, &outcome, log, started)
        );
        let decide::Outcome {
            decision,
            state,
            reason,
            ..
        } = outcome;
        tracing::info!(
            chat.id = %input.chat_id, agent.name = %input.agent_name, execution.id = %execution_id,
            execution.status = state, reason = %reason, "agent turn decided"
        );
        Supervised {
            decision,
            execution_id,
            execution,
        }
    }
}

/// Keeps untrusted text from closing its own delimiter.
pub fn delimit(text: &str) -> String {
    text.replace("<contact_message>", "&lt;contact_message&gt;")
        .replace("</contact_message>", "&lt;/contact_message&gt;")
}
