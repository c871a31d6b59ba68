//! `ChatActor`: one per live conversation. It serialises what happens in its chat: inbound
//! messages are gathered for a quiet window and handed to the agent as one turn; a newer
//! inbound cancels a turn that has not produced output yet; the turn's decision (reply, draft,
//! hand-off) is persisted with its inbox event before the next message is handled; operators'
//! actions (reply, draft review, assignment, status) run their transactions through it too. State lives in
//! PostgreSQL and Redis, so an actor that stops (idle) or dies (panic) is simply started again
//! by the [`ChatRouter`](crate::actors::router::ChatRouter) and loses nothing.

mod actor;
mod lease;
mod messages;
mod operator;
mod persist;
mod turn;

pub use actor::{ChatActor, ChatSettings, WINDOW_MESSAGES};
pub use lease::TurnLease;
pub use messages::{ChatActorStatus, FollowUpDue, GetStatus, InboundCommitted};
pub use operator::{OperatorAction, OperatorJob, Takeover};
pub use turn::{
    FollowUpTrigger, NoAgent, TurnDecision, TurnHandler, TurnOutcome, TurnRequest, followup_agent,
};
