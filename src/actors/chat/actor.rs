//! The chat actor itself.

use actix::prelude::{
    Actor, ActorContext, ActorFutureExt, AsyncContext, Context, Handler, SpawnHandle, WrapFuture,
};
use futures_util::future::{AbortHandle, abortable};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::lease::TurnLease;
use super::messages::{ChatActorStatus, FollowUpDue, GetStatus, InboundCommitted, TurnFinished};
use super::persist::{ChatError, persist_decision};
use super::turn::{FollowUpTrigger, TurnHandler, TurnRequest};
use crate::context::AppContext;
use crate::db::models::AgentExecution;
use crate::domain::{ChatId, MessageId, OrganizationId};
use crate::memory::ShortTermMemory;

/// Wait before asking again for a lease another node holds.
const LEASE_RETRY: Duration = Duration::from_millis(250);

/// Messages kept in a chat's short-term window (agents take their own last N from it).
pub const WINDOW_MESSAGES: usize = 50;

/// Timing and capacity of chat actors.
#[derive(Debug, Clone, Copy)]
pub struct ChatSettings {
    /// Inbound messages arriving closer together than this form one turn.
    pub quiet_window: Duration,
    /// An actor with nothing to do for this long stops (it is restarted on demand).
    pub idle_timeout: Duration,
    /// Messages queued for one actor before senders are refused (HTTP 429 / a WS error).
    pub mailbox_capacity: usize,
    /// How long a turn's lease lasts; a turn that outlives it cannot store its decision.
    pub lease_ttl: Duration,
}

impl Default for ChatSettings {
    fn default() -> Self {
        Self {
            quiet_window: Duration::from_millis(1500),
            idle_timeout: Duration::from_secs(300),
            mailbox_capacity: 64,
            lease_ttl: Duration::from_secs(60),
        }
    }
}

struct RunningTurn {
    number: u64,
    messages: Vec<MessageId>,
    abort: AbortHandle,
}

/// One conversation's actor.
pub struct ChatActor {
    app: AppContext,
    organization_id: OrganizationId,
    chat_id: ChatId,
    handler: Arc<dyn TurnHandler>,
    settings: ChatSettings,
    memory: ShortTermMemory,
    lease: TurnLease,
    pending: Vec<MessageId>,
    followup: Option<FollowUpTrigger>,
    debounce: Option<SpawnHandle>,
    running: Option<RunningTurn>,
    turns_started: u64,
    turns_cancelled: u64,
    last_activity: Instant,
}

impl ChatActor {
    /// A new actor for a chat (not started).
    pub fn new(
        app: AppContext,
        organization_id: OrganizationId,
        chat_id: ChatId,
        handler: Arc<dyn TurnHandler>,
        settings: ChatSettings,
    ) -> Self {
        let memory = app.short_term();
        let lease = TurnLease::new(
            app.redis(),
            app.config().redis.key_prefix.clone(),
            app.hub().node_id().to_string(),
            settings.lease_ttl,
        );
        Self {
            memory,
            lease,
            app,
            organization_id,
            chat_id,
            handler,
            settings,
            pending: Vec::new(),
            followup: None,
            debounce: None,
            running: None,
            turns_started: 0,
            turns_cancelled: 0,
            last_activity: Instant::now(),
        }
    }

    /// Takes the chat's lease, then runs the turn; while another node holds the lease, retries.
    fn start_turn(&mut self, ctx: &mut Context<Self>) {
        self.debounce = None;
        if self.pending.is_empty() && self.followup.is_none() {
            return;
        }
        let (lease, chat) = (self.lease.clone(), self.chat_id);
        // `wait` holds the mailbox for one Redis round trip, so no message slips in between.
        ctx.wait(async move { lease.acquire(chat).await }.into_actor(self).map(|taken, actor, ctx| match taken {
            Ok(Some(fence)) => actor.run_turn(fence, ctx),
            Ok(None) => {
                tracing::debug!(chat.id = %actor.chat_id, "another node holds the chat's turn lease; retrying");
                actor.debounce = Some(ctx.run_later(LEASE_RETRY, |actor, ctx| actor.start_turn(ctx)));
            }
            Err(e) => {
                tracing::warn!(chat.id = %actor.chat_id, error = %e, "taking the turn lease failed; retrying");
                actor.debounce = Some(ctx.run_later(LEASE_RETRY, |actor, ctx| actor.start_turn(ctx)));
            }
        }));
    }

