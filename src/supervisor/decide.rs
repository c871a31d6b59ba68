//! The supervisor's decision: the checks before the model (policy, opt-out, budgets, input
//! rails), then after it (output rails, autonomy, action rails), and the counters a decision
//! leaves behind (tokens spent, a reply counted against the volume caps).

use std::sync::Arc;

use super::budget::BudgetKeys;
use super::converse::Conversation;
use super::execution_log::Log;
use super::{Supervisor, TurnInput, rails};
use crate::actors::chat::TurnDecision;
use crate::db::models::agent_execution::status;
use crate::domain::{Autonomy, ExecutionId};
use crate::llm::LlmError;
use crate::rails::{OutputFacts, RailDecision, RailPolicy, is_opt_out, most_severe};

/// How a turn ended: the decision for the chat actor and what the log and counters need.
pub(super) struct Outcome {
    /// For the chat actor.
    pub decision: TurnDecision,
    /// The `agent_executions.status`.
    pub state: &'static str,
    /// Why, in words (logged and shown).
    pub reason: String,
    /// A reply goes out: count it against today's volume caps.
    pub count_send: bool,
}

impl Outcome {
    fn new(decision: TurnDecision, state: &'static str, reason: String) -> Self {
        Self {
            decision,
            state,
            reason,
            count_send: false,
        }
    }

    fn handoff(reason: String) -> Self {
        Self::new(
            TurnDecision::Handoff(reason.clone()),
            status::HANDED_OFF,
            reason,
        )
    }

    fn blocked(reason: String) -> Self {
        Self::new(
            TurnDecision::Handoff(reason.clone()),
            status::BLOCKED,
            reason,
        )
    }
}

/// Whether the model may be asked.
pub(super) enum Admission {
    /// No: the turn is decided already.
    Stop(Outcome),
    /// Yes, with what the checks found.
    Go(Admitted),
}

/// What the checks before the model hand to the rest of the turn.
pub(super) struct Admitted {
    policy: Arc<RailPolicy>,
    keys: BudgetKeys,
    spent: u64,
    contact_text: String,
    needs_review: Option<String>,
}

impl Supervisor {
    /// The agent's rail policy, parsed once per version of its guardrails.
    fn policy(&self, input: &TurnInput) -> Result<Arc<RailPolicy>, crate::rails::RailConfigError> {
        match input.agent_id {
            Some(agent) => self
                .policies
                .get_or_build(agent, &input.guardrails, rails::policy),
            None => rails::policy(&input.guardrails).map(Arc::new),
        }
    }

