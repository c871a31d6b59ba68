//! The model and the tool loop: bounded in steps and tokens; every tool call executed through
//! the `ToolExecutor`, its outcome fed back to the model.

use serde_json::json;

use super::budget::BudgetKeys;
use super::execution_log::Log;
use super::{Supervisor, TurnInput, delimit};
use crate::domain::ExecutionId;
use crate::llm::{ChatMessage, ChatRequest, LlmError, Role};
use crate::rails::RailPolicy;
use crate::tools::{ToolOutcome, ToolScope};

/// Most model calls in one turn (each tool round is one).
pub const MAX_TOOL_STEPS: usize = 4;

/// What the model ended with.
pub(super) enum Conversation {
    /// Its reply, before the output rails.
    Text(String),
    /// A hand-off, with the reason.
    Handoff(String),
}

impl Supervisor {
    /// Asks the model, running the tools it calls, until it replies. Tokens of a step that
    /// calls tools are recorded before the tools run (a long loop counts as it goes); the last
    /// step's are left in `log.unspent_tokens` for the turn to record when it settles.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn converse(
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
            log.unspent_tokens += used;
            if response.tool_calls.is_empty() {
                return Ok(Conversation::Text(response.content));
            }
            if let Err(e) = keys
                .spend_tokens(&self.ctx, std::mem::take(&mut log.unspent_tokens))
                .await
            {
                tracing::warn!(error = %e, "recording spent tokens failed");
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
}
