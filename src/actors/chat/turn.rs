//! The seam between a chat and its agent. The chat actor hands a `TurnRequest` (the inbound
//! messages of a burst) to a `TurnHandler`; the handler thinks (build context, ask the model
//! through the supervisor) and returns a `TurnDecision`, which the chat actor then persists.
//! Until the decision is returned the turn has produced nothing and may be cancelled by a newer
//! inbound message; persisting is the chat actor's job, so a cancelled turn leaves no trace.

use futures_util::future::BoxFuture;

use crate::db::models::{AiAgent, ExecutionSummary};
use crate::domain::{AgentId, AgentKind, ChatId, MessageId, OrganizationId};

/// One turn to take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnRequest {
    /// Organisation.
    pub organization_id: OrganizationId,
    /// Chat.
    pub chat_id: ChatId,
    /// The inbound messages this turn answers, oldest first (a burst is one turn).
    pub messages: Vec<MessageId>,
    /// Counts turns of this chat actor's life, for logs and tests.
    pub turn_number: u64,
    /// Set when a scheduled follow-up (not an inbound burst) triggered the turn.
    pub followup: Option<FollowUpTrigger>,
}

/// A due follow-up the agent scheduled earlier (`schedule_followup`), waking a silent chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUpTrigger {
    /// What the scheduling agent wanted to follow up about; shown to the prompt.
    pub note: String,
    /// The agent that scheduled it; a follow-up agent answers in its own name, any other kind
    /// leaves the turn to the chat's assigned agent.
    pub agent_id: Option<AgentId>,
}

/// What the agent decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TurnDecision {
    /// Send this reply (autonomy `auto`, every rail passed).
    Reply(String),
    /// Store this draft for a human to approve.
    Draft(String),
    /// Hand the chat to a human, with the reason shown in the inbox.
    Handoff(String),
    /// Say nothing (e.g. autonomy off, or nothing to answer).
    Nothing,
}

/// A decision with the logged execution that explains it, which the chat actor stores with the
/// decision's inbox event so the page shows "why" as soon as the draft or hand-off arrives.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnOutcome {
    /// What the agent decided.
    pub decision: TurnDecision,
    /// Its `agent_executions` row, as the inbox shows it (`None`: nothing was logged).
    pub execution: Option<ExecutionSummary>,
}

impl From<TurnDecision> for TurnOutcome {
    fn from(decision: TurnDecision) -> Self {
        Self {
            decision,
            execution: None,
        }
    }
}

/// Runs agent turns for chats. Implemented by the agent runtime; tests use scripted ones.
pub trait TurnHandler: Send + Sync + 'static {
    /// Thinks about a turn. Must not write anything the chat would show: return the decision.
    fn run_turn(&self, request: TurnRequest) -> BoxFuture<'static, TurnDecision>;

    /// As [`TurnHandler::run_turn`], with the logged execution explaining the decision; the
    /// chat actor calls this one. Handlers that log nothing keep the default.
    fn run_logged_turn(&self, request: TurnRequest) -> BoxFuture<'static, TurnOutcome> {
        let turn = self.run_turn(request);
        Box::pin(async move { turn.await.into() })
    }
}

/// The handler for organisations without agents: never answers.
pub struct NoAgent;

impl TurnHandler for NoAgent {
    fn run_turn(&self, _request: TurnRequest) -> BoxFuture<'static, TurnDecision> {
        Box::pin(async { TurnDecision::Nothing })
    }
}

/// The agent that answers a follow-up turn in its own name: the scheduling agent when it is a
/// follow-up agent (and active); otherwise `None`, and the chat's assigned agent answers. The
/// agent handler picks the turn's agent with it and the chat actor names the stored message's
/// sender with it, so the two always agree.
pub async fn followup_agent(
    conn: &mut diesel_async::AsyncPgConnection,
    org: OrganizationId,
    followup: Option<&FollowUpTrigger>,
) -> Option<AgentId> {
    let id = followup?.agent_id?;
    let agent = AiAgent::find(conn, org, id).await.ok()?;
    (agent.kind == AgentKind::Followup && agent.active).then_some(agent.id)
}