    /// Policy, opt-out, budgets and input rails: whether the model may be asked.
    pub(super) async fn admit(&self, input: &TurnInput, log: &mut Log) -> Admission {
        // The policy, and opt-out before anything else: "stop" is honoured even over budget.
        let policy = match self.policy(input) {
            Ok(policy) => policy,
            Err(e) => {
                return Admission::Stop(Outcome::handoff(format!(
                    "agent {}'s guardrails are invalid ({e}); fix them",
                    input.agent_name
                )));
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
            return Admission::Stop(Outcome::new(
                TurnDecision::Nothing,
                status::BLOCKED,
                "the contact opted out: suppressed, no reply".into(),
            ));
        }

        // Budgets: the turn is counted and today's tokens read in one round trip.
        let keys = BudgetKeys::today(
            &self.ctx,
            input.organization_id,
            input.chat_id,
            &input.agent_name,
        );
        let spent = match keys.take_turn(&self.ctx).await {
            Ok(count) if count.turns > u64::from(input.budgets.turns_per_chat_per_day) => {
                return Admission::Stop(Outcome::handoff(format!(
                    "budget: {} agent turns per chat per day reached",
                    input.budgets.turns_per_chat_per_day
                )));
            }
            Ok(count) => count.tokens_spent,
            Err(e) => {
                return Admission::Stop(Outcome::handoff(format!(
                    "budget counters unavailable: {e}"
                )));
            }
        };
        if spent >= input.budgets.tokens_per_day {
            return Admission::Stop(Outcome::handoff(format!(
                "budget: {} tokens per day for agent {} reached",
                input.budgets.tokens_per_day, input.agent_name
            )));
        }

        // Input rails.
        let verdicts = rails::input(&policy, &input.contact_text);
        log.verdicts.extend(verdicts.iter().cloned());
        let mut needs_review: Option<String> = None;
        let mut contact_text = input.contact_text.clone();
        match most_severe(&verdicts) {
            RailDecision::Block { reason } => return Admission::Stop(Outcome::blocked(reason)),
            RailDecision::NeedsApproval { reason } => needs_review = Some(reason),
            RailDecision::Rewrite { text, .. } => contact_text = text,
            RailDecision::Allow => {}
        }
        Admission::Go(Admitted {
            policy,
            keys,
            spent,
            contact_text,
            needs_review,
        })
    }

    /// The model (with tools), output rails, autonomy and action rails: the decision.
    pub(super) async fn answer(
        &self,
        input: &TurnInput,
        admitted: Admitted,
        execution_id: ExecutionId,
        log: &mut Log,
    ) -> Outcome {
        let Admitted {
            policy,
            keys,
            spent,
            contact_text,
            mut needs_review,
        } = admitted;
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
        // Whatever follows, the model's last tokens are spent when the turn settles.
        log.budget = Some(keys);
        let reply = match conversation {
            Ok(Conversation::Text(text)) => text,
            Ok(Conversation::Handoff(reason)) => return Outcome::handoff(reason),
            Err(error) => {
                log.error = Some(format!("{}: {error}", error.code()));
                let reason = match error {
                    LlmError::CircuitOpen => "agent degraded: the model server keeps failing (circuit breaker open); a human should answer".to_owned(),
                    LlmError::StreamCut => "the model's reply was cut off; nothing was sent, a human should answer".to_owned(),
                    other => format!("the model could not answer ({}): {other}", other.code()),
                };
                return Outcome::handoff(reason);
            }
        };
        let mut reply = reply.trim().to_owned();
        if reply.is_empty() {
            return Outcome::new(
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
            RailDecision::Block { reason } => return Outcome::blocked(reason),
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
                    RailDecision::Block { reason } => Outcome::blocked(reason),
                    RailDecision::NeedsApproval { reason } => Outcome::new(
                        TurnDecision::Draft(reply),
                        status::DRAFTED,
                        format!("needs review: {reason}"),
                    ),
                    RailDecision::Allow | RailDecision::Rewrite { .. } => Outcome {
                        // Counted when decided (the turn settles before the chat actor
                        // commits the reply): over-counting one failed commit is the safe
                        // side of a volume cap.
                        count_send: true,
                        ..Outcome::new(
                            TurnDecision::Reply(reply),
                            status::REPLIED,
                            "every rail allowed; autonomy auto".into(),
                        )
                    },
                }
            }
            (Autonomy::Auto, Some(reason)) => Outcome::new(
                TurnDecision::Draft(reply),
                status::DRAFTED,
                format!("needs review: {reason}"),
            ),
            (_, reason) => Outcome::new(
                TurnDecision::Draft(reply),
                status::DRAFTED,
                reason.map_or_else(
                    || "autonomy draft".to_owned(),
                    |r| format!("autonomy draft; {r}"),
                ),
            ),
        }
    }

    /// The counters a decided turn leaves: tokens of its last model call, and a reply counted
    /// against the volume caps. Both in Redis, sent together.
    pub(super) async fn settle(
        &self,
        input: &TurnInput,
        (budget, tokens): (Option<BudgetKeys>, u64),
        count_send: bool,
    ) {
        let spend = async {
            if let Some(keys) = budget
                && let Err(e) = keys.spend_tokens(&self.ctx, tokens).await
            {
                tracing::warn!(error = %e, "recording spent tokens failed");
            }
        };
        let count = async {
            if count_send
                && let Err(e) = self
                    .action
                    .record_send(input.organization_id, input.contact_id)
                    .await
            {
                tracing::warn!(error = %e, "could not count an agent reply against the volume caps");
            }
        };
        tokio::join!(spend, count);
    }
}