    fn run_turn(&mut self, fence: i64, ctx: &mut Context<Self>) {
        if self.pending.is_empty() && self.followup.is_none() {
            return;
        }
        // A contact who wrote meanwhile is answered instead: that is the follow-up's point.
        let followup = self.followup.take().filter(|_| self.pending.is_empty());
        self.turns_started += 1;
        let number = self.turns_started;
        let messages = std::mem::take(&mut self.pending);
        let request = TurnRequest {
            organization_id: self.organization_id,
            chat_id: self.chat_id,
            messages: messages.clone(),
            turn_number: number,
            followup: followup.clone(),
        };
        let (turn, abort) = abortable(self.handler.run_logged_turn(request));
        self.running = Some(RunningTurn {
            number,
            messages: messages.clone(),
            abort,
        });
        tracing::debug!(chat.id = %self.chat_id, turn = number, "agent turn started");
        ctx.spawn(turn.into_actor(self).map(move |result, _actor, ctx| {
            if let Ok(outcome) = result {
                ctx.notify(TurnFinished {
                    turn_number: number,
                    fence,
                    messages,
                    decision: outcome.decision,
                    execution: outcome.execution,
                    followup,
                });
            }
        }));
    }
}

impl ChatActor {
    /// Notes activity, so an actor in use is not stopped as idle.
    pub(super) fn touch(&mut self) {
        self.last_activity = Instant::now();
    }

    /// A person took the conversation over: cancels a turn that has not decided, forgets
    /// messages waiting for a turn and any follow-up, and gives the chat's lease back.
    pub(super) fn stand_down(&mut self, reason: &'static str, ctx: &mut Context<Self>) {
        if let Some(handle) = self.debounce.take() {
            ctx.cancel_future(handle);
        }
        self.pending.clear();
        self.followup = None;
        if let Some(turn) = self.running.take() {
            turn.abort.abort();
            self.turns_cancelled += 1;
            self.log_cancelled(&turn, reason);
            let (lease, chat) = (self.lease.clone(), self.chat_id);
            ctx.spawn(
                async move {
                    if let Err(e) = lease.release(chat).await {
                        tracing::warn!(chat.id = %chat, error = %e, "releasing the turn lease failed; it expires on its own");
                    }
                }
                .into_actor(self),
            );
            tracing::debug!(chat.id = %self.chat_id, turn = turn.number, reason, "agent turn cancelled by an operator");
        }
    }

    /// Records in `agent_executions` that an abandoned turn ended without a decision, and why
    /// (otherwise its row would claim to be running for ever).
    fn log_cancelled(&self, turn: &RunningTurn, reason: &'static str) {
        let (db, org, chat) = (self.app.db().clone(), self.organization_id, self.chat_id);
        // A follow-up turn answers no message, and its execution row names none.
        let message = turn.messages.last().copied();
        actix::spawn(async move {
            let result = match db.get().await {
                Ok(mut conn) => {
                    AgentExecution::cancel_running(&mut conn, org, chat, message, reason)
                        .await
                        .map_err(|e| e.to_string())
                }
                Err(e) => Err(e.to_string()),
            };
            if let Err(e) = result {
                tracing::warn!(chat.id = %chat, error = %e, "recording a cancelled agent turn failed");
            }
        });
    }
}

impl Actor for ChatActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(self.settings.mailbox_capacity);
        let check = (self.settings.idle_timeout / 4).max(Duration::from_millis(10));
        ctx.run_interval(check, |actor, ctx| {
            let busy =
                actor.running.is_some() || actor.debounce.is_some() || !actor.pending.is_empty();
            if !busy && actor.last_activity.elapsed() >= actor.settings.idle_timeout {
                tracing::debug!(chat.id = %actor.chat_id, "chat actor idle; stopping");
                ctx.stop();
            }
        });
        metrics::gauge!("chat_actors").increment(1.0);
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        if let Some(turn) = self.running.take() {
            turn.abort.abort();
            self.log_cancelled(
                &turn,
                "cancelled because the chat actor stopped before it decided",
            );
        }
        metrics::gauge!("chat_actors").decrement(1.0);
    }
}

