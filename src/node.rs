//! One serving process's real-time runtime, started with the HTTP server: the ingest worker
//! (whose commits feed the inbox publisher and the chat router), the chat actors' router, and
//! the outbox dispatcher. Channels and agents plug in through the `TurnHandler` and the
//! `SenderRegistry` given at start.

use std::sync::Arc;

use crate::actors::chat::{ChatSettings, TurnHandler};
use crate::actors::outbox::{
    OutboxConfig, OutboxDispatcher, OutboxHandle, OutboxWaker, SenderRegistry,
};
use crate::actors::router::ChatRouter;
use crate::channels::ingest::{IngestConfig, IngestListener, Ingestor};
use crate::channels::polling::{PollerRegistry, RECONCILE_EVERY};
use crate::context::AppContext;

/// The running parts of a node.
pub struct Node {
    /// Where channel edges hand inbound messages.
    pub ingestor: Ingestor,
    /// This node's chat actors.
    pub router: ChatRouter,
    /// Wakes the outbox dispatcher after a commit queued work.
    pub outbox_waker: OutboxWaker,
    /// This node's channel pollers (the channels API reconciles them after a change).
    pub pollers: PollerRegistry,
    outbox: OutboxHandle,
    reconciler: tokio::task::JoinHandle<()>,
}

impl Node {
    /// Starts every part; call from inside the actix system that serves.
    pub fn start(
        ctx: &AppContext,
        handler: Arc<dyn TurnHandler>,
        mut senders: SenderRegistry,
    ) -> Self {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(4);
        let settings = ChatSettings {
            mailbox_capacity: ctx.config().server.chat_mailbox_capacity.max(1),
            ..ChatSettings::default()
        };
        let router = ChatRouter::new(ctx.clone(), handler, settings, threads);
        let listeners: Vec<Arc<dyn IngestListener>> =
            vec![Arc::new(ctx.publisher().clone()), Arc::new(router.clone())];
        let ingestor = Ingestor::start(ctx.db().clone(), IngestConfig::default(), listeners);
        let pollers = crate::channels::pollers(ctx, &ingestor);
        let reconciler = pollers.spawn_periodic(RECONCILE_EVERY);
        // Follow-ups wake chats, so their sender needs this node's router.
        senders.register(
            crate::rails::suppression::AGENT_FOLLOWUP,
            Arc::new(crate::actors::followup::FollowUpSender::new(
                ctx.db().clone(),
                router.clone(),
            )),
        );
        // Summaries of resolved chats ask the model in the background, retried by the outbox.
        senders.register(
            crate::actors::summary::AGENT_SUMMARY,
            Arc::new(crate::actors::summary::SummarySender::new(
                ctx.db().clone(),
                ctx.llm().clone(),
                ctx.long_term(),
            )),
        );
        let outbox =
            OutboxDispatcher::new(ctx.db().clone(), senders, OutboxConfig::default()).spawn();
        let outbox_waker = outbox.waker();
        Self {
            ingestor,
            router,
            outbox_waker,
            pollers,
            outbox,
            reconciler,
        }
    }

    /// Stops the channel pollers, lets the outbox finish what it is sending; the chat actors stop with their arbiters.
    pub async fn shutdown(self) {
        self.reconciler.abort();
        self.pollers.shutdown().await;
        self.outbox.shutdown().await;
    }
}
