//! `ChatRouter`: this node's registry of chat actors. It starts a chat's actor on demand (on one
//! of a few dedicated arbiters, so any thread or task may route), starts it again when it stopped
//! or died, and refuses explicitly when an actor's mailbox is full, never dropping silently.

use actix::{Actor, Addr, Arbiter, ArbiterHandle};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use super::chat::{
    ChatActor, ChatSettings, FollowUpDue, FollowUpTrigger, InboundCommitted, OperatorAction,
    OperatorJob, Takeover, TurnHandler,
};
use crate::channels::ingest::{IngestListener, IngestOutcome};
use crate::context::AppContext;
use crate::db::models::Message;
use crate::domain::{ChatId, OrganizationId};

/// Why a message could not be handed to a chat actor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// The chat's mailbox is full: retry later (HTTP 429 / a WS error frame).
    #[error("the chat is busy; retry shortly")]
    Saturated,
    /// The chat's actor stopped (the node is shutting down) before it ran the action.
    #[error("the chat's actor stopped before it ran the action")]
    Stopped,
}

/// The registry. Cheap to clone.
#[derive(Clone)]
pub struct ChatRouter {
    inner: Arc<Inner>,
}

struct Inner {
    app: AppContext,
    handler: Arc<dyn TurnHandler>,
    settings: ChatSettings,
    arbiters: Vec<Arbiter>,
    actors: Mutex<HashMap<ChatId, Addr<ChatActor>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        for arbiter in &self.arbiters {
            arbiter.stop();
        }
    }
}

impl ChatRouter {
    /// A router running chat actors on `threads` arbiters (at least one).
    pub fn new(
        app: AppContext,
        handler: Arc<dyn TurnHandler>,
        settings: ChatSettings,
        threads: usize,
    ) -> Self {
        let arbiters = (0..threads.max(1)).map(|_| Arbiter::new()).collect();
        Self {
            inner: Arc::new(Inner {
                app,
                handler,
                settings,
                arbiters,
                actors: Mutex::new(HashMap::new()),
            }),
        }
    }

    fn arbiter_for(&self, chat: ChatId) -> ArbiterHandle {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        chat.hash(&mut hasher);
        let index = (hasher.finish() as usize) % self.inner.arbiters.len();
        self.inner.arbiters[index].handle()
    }

    /// The chat's live actor, started if it is not running.
    pub fn actor(&self, org: OrganizationId, chat: ChatId) -> Addr<ChatActor> {
        self.with_actor(org, chat, Addr::clone)
    }

    /// Hands a message to the chat's actor (started if needed) without waiting. All of this
    /// node's sends to one actor go through the one address kept here: actix refuses a sender
    /// only after that sender filled the mailbox, and a fresh clone per send would never be
    /// refused, so bounded mailboxes would not bound anything.
    fn try_send<M>(&self, org: OrganizationId, chat: ChatId, message: M) -> Result<(), RouteError>
    where
        M: actix::Message + Send + 'static,
        M::Result: Send,
        ChatActor: actix::Handler<M>,
    {
        let mut message = message;
        for _ in 0..2 {
            match self.with_actor(org, chat, |addr| addr.try_send(message)) {
                Ok(()) => return Ok(()),
                Err(actix::prelude::SendError::Full(_)) => {
                    metrics::counter!("chat_route_refused_total").increment(1);
                    return Err(RouteError::Saturated);
                }
                // Stopped between lookup and send: start it again once.
                Err(actix::prelude::SendError::Closed(returned)) => message = returned,
            }
        }
        Err(RouteError::Stopped)
    }

    fn with_actor<R>(
        &self,
        org: OrganizationId,
        chat: ChatId,
        use_it: impl FnOnce(&Addr<ChatActor>) -> R,
    ) -> R {
        let mut actors = match self.inner.actors.lock() {
            Ok(actors) => actors,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(addr) = actors.get(&chat)
            && addr.connected()
        {
            return use_it(addr);
        }
        let (app, handler, settings) = (
            self.inner.app.clone(),
            self.inner.handler.clone(),
            self.inner.settings,
        );
        let addr = ChatActor::start_in_arbiter(&self.arbiter_for(chat), move |_| {
            ChatActor::new(app, org, chat, handler, settings)
        });
        metrics::counter!("chat_actor_starts_total").increment(1);
        use_it(actors.entry(chat).insert_entry(addr).get())
    }

    /// Tells a chat's actor about a committed inbound message.
    pub fn inbound(
        &self,
        org: OrganizationId,
        chat: ChatId,
        message: &Message,
    ) -> Result<(), RouteError> {
        self.try_send(
            org,
            chat,
            InboundCommitted {
                message: message.clone(),
            },
        )
    }

    /// Tells a chat's actor that a scheduled follow-up is due.
    pub fn followup_due(
        &self,
        org: OrganizationId,
        chat: ChatId,
        trigger: FollowUpTrigger,
    ) -> Result<(), RouteError> {
        self.try_send(org, chat, FollowUpDue { trigger })
    }

    /// Runs an operator's action (`work`: its transaction, answering with the result and
    /// whether the agent must stand down) inside the chat's actor, after what is already queued
    /// there. A full mailbox refuses at once (`Saturated`: HTTP 429 / a WS error frame) and the
    /// action does not run, so a refused operator can simply retry.
    pub async fn operator<T, E, F>(
        &self,
        org: OrganizationId,
        chat: ChatId,
        work: F,
    ) -> Result<Result<T, E>, RouteError>
    where
        F: Future<Output = Result<(T, Option<Takeover>), E>> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        let (answer, result) = tokio::sync::oneshot::channel();
        let job: OperatorJob = Box::pin(async move {
            match work.await {
                Ok((value, takeover)) => {
                    let _ = answer.send(Ok(value));
                    takeover
                }
                Err(error) => {
                    let _ = answer.send(Err(error));
                    None
                }
            }
        });
        self.try_send(org, chat, OperatorAction { job })?;
        result.await.map_err(|_| RouteError::Stopped)
    }

    /// Live actors on this node (stopped ones are forgotten lazily).
    pub fn live_actors(&self) -> usize {
        match self.inner.actors.lock() {
            Ok(actors) => actors.values().filter(|a| a.connected()).count(),
            Err(_) => 0,
        }
    }
}

impl IngestListener for ChatRouter {
    fn committed(&self, outcome: &IngestOutcome) {
        // Stored and shown in the inbox, but never answered (an auto-reply, say).
        if !crate::domain::triggers_turn(&outcome.message.metadata) {
            return;
        }
        if let Err(e) = self.inbound(
            outcome.chat.organization_id,
            outcome.chat.id,
            &outcome.message,
        ) {
            // The message is stored; only this turn trigger is lost, and the next one covers it.
            metrics::counter!("chat_route_refused_total").increment(1);
            tracing::warn!(chat.id = %outcome.chat.id, error = %e, "chat actor refused an inbound notification");
        }
    }
}