impl Handler<InboundCommitted> for ChatActor {
    type Result = ();

    fn handle(&mut self, message: InboundCommitted, ctx: &mut Self::Context) {
        self.last_activity = Instant::now();
        if let Some(turn) = self.running.take() {
            // The turn has produced nothing yet (its decision is persisted only in TurnFinished,
            // which runs with the mailbox held): cancel it and answer everything together.
            turn.abort.abort();
            self.turns_cancelled += 1;
            self.log_cancelled(
                &turn,
                "cancelled by a newer inbound message before it decided",
            );
            let mut messages = turn.messages;
            messages.append(&mut self.pending);
            self.pending = messages;
            tracing::debug!(chat.id = %self.chat_id, turn = turn.number, "agent turn cancelled by a newer message");
        }
        let id = message.message.id;
        if !self.pending.contains(&id) {
            self.pending.push(id);
        }
        // The short-term window is written here, by the chat's own actor, in message order.
        let memory = self.memory.clone();
        let chat = self.chat_id;
        ctx.spawn(
            async move {
                if let Err(e) = memory.append(chat, &message.message).await {
                    tracing::warn!(chat.id = %chat, error = %e, "appending to the short-term window failed; the next read rebuilds it");
                }
            }
            .into_actor(self),
        );
        if let Some(handle) = self.debounce.take() {
            ctx.cancel_future(handle);
        }
        self.debounce = Some(ctx.run_later(self.settings.quiet_window, |actor, ctx| {
            actor.start_turn(ctx)
        }));
    }
}

impl Handler<FollowUpDue> for ChatActor {
    type Result = ();

    fn handle(&mut self, due: FollowUpDue, ctx: &mut Self::Context) {
        self.last_activity = Instant::now();
        if self.running.is_some() || !self.pending.is_empty() || self.followup.is_some() {
            // The contact wrote (a turn answers them) or a follow-up is already on its way.
            tracing::debug!(chat.id = %self.chat_id, "follow-up dropped: the chat is already busy");
            return;
        }
        self.followup = Some(due.trigger);
        if self.debounce.is_none() {
            self.start_turn(ctx);
        }
    }
}

impl Handler<TurnFinished> for ChatActor {
    type Result = ();

    fn handle(&mut self, finished: TurnFinished, ctx: &mut Self::Context) {
        match &self.running {
            Some(turn) if turn.number == finished.turn_number => self.running = None,
            _ => return,
        }
        self.last_activity = Instant::now();
        let (app, lease) = (self.app.clone(), self.lease.clone());
        let (org, chat) = (self.organization_id, self.chat_id);
        // `wait` holds the mailbox: nothing else happens in this chat until the decision is stored.
        ctx.wait(
            async move {
                let stored = persist_decision(&app, org, chat, finished.fence, &finished.messages, finished.followup.as_ref(), finished.decision, finished.execution.as_ref()).await;
                match stored {
                    Ok(()) => {}
                    Err(ChatError::Fenced) => {
                        metrics::counter!("chat_turns_fenced_total").increment(1);
                        tracing::warn!(chat.id = %chat, "the turn lease expired before the decision was stored; discarded");
                    }
                    Err(e) => tracing::error!(chat.id = %chat, error = %e, "storing the agent's decision failed"),
                }
                if let Err(e) = lease.release(chat).await {
                    tracing::warn!(chat.id = %chat, error = %e, "releasing the turn lease failed; it expires on its own");
                }
            }
            .into_actor(self),
        );
    }
}

impl Handler<GetStatus> for ChatActor {
    type Result = ChatActorStatus;

    fn handle(&mut self, _: GetStatus, _ctx: &mut Self::Context) -> ChatActorStatus {
        ChatActorStatus {
            pending: self.pending.len(),
            turn_running: self.running.is_some(),
            turns_started: self.turns_started,
            turns_cancelled: self.turns_cancelled,
        }
    }
}
