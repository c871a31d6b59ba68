//! The supervisor: every agent LLM call passes through it. In order: daily budgets (Redis),
//! input rails, the model with the agent's allowed tools, the tool loop (bounded in steps and
//! tokens; every call executed through the `ToolExecutor`, its outcome fed back to the model),
//! output rails, and the decision by autonomy: `auto` replies only when every rail allowed,
//! otherwise a draft; a blocked rail, an exhausted budget, an open circuit breaker or an
//! unreachable model hand the chat to a human with the reason. Every decision is logged in
//! `agent_executions` with its reason.

mod budget;
pub mod rails;

pub use budget::BudgetKeys;

use serde_json::json;
use std::sync::Arc;
use std::time::Instant;

use crate::actors::chat::TurnDecision;
use crate::agents::Budgets;
use crate::context::AppContext;
use crate::db::models::agent_execution::status;
use crate::db::models::{
    AgentExecution, AgentExecutionFinishForm, AgentExecutionInsertForm, ExecutionSummary,
};
use crate::domain::{
    AgentId, Autonomy, ChannelKind, ChatId, ContactId, ExecutionId, MessageId, OrganizationId,
};
use crate::llm::{ChatMessage, ChatRequest, LlmClient, LlmError, Role};
use crate::rails::{
    ActionRails, OutputFacts, RailDecision, RailPolicy, RailVerdict, is_opt_out, most_severe,
};
use crate::tools::{ToolExecutor, ToolOutcome, ToolScope};

/// Most model calls in one turn (each tool round is one).
pub const MAX_TOOL_STEPS: usize = 4;

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
}

/// Accumulated while a turn runs, logged at the end.
#[derive(Default)]
struct Log {
    verdicts: Vec<RailVerdict>,
    tool_calls: Vec<serde_json::Value>,
    prompt_tokens: u64,
    completion_tokens: u64,
    error: Option<String>,
}

