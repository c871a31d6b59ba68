//! Channels that receive by polling (Telegram long polling, IMAP) run one poller per
//! channel on a node. [`PollerRegistry`] keeps this node's pollers in line with the `channels`
//! table: it starts a poller for every active channel its kind's [`ChannelPoller`] says is
//! polled, restarts one whose settings or secret references changed, and stops one whose
//! channel was deactivated, deleted or switched to push (a webhook). The channels API reconciles
//! right after a change commits; every node also reconciles periodically, so a change made
//! through another node arrives within [`RECONCILE_EVERY`]. Which node actually talks to the
//! provider is each poller's business (each takes a Redis lease, [`super::poll_lease`]), so running a
//! registry on every node is safe.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use futures_util::future::BoxFuture;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;

use crate::db::DbPool;
use crate::db::models::Channel;
use crate::db::schema::channels;
use crate::domain::{ChannelId, ChannelKind};

/// How often each node re-reads the channels table on its own.
pub const RECONCILE_EVERY: Duration = Duration::from_secs(30);

/// One channel kind's polling side.
pub trait ChannelPoller: Send + Sync {
    /// The channel kind it polls.
    fn kind(&self) -> ChannelKind;
    /// Whether this active channel receives by polling (rather than by push).
    fn polls(&self, channel: &Channel) -> bool;
    /// Starts polling `channel` on this node.
    fn start(&self, channel: &Channel) -> Box<dyn RunningPoller>;
}

/// A poller started by a [`ChannelPoller`].
pub trait RunningPoller: Send + Sync {
    /// Whether it stopped on its own (it is then started again if still wanted).
    fn is_finished(&self) -> bool;
    /// Stops it; what it already fetched is committed or left unconfirmed, never half-done.
    fn shutdown(self: Box<Self>) -> BoxFuture<'static, ()>;
}

/// A poller's task and the switch that stops it: how every channel kind runs its poller.
#[derive(Debug)]
pub struct PollerTask {
    channel: ChannelId,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl PollerTask {
    /// Spawns `run` on the current runtime; it should return once its receiver turns `true`.
    pub fn spawn<F, Fut>(channel: ChannelId, run: F) -> Self
    where
        F: FnOnce(watch::Receiver<bool>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (stop, stopped) = watch::channel(false);
        Self {
            channel,
            stop,
            task: tokio::spawn(run(stopped)),
        }
    }

    /// The polled channel.
    pub fn channel(&self) -> ChannelId {
        self.channel
    }

    /// Asks the task to stop and waits for it (what it fetched is committed and confirmed).
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }

    /// Kills the task wherever it is, as a crash would (nothing is confirmed that was not).
    pub fn abort(self) {
        self.task.abort();
    }
}

impl RunningPoller for PollerTask {
    fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    fn shutdown(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(PollerTask::shutdown(*self))
    }
}

/// Why the registry could not read the channels.
#[derive(Debug, thiserror::Error)]
pub enum PollingError {
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
    /// No database connection.
    #[error("database pool: {0}")]
    Pool(String),
}

struct Running {
    fingerprint: u64,
    poller: Box<dyn RunningPoller>,
}

struct Inner {
    pool: DbPool,
    enabled: bool,
    by_kind: HashMap<ChannelKind, Arc<dyn ChannelPoller>>,
    running: Mutex<HashMap<ChannelId, Running>>,
}

/// This node's pollers, keyed by channel. Cheap to clone.
#[derive(Clone)]
pub struct PollerRegistry {
    inner: Arc<Inner>,
}

impl PollerRegistry {
    /// A registry for `pollers` (one per kind). When `enabled` is false (a node that should not
    /// poll), reconciling starts nothing.
    pub fn new(pool: DbPool, enabled: bool, pollers: Vec<Arc<dyn ChannelPoller>>) -> Self {
        let by_kind = pollers.into_iter().map(|p| (p.kind(), p)).collect();
        Self {
            inner: Arc::new(Inner {
                pool,
                enabled,
                by_kind,
                running: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The channels with a poller running on this node.
    pub async fn running(&self) -> Vec<ChannelId> {
        self.inner.running.lock().await.keys().copied().collect()
    }

    /// Brings this node's pollers in line with the channels table (see the module docs).
    /// Reconciles run one at a time.
    pub async fn reconcile(&self) -> Result<(), PollingError> {
        if !self.inner.enabled || self.inner.by_kind.is_empty() {
            return Ok(());
        }
        let kinds: Vec<ChannelKind> = self.inner.by_kind.keys().copied().collect();
        // Unscoped by organisation on purpose: the node polls every tenant's channels, and each
        // poller scopes its own work by the organisation its channel row names.
        let rows: Vec<Channel> = {
            let mut conn = self
                .inner
                .pool
                .get()
                .await
                .map_err(|e| PollingError::Pool(e.to_string()))?;
            channels::table
                .filter(channels::kind.eq_any(kinds))
                .filter(channels::active.eq(true))
                .select(Channel::as_select())
                .load(&mut conn)
                .await?
        };
        let wanted: HashMap<ChannelId, (u64, &Channel, &Arc<dyn ChannelPoller>)> = rows
            .iter()
            .filter_map(|c| {
                let poller = self.inner.by_kind.get(&c.kind)?;
                poller.polls(c).then(|| (c.id, (fingerprint(c), c, poller)))
            })
            .collect();
        let mut running = self.inner.running.lock().await;
        let stale: Vec<ChannelId> = running
            .iter()
            .filter(|(id, r)| {
                r.poller.is_finished() || wanted.get(*id).map(|w| w.0) != Some(r.fingerprint)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in stale {
            if let Some(r) = running.remove(&id) {
                tracing::info!(channel.id = %id, "stopping channel poller");
                r.poller.shutdown().await;
            }
        }
        for (id, (fingerprint, channel, poller)) in wanted {
            if let std::collections::hash_map::Entry::Vacant(slot) = running.entry(id) {
                tracing::info!(channel.id = %id, channel.kind = ?channel.kind, "starting channel poller");
                slot.insert(Running {
                    fingerprint,
                    poller: poller.start(channel),
                });
            }
        }
        Ok(())
    }

    /// Reconciles now (logging a failure: the next round retries), as the channels API does
    /// after a change commits.
    pub async fn reconcile_or_log(&self) {
        if let Err(e) = self.reconcile().await {
            tracing::warn!(error = %e, "reconciling channel pollers failed; the next round retries");
        }
    }

    /// Reconciles at once and then every `every` until the returned task is aborted.
    pub fn spawn_periodic(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                this.reconcile_or_log().await;
                tokio::time::sleep(every).await;
            }
        })
    }

    /// Stops every poller of this node (at shutdown).
    pub async fn shutdown(&self) {
        let mut running = self.inner.running.lock().await;
        for (_, r) in running.drain() {
            r.poller.shutdown().await;
        }
    }
}

/// What a poller was started from: a change to any of it means a restart.
fn fingerprint(channel: &Channel) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    channel.settings.to_string().hash(&mut hasher);
    channel.secret_refs.to_string().hash(&mut hasher);
    hasher.finish()
}
