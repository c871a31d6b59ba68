//! `InboxHub`: this node's fan-out of inbox events to its WebSocket sessions. Events arrive from
//! the local publisher and, for events made on other nodes, from one Redis pub/sub subscription.
//! Each session has a bounded queue; a session that falls behind is cut off (it resumes by
//! cursor) instead of making the hub buffer without bound or block other sessions. Events are
//! handed on in each organisation's cursor order (see [`super::order`]).

use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::mpsc;

use super::events::Envelope;
use super::order::{Admitted, CursorOrder, REORDER_WINDOW};
use super::{InboxEvent, Signal};
use crate::domain::OrganizationId;

/// What a session's queue carries.
#[derive(Debug, Clone)]
pub enum HubMessage {
    /// An event of the session's organisation.
    Event(Arc<InboxEvent>),
    /// Notifications may have been missed (Redis reconnected): catch up from the database.
    Resync,
    /// An ephemeral signal (typing, presence, job progress).
    Signal(Arc<Signal>),
}

/// The node's hub. Cheap to clone.
#[derive(Clone)]
pub struct InboxHub {
    inner: Arc<Inner>,
}

struct Inner {
    node_id: uuid::Uuid,
    next_id: AtomicU64,
    listening: AtomicBool,
    subscribers: RwLock<HashMap<OrganizationId, Vec<Subscriber>>>,
    order: CursorOrder,
}

struct Subscriber {
    id: u64,
    sender: mpsc::Sender<HubMessage>,
    overflowed: Arc<AtomicBool>,
}

/// A session's registration; dropping it unsubscribes.
pub struct Subscription {
    /// Events and resync markers, in arrival order.
    pub receiver: mpsc::Receiver<HubMessage>,
    overflowed: Arc<AtomicBool>,
    id: u64,
    organization_id: OrganizationId,
    hub: InboxHub,
}

impl Subscription {
    /// True once the hub dropped this session for not keeping up.
    pub fn overflowed(&self) -> bool {
        self.overflowed.load(Ordering::Acquire)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.remove(self.organization_id, &[self.id]);
    }
}

impl Default for InboxHub {
    fn default() -> Self {
        Self::new()
    }
}

