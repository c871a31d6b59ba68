//! `ChatRouter`: this node's registry of chat actors. It starts a chat's actor on demand (on one
//! of a few dedicated arbiters, so any thread or task may route), starts it again when it stopped
//! or died, and refuses explicitly when an actor's mailbox is full, never dropping silently.

use actix::{Actor, Addr, Arbiter, ArbiterHandle};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use super::chat::{
    ChatActor, ChatSettings, FollowUpDue, FollowUpTrigger, InboundCommitted, TurnHandler,
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
        let mut actors = match self.inner.actors.lock() {
            Ok(actors) => actors,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(addr) = actors.get(&chat)
            && addr.connected()
        {
            return addr.clone();
        }
        let (app, handler, settings) = (
            self.inner.app.clone(),
            self.inner.handler.clone(),
            self.inner.settings,
        );
        let addr = ChatActor::start_in_arbiter(&self.arbiter_for(chat), move |_| {
            ChatActor::new(app, org, chat, handler, settings)
        });
        actors.insert(chat, addr.clone());
        metrics::counter!("chat_actor_starts_total").increment(1);
        addr
    }

    /// Tells a chat's actor about a committed inbound message.
    pub fn inbound(
        &self,
        org: OrganizationId,
        chat: ChatId,
        message: &Message,
    ) -> Result<(), RouteError> {
        for _ in 0..2 {
            match self.actor(org, chat).try_send(InboundCommitted {
                message: message.clone(),
            }) {
                Ok(()) => return Ok(()),
                Err(actix::prelude::SendError::Full(_)) => return Err(RouteError::Saturated),
                // Stopped between lookup and send: start it again once.
                Err(actix::prelude::SendError::Closed(_)) => continue,
            }
        }
        Err(RouteError::Saturated)
    }

    /// Tells a chat's actor that a scheduled follow-up is due.
    pub fn followup_due(
        &self,
        org: OrganizationId,
        chat: ChatId,
        trigger: FollowUpTrigger,
    ) -> Result<(), RouteError> {
        for _ in 0..2 {
            match self.actor(org, chat).try_send(FollowUpDue {
                trigger: trigger.clone(),
            }) {
                Ok(()) => return Ok(()),
                Err(actix::prelude::SendError::Full(_)) => return Err(RouteError::Saturated),
                Err(actix::prelude::SendError::Closed(_)) => continue,
            }
        }
        Err(RouteError::Saturated)
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
