//! Announces committed events on Redis pub/sub (and to this node's hub directly, so local
//! clients do not wait for the round trip through Redis).

use redis::aio::ConnectionManager;
use std::sync::Arc;

use super::events::Envelope;
use super::{InboxEvent, InboxHub, Signal, channel_name};
use crate::channels::ingest::{IngestListener, IngestOutcome};
use crate::db::models::Event;

/// Publishes events after their transaction committed. Cheap to clone.
#[derive(Clone)]
pub struct EventPublisher {
    redis: ConnectionManager,
    key_prefix: String,
    hub: InboxHub,
}

impl EventPublisher {
    /// A publisher over a Redis connection, delivering locally through `hub`.
    pub fn new(redis: ConnectionManager, key_prefix: String, hub: InboxHub) -> Self {
        Self {
            redis,
            key_prefix,
            hub,
        }
    }

    /// Announces events; call only after the transaction that appended them committed.
    /// Failures are logged, not returned: subscribers recover missed events by cursor.
    pub fn publish(&self, events: &[Event]) {
        for event in events {
            let event = InboxEvent::from(event);
            let organization_id = match event.organization_id {
                Some(org) => org,
                None => continue,
            };
            self.hub.deliver(organization_id, Arc::new(event.clone()));
            self.announce(Envelope {
                node: self.hub.node_id(),
                organization_id,
                event: Some(event),
                signal: None,
            });
        }
    }

    /// Sends an ephemeral signal to every node's sessions of its organisation. Nothing is
    /// stored; a lost signal is simply not seen.
    pub fn signal(&self, signal: Signal) {
        let Some(organization_id) = signal.organization_id else {
            return;
        };
        self.hub
            .deliver_signal(organization_id, Arc::new(signal.clone()));
        self.announce(Envelope {
            node: self.hub.node_id(),
            organization_id,
            event: None,
            signal: Some(signal),
        });
    }

    fn announce(&self, envelope: Envelope) {
        let payload = match serde_json::to_string(&envelope) {
            Ok(payload) => payload,
            Err(e) => {
                tracing::error!(error = %e, "serialising an inbox notification failed");
                return;
            }
        };
        let channel = format!(
            "{}{}",
            self.key_prefix,
            channel_name(envelope.organization_id)
        );
        let mut redis = self.redis.clone();
        tokio::spawn(async move {
            let published: Result<i64, _> = redis::cmd("PUBLISH")
                .arg(&channel)
                .arg(payload)
                .query_async(&mut redis)
                .await;
            if let Err(e) = published {
                tracing::warn!(error = %e, "publishing an inbox notification failed; clients will catch up by cursor");
            }
        });
    }
}

impl IngestListener for EventPublisher {
    fn committed(&self, outcome: &IngestOutcome) {
        self.publish(&outcome.events);
    }
}
