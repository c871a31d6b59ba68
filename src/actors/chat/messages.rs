//! Messages a `ChatActor` handles. Each says who sends it.

use actix::Message;

use super::turn::{FollowUpTrigger, TurnDecision};
use crate::db::models::{ExecutionSummary, Message as StoredMessage};
use crate::domain::MessageId;

/// Sent by the router after ingest committed an inbound message of this chat.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct InboundCommitted {
    /// The stored message.
    pub message: StoredMessage,
}

/// Sent by the follow-up sender when a scheduled follow-up of this chat is due and still
/// wanted: the actor runs one turn with it (after any running turn; an inbound burst that is
/// pending absorbs it, since answering the contact is the follow-up).
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct FollowUpDue {
    /// The follow-up.
    pub trigger: FollowUpTrigger,
}

/// Sent by the actor to itself when a turn's handler returned.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(super) struct TurnFinished {
    /// Which turn.
    pub turn_number: u64,
    /// The fence of the lease it ran under.
    pub fence: i64,
    /// Its inbound messages.
    pub messages: Vec<MessageId>,
    /// What the handler decided.
    pub decision: TurnDecision,
    /// The logged execution explaining it, stored with its inbox event.
    pub execution: Option<ExecutionSummary>,
    /// The follow-up that triggered it, if any (names the answering agent).
    pub followup: Option<FollowUpTrigger>,
}

/// Sent by the router (and tests) to learn what the actor is doing.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "ChatActorStatus")]
pub struct GetStatus;

/// The actor's state, for tests and diagnostics.
#[derive(Debug, Clone, PartialEq, Eq, actix::MessageResponse)]
pub struct ChatActorStatus {
    /// Inbound messages waiting for the quiet window to pass.
    pub pending: usize,
    /// Whether a turn is running.
    pub turn_running: bool,
    /// Turns started so far.
    pub turns_started: u64,
    /// Turns cancelled by a newer inbound message.
    pub turns_cancelled: u64,
}
