//! Operators' actions pass through the chat's actor like everything else in the chat: a reply,
//! an approval or rejection of a draft, an assignment, a status change. The actor runs the
//! action's transaction with its mailbox held, so it cannot interleave with an inbound message
//! or the storing of an agent's decision, and when a person takes the conversation over (replies,
//! takes the assignment, resolves the chat, switches the agent off) the agent stands down: a turn
//! still thinking is cancelled and waiting messages are left to the human.

use actix::prelude::{ActorFutureExt, AsyncContext, Context, Handler, Message, WrapFuture};
use futures_util::future::BoxFuture;

use super::actor::ChatActor;

/// Why the agent should stop working on the chat after an operator's action; it is recorded on
/// the cancelled turn's execution row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Takeover {
    /// An operator wrote to the contact.
    Replied,
    /// The chat was assigned to a person.
    AssignedToPerson,
    /// The chat was resolved, snoozed or its autonomy switched off.
    Closed,
}

impl Takeover {
    fn reason(self) -> &'static str {
        match self {
            Self::Replied => "cancelled because an operator replied before the agent decided",
            Self::AssignedToPerson => {
                "cancelled because the chat was assigned to a person before the agent decided"
            }
            Self::Closed => {
                "cancelled because the chat was closed or its agent switched off before it decided"
            }
        }
    }
}

/// An operator's action, already checked for rights, waiting to run its transaction. Its
/// output says whether (and why) the agent must stand down; `None` when it failed or changes
/// nothing for the agent. The caller receives the action's own result through a channel it
/// captured, so this message stays one type for every action.
pub type OperatorJob = BoxFuture<'static, Option<Takeover>>;

/// Sent by the router on behalf of the API and the inbox WebSocket.
#[derive(Message)]
#[rtype(result = "()")]
pub struct OperatorAction {
    /// The action's transaction.
    pub job: OperatorJob,
}

impl Handler<OperatorAction> for ChatActor {
    type Result = ();

    fn handle(&mut self, action: OperatorAction, ctx: &mut Context<Self>) {
        self.touch();
        // `wait` holds the mailbox until the transaction has committed (or failed).
        ctx.wait(action.job.into_actor(self).map(|takeover, actor, ctx| {
            if let Some(takeover) = takeover {
                actor.stand_down(takeover.reason(), ctx);
            }
        }));
    }
}