impl Supervisor {
    /// A supervisor calling `llm` and, when given, running tools through `tools`.
    pub fn new(ctx: AppContext, llm: LlmClient, tools: Option<Arc<dyn ToolExecutor>>) -> Self {
        Self {
            action: ActionRails::new(&ctx),
            ctx,
            llm,
            tools,
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
        self.log_start(&input, execution_id).await;
        let mut log = Log::default();
        let (decision, state, reason) = self.decide(&input, execution_id, &mut log).await;
        let execution = self
            .log_finish(
                &input,
                execution_id,
                &decision,
                state,
                &reason,
                log,
                started,
            )
            .await;
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

    async fn decide(
        &self,
        input: &TurnInput,
        execution_id: ExecutionId,
        log: &mut Log,
    ) -> (TurnDecision, &'static str, String) {
        let handoff = |reason: String| {
            (
                TurnDecision::Handoff(reason.clone()),
                status::HANDED_OFF,
                reason,
            )
        };
        // The policy, and opt-out before anything else: "stop" is honoured even over budget.
        let policy: RailPolicy = match rails::policy(&input.guardrails) {
            Ok(policy) => policy,
            Err(e) => {
                return handoff(format!(
                    "agent {}'s guardrails are invalid ({e}); fix them",
                    input.agent_name
                ));
            }
        };
        if is_opt_out(&input.contact_text) {
            if let Err(e) = self
                .action
                .suppress_on_opt_out(input.organization_id, input.contact_id)
                .await
            {
                tracing::warn!(error = %e, "could not suppress an opted-out contact");
            }
            return (
                TurnDecision::Nothing,
                status::BLOCKED,
                "the contact opted out: suppressed, no reply".into(),
            );
        }

        // Budgets.
        let keys = BudgetKeys::today(
            &self.ctx,
            input.organization_id,
            input.chat_id,
            &input.agent_name,
        );
        match keys.take_turn(&self.ctx).await {
            Ok(turns) if turns > u64::from(input.budgets.turns_per_chat_per_day) => {
                return handoff(format!(
                    "budget: {} agent turns per chat per day reached",
                    input.budgets.turns_per_chat_per_day
                ));
            }
            Ok(_) => {}
            Err(e) => return handoff(format!("budget counters unavailable: {e}")),
        }
        let spent = match keys.tokens_spent(&self.ctx).await {
            Ok(spent) => spent,
            Err(e) => return handoff(format!("budget counters unavailable: {e}")),
        };
        if spent >= input.budgets.tokens_per_day {
            return handoff(format!(
                "budget: {} tokens per day for agent {} reached",
                input.budgets.tokens_per_day, input.agent_name
            ));
        }

        // Input rails.
        let verdicts = rails::input(&policy, &input.contact_text);
        log.verdicts.extend(verdicts.iter().cloned());
        let mut needs_review: Option<String> = None;
        let mut contact_text = input.contact_text.clone();
        match most_severe(&verdicts) {
            RailDecision::Block { reason } => {
                return (
                    TurnDecision::Handoff(reason.clone()),
                    status::BLOCKED,
                    reason,
                );
            }
            RailDecision::NeedsApproval { reason } => needs_review = Some(reason),
            RailDecision::Rewrite { text, .. } => contact_text = text,
            RailDecision::Allow => {}
        }

        // The model, with the tool loop.
        let conversation = self
            .converse(
                input,
                &policy,
                &contact_text,
                execution_id,
                &keys,
                spent,
                log,
            )
            .await;
        let reply = match conversation {
            Ok(Conversation::Text(text)) => text,
            Ok(Conversation::Handoff(reason)) => return handoff(reason),
            Err(error) => {
                log.error = Some(format!("{}: {error}", error.code()));
                let reason = match error {
                    LlmError::CircuitOpen => "agent degraded: the model server keeps failing (circuit breaker open); a human should answer".to_owned(),
                    LlmError::StreamCut => "the model's reply was cut off; nothing was sent, a human should answer".to_owned(),
                    other => format!("the model could not answer ({}): {other}", other.code()),
                };
                return handoff(reason);
            }
        };
        let mut reply = reply.trim().to_owned();
        if reply.is_empty() {
            return (
                TurnDecision::Nothing,
                status::DRAFTED,
                "the model chose not to reply".into(),
            );
        }

        // Output rails.
        let facts = OutputFacts {
            channel: input.channel,
            system_prompt: input.system_prompt.clone(),
            contact_email: input.contact_email.clone(),
            contact_phone: input.contact_phone.clone(),
        };
        let verdicts = rails::output(&policy, &facts, &reply);
        log.verdicts.extend(verdicts.iter().cloned());
        match most_severe(&verdicts) {
            RailDecision::Block { reason } => {
                return (
                    TurnDecision::Handoff(reason.clone()),
                    status::BLOCKED,
                    reason,
                );
            }
            RailDecision::NeedsApproval { reason } => {
                needs_review.get_or_insert(reason);
            }
            RailDecision::Rewrite { text, reason } => {
                reply = text;
                needs_review.get_or_insert(format!("rewritten by a rail: {reason}"));
            }
            RailDecision::Allow => {}
        }

        // Autonomy, then the action rails before an actual send.
        match (input.autonomy, needs_review) {
            (Autonomy::Auto, None) => {
                let verdicts = self
                    .action
                    .check_send_on(
                        &policy,
                        input.organization_id,
                        input.contact_id,
                        Some(input.channel),
                        chrono::Utc::now(),
                    )
                    .await;
                log.verdicts.extend(verdicts.iter().cloned());
                match most_severe(&verdicts) {
                    RailDecision::Block { reason } => (
                        TurnDecision::Handoff(reason.clone()),
                        status::BLOCKED,
                        reason,
                    ),
                    RailDecision::NeedsApproval { reason } => (
                        TurnDecision::Draft(reply),
                        status::DRAFTED,
                        format!("needs review: {reason}"),
                    ),
                    RailDecision::Allow | RailDecision::Rewrite { .. } => {
                        // Counted when decided: the chat actor commits the reply next, and
                        // over-counting one failed commit is the safe side of a volume cap.
                        if let Err(e) = self
                            .action
                            .record_send(input.organization_id, input.contact_id)
                            .await
                        {
                            tracing::warn!(error = %e, "could not count an agent reply against the volume caps");
                        }
                        (
                            TurnDecision::Reply(reply),
                            status::REPLIED,
                            "every rail allowed; autonomy auto".into(),
                        )
                    }
                }
            }
            (Autonomy::Auto, Some(reason)) => (
                TurnDecision::Draft(reply),
                status::DRAFTED,
                format!("needs review: {reason}"),
            ),
            (_, reason) => (
                TurnDecision::Draft(reply),
                status::DRAFTED,
                reason.map_or_else(
                    || "autonomy draft".to_owned(),
                    |r| format!("autonomy draft; {r}"),
                ),
            ),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn converse(
        &self,
        input: &TurnInput,
        policy: &RailPolicy,
        contact_text: &str,
        execution_id: ExecutionId,
        keys: &BudgetKeys,
        spent_before: u64,
        log: &mut Log,
    ) -> Result<Conversation, LlmError> {
        let specs = match &self.tools {
            Some(tools) if !input.tools.is_empty() => tools.specs(&input.tools),
            _ => Vec::new(),
        };
        let mut messages = vec![
            ChatMessage::new(Role::System, input.system_prompt.clone()),
            ChatMessage::new(
                Role::User,
                format!(
                    "<contact_message>{}</contact_message>",
                    delimit(contact_text)
                ),
            ),
        ];
        for step in 0..MAX_TOOL_STEPS {
            let request = ChatRequest {
                model: input.model.clone(),
                messages: messages.clone(),
                tools: specs.clone(),
                temperature: input.temperature,
                max_tokens: input.max_tokens,
            };
            let response = self.llm.chat(&request).await?;
            let used = u64::from(response.prompt_tokens) + u64::from(response.completion_tokens);
            log.prompt_tokens += u64::from(response.prompt_tokens);
            log.completion_tokens += u64::from(response.completion_tokens);
            if let Err(e) = keys.spend_tokens(&self.ctx, used).await {
                tracing::warn!(error = %e, "recording spent tokens failed");
            }
            if response.tool_calls.is_empty() {
                return Ok(Conversation::Text(response.content));
            }
            if spent_before + log.prompt_tokens + log.completion_tokens
                >= input.budgets.tokens_per_day
            {
                return Ok(Conversation::Handoff(format!(
                    "budget: {} tokens per day for agent {} reached during the tool loop",
                    input.budgets.tokens_per_day, input.agent_name
                )));
            }
            let Some(tools) = &self.tools else {
                return Ok(Conversation::Handoff(
                    "the model asked for tools, but no tools are available".into(),
                ));
            };
            messages.push(ChatMessage {
                tool_calls: response.tool_calls.clone(),
                ..ChatMessage::new(Role::Assistant, response.content.clone())
            });
            for call in response.tool_calls {
                let scope = ToolScope {
                    organization_id: input.organization_id,
                    chat_id: input.chat_id,
                    contact_id: input.contact_id,
                    agent_id: input.agent_id,
                    execution_id,
                    allowed: input.tools.clone(),
                    approval_required: policy.approval_required_tools.clone(),
                };
                let outcome = tools.execute(scope, call.clone()).await;
                log.tool_calls
                    .push(json!({"step": step, "name": call.name, "outcome": outcome}));
                if let ToolOutcome::Handoff { reason } = &outcome {
                    return Ok(Conversation::Handoff(format!(
                        "tool {}: {reason}",
                        call.name
                    )));
                }
                messages.push(ChatMessage {
                    tool_name: Some(call.name.clone()),
                    tool_call_id: call.id.clone(),
                    ..ChatMessage::new(
                        Role::Tool,
                        serde_json::to_string(&outcome).unwrap_or_default(),
                    )
                });
            }
        }
        Ok(Conversation::Handoff(format!(
            "the tool loop reached its limit of {MAX_TOOL_STEPS} steps without a reply"
        )))
    }

    async fn log_start(&self, input: &TurnInput, id: ExecutionId) {
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
            Ok(mut conn) => AgentExecution::create(&mut conn, &form)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = result {
            tracing::warn!(chat.id = %input.chat_id, error = %e, "logging the agent turn failed");
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn log_finish(
        &self,
        input: &TurnInput,
        id: ExecutionId,
        decision: &TurnDecision,
        state: &'static str,
        reason: &str,
        log: Log,
        started: Instant,
    ) -> Option<ExecutionSummary> {
        let (kind, chars) = match decision {
            TurnDecision::Reply(t) => ("reply", t.chars().count()),
            TurnDecision::Draft(t) => ("draft", t.chars().count()),
            TurnDecision::Handoff(_) => ("handoff", 0),
            TurnDecision::Nothing => ("nothing", 0),
        };
        let form = AgentExecutionFinishForm {
            status: state.into(),
            outputs: json!({"decision": kind, "reason": reason, "reply_chars": chars}),
            tool_calls: serde_json::Value::Array(log.tool_calls),
            guardrail_decisions: serde_json::to_value(&log.verdicts).unwrap_or_default(),
            prompt_tokens: i32::try_from(log.prompt_tokens).unwrap_or(i32::MAX),
            completion_tokens: i32::try_from(log.completion_tokens).unwrap_or(i32::MAX),
            latency_ms: i32::try_from(started.elapsed().as_millis()).ok(),
            error: log.error,
            finished_at: Some(chrono::Utc::now()),
        };
        let result = match self.ctx.db().get().await {
            Ok(mut conn) => AgentExecution::finish(&mut conn, input.organization_id, id, &form)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match result {
            Ok(row) => Some(row.into()),
            Err(e) => {
                tracing::warn!(chat.id = %input.chat_id, error = %e, "logging the agent decision failed");
                None
            }
        }
    }
}

enum Conversation {
    Text(String),
    Handoff(String),
}

/// Keeps untrusted text from closing its own delimiter.
pub fn delimit(text: &str) -> String {
    text.replace("<contact_message>", "&lt;contact_message&gt;")
        .replace("</contact_message>", "&lt;/contact_message&gt;")
}