impl InboxHub {
    /// An empty hub with a fresh node id.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                node_id: uuid::Uuid::now_v7(),
                next_id: AtomicU64::new(1),
                listening: AtomicBool::new(false),
                subscribers: RwLock::new(HashMap::new()),
                order: CursorOrder::default(),
            }),
        }
    }

    /// Whether the Redis subscription for other nodes' events is established.
    pub fn is_listening(&self) -> bool {
        self.inner.listening.load(Ordering::Acquire)
    }

    /// This node's id, stamped on what it publishes.
    pub fn node_id(&self) -> uuid::Uuid {
        self.inner.node_id
    }

    /// Registers a session for an organisation's events, with a queue of `capacity`.
    pub fn subscribe(&self, organization_id: OrganizationId, capacity: usize) -> Subscription {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let overflowed = Arc::new(AtomicBool::new(false));
        let subscriber = Subscriber {
            id,
            sender,
            overflowed: overflowed.clone(),
        };
        if let Ok(mut map) = self.inner.subscribers.write() {
            map.entry(organization_id).or_default().push(subscriber);
        }
        metrics::gauge!("inbox_subscribers").increment(1.0);
        Subscription {
            receiver,
            overflowed,
            id,
            organization_id,
            hub: self.clone(),
        }
    }

    /// Hands an event to every session of its organisation without waiting, in cursor order:
    /// an event that came before its turn is held back until the ones before it arrive, or
    /// for [`REORDER_WINDOW`] at most.
    pub fn deliver(&self, organization_id: OrganizationId, event: Arc<InboxEvent>) {
        let listened_to = self
            .inner
            .subscribers
            .read()
            .is_ok_and(|map| map.contains_key(&organization_id));
        if !listened_to {
            return;
        }
        let mut slow = Vec::new();
        let admitted = self.inner.order.admit(organization_id, event, |event| {
            self.hand_out(organization_id, event, &mut slow)
        });
        self.cut_off(organization_id, &slow);
        if admitted == Admitted::HeldScheduleFlush {
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    let hub = self.clone();
                    drop(runtime.spawn(async move {
                        tokio::time::sleep(REORDER_WINDOW).await;
                        hub.release_held(organization_id);
                    }));
                }
                // No runtime to wait on (not the case in the server): release at once.
                Err(_) => self.release_held(organization_id),
            }
        }
    }

    /// Hands on whatever the organisation's order still holds, past any gap.
    fn release_held(&self, organization_id: OrganizationId) {
        let mut slow = Vec::new();
        self.inner.order.flush(organization_id, |event| {
            self.hand_out(organization_id, event, &mut slow)
        });
        self.cut_off(organization_id, &slow);
    }

    /// Queues an event for every session of the organisation, noting those with a full queue.
    fn hand_out(
        &self,
        organization_id: OrganizationId,
        event: Arc<InboxEvent>,
        slow: &mut Vec<u64>,
    ) {
        if let Ok(map) = self.inner.subscribers.read()
            && let Some(subscribers) = map.get(&organization_id)
        {
            for subscriber in subscribers {
                if subscriber
                    .sender
                    .try_send(HubMessage::Event(event.clone()))
                    .is_err()
                {
                    subscriber.overflowed.store(true, Ordering::Release);
                    slow.push(subscriber.id);
                }
            }
        }
    }

    /// Drops sessions that did not keep up; they resume by cursor.
    fn cut_off(&self, organization_id: OrganizationId, slow: &[u64]) {
        if !slow.is_empty() {
            metrics::counter!("inbox_slow_consumers_total").increment(slow.len() as u64);
            self.remove(organization_id, slow);
        }
    }

    /// Hands a signal to every session of its organisation that has room for it. A session
    /// with a full queue simply misses it: signals are not worth cutting a client off for.
    pub fn deliver_signal(&self, organization_id: OrganizationId, signal: Arc<Signal>) {
        if let Ok(map) = self.inner.subscribers.read()
            && let Some(subscribers) = map.get(&organization_id)
        {
            for subscriber in subscribers {
                let _ = subscriber
                    .sender
                    .try_send(HubMessage::Signal(signal.clone()));
            }
        }
    }

    /// Tells every session to catch up from the database.
    fn resync_all(&self) {
        self.inner.order.clear();
        if let Ok(map) = self.inner.subscribers.read() {
            for subscriber in map.values().flatten() {
                let _ = subscriber.sender.try_send(HubMessage::Resync);
            }
        }
    }

    fn remove(&self, organization_id: OrganizationId, ids: &[u64]) {
        let mut emptied = false;
        if let Ok(mut map) = self.inner.subscribers.write()
            && let Some(subscribers) = map.get_mut(&organization_id)
        {
            let before = subscribers.len();
            subscribers.retain(|s| !ids.contains(&s.id));
            let removed = before - subscribers.len();
            if subscribers.is_empty() {
                map.remove(&organization_id);
                emptied = true;
            }
            metrics::gauge!("inbox_subscribers").decrement(removed as f64);
        }
        if emptied {
            self.inner.order.forget(organization_id);
        }
    }

    /// Listens to every organisation's events published by other nodes, reconnecting forever;
    /// after each reconnect, sessions are told to resync (they may have missed notifications).
    pub fn spawn_redis_listener(
        &self,
        client: redis::Client,
        key_prefix: String,
    ) -> tokio::task::JoinHandle<()> {
        let hub = self.clone();
        tokio::spawn(async move {
            let pattern = format!("{key_prefix}{}", super::channel_name_pattern());
            let mut first = true;
            loop {
                match hub.listen(&client, &pattern, first).await {
                    Ok(()) => tracing::warn!("inbox pub/sub stream ended; reconnecting"),
                    Err(e) => tracing::warn!(error = %e, "inbox pub/sub failed; reconnecting"),
                }
                first = false;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    }

    async fn listen(
        &self,
        client: &redis::Client,
        pattern: &str,
        first: bool,
    ) -> redis::RedisResult<()> {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.psubscribe(pattern).await?;
        self.inner.listening.store(true, Ordering::Release);
        if !first {
            self.resync_all();
        }
        let mut stream = pubsub.on_message();
        while let Some(message) = stream.next().await {
            let Ok(payload) = message.get_payload::<String>() else {
                continue;
            };
            match serde_json::from_str::<Envelope>(&payload) {
                Ok(envelope) if envelope.node == self.inner.node_id => {}
                Ok(envelope) => {
                    if let Some(event) = envelope.event {
                        self.deliver(envelope.organization_id, Arc::new(event));
                    }
                    if let Some(signal) = envelope.signal {
                        self.deliver_signal(envelope.organization_id, Arc::new(signal));
                    }
                }
                Err(e) => tracing::warn!(error = %e, "ignoring a malformed inbox notification"),
            }
        }
        Ok(())
    }
}
