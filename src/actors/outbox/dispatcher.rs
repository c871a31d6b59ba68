//! The dispatcher task: claim a round of due rows, send each through its registered sender,
//! settle each row (and, for `message.send`, its message) in one transaction, repeat while there
//! is work, then wait for a poll tick, a wake-up or the stop signal.

use diesel_async::AsyncConnection;
use diesel_async::pooled_connection::deadpool::PoolError;
use futures_util::StreamExt;
use serde::Deserialize;
use std::sync::Arc;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use super::{OutboxConfig, SendError, SenderRegistry, backoff};
use crate::db::DbPool;
use crate::db::models::{MESSAGE_SEND, Message, OutboxEntry};
use crate::domain::MessageId;

/// Why a round could not run; the task logs it and tries again on the next tick.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    /// No database connection.
    #[error("database pool: {0}")]
    Pool(#[from] PoolError),
    /// A query failed.
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
}

/// Wakes a node's dispatcher at once, e.g. right after committing an outbox row, instead of
/// leaving the row to the next poll. Cheap to clone; waking an idle or busy dispatcher is
/// harmless (a busy one runs another round when it is done).
#[derive(Clone, Debug, Default)]
pub struct OutboxWaker(Arc<Notify>);

impl OutboxWaker {
    /// Asks for a round now.
    pub fn notify(&self) {
        self.0.notify_one();
    }
}

/// A running dispatcher. Dropping it stops the task after its current round, like `shutdown`
/// without waiting.
#[derive(Debug)]
pub struct OutboxHandle {
    waker: OutboxWaker,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl OutboxHandle {
    /// A waker to hand to whoever enqueues work.
    pub fn waker(&self) -> OutboxWaker {
        self.waker.clone()
    }

    /// Asks for a round now.
    pub fn notify(&self) {
        self.waker.notify();
    }

    /// Stops taking new rounds and waits until the round in flight (its sends and their
    /// settling) has finished, so no claimed row is abandoned mid-send.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "outbox dispatcher task ended abnormally");
        }
    }
}

/// What a `message.send` payload must name for the dispatcher to update the message.
#[derive(Deserialize)]
struct MessageSendPayload {
    message_id: MessageId,
}

/// A node's outbox dispatcher (see the module docs of `actors::outbox`).
pub struct OutboxDispatcher {
    pool: DbPool,
    senders: SenderRegistry,
    kinds: Vec<String>,
    config: OutboxConfig,
}

impl OutboxDispatcher {
    /// A dispatcher delivering the kinds `senders` knows, drawing connections from `pool`.
    pub fn new(pool: DbPool, senders: SenderRegistry, config: OutboxConfig) -> Self {
        let kinds = senders.kinds();
        Self {
            pool,
            senders,
            kinds,
            config,
        }
    }

    /// Starts the background task on the current tokio runtime.
    pub fn spawn(self) -> OutboxHandle {
        let waker = OutboxWaker::default();
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(self.run(waker.clone(), stopped));
        OutboxHandle { waker, stop, task }
    }

    async fn run(self, waker: OutboxWaker, mut stopped: watch::Receiver<bool>) {
        tracing::info!(kinds = ?self.kinds, "outbox dispatcher started");
        while !*stopped.borrow() {
            let claimed = match self.run_round().await {
                Ok(claimed) => claimed,
                Err(e) => {
                    tracing::error!(error = %e, "outbox round failed");
                    0
                }
            };
            // A full or partial round may have unblocked the next rows of the same chats.
            if claimed > 0 {
                continue;
            }
            tokio::select! {
                () = waker.0.notified() => {}
                () = tokio::time::sleep(self.config.poll_interval) => {}
                changed = stopped.changed() => {
                    if changed.is_err() {
                        break; // the handle was dropped
                    }
                }
            }
        }
        tracing::info!("outbox dispatcher stopped");
    }

    /// Claims one batch of due rows and settles every one of them; returns how many it claimed.
    /// The task calls it in a loop; tests call it directly to step the dispatcher.
    pub async fn run_round(&self) -> Result<usize, DispatchError> {
        if self.kinds.is_empty() {
            return Ok(0);
        }
        let claimed = {
            let mut conn = self.pool.get().await?;
            OutboxEntry::claim_due(
                &mut conn,
                &self.kinds,
                i64::from(self.config.batch_size),
                self.config.lease,
            )
            .await?
        };
        let count = claimed.len();
        futures_util::stream::iter(claimed)
            .for_each_concurrent(self.config.concurrency.max(1), |entry| async move {
                if let Err(e) = self.deliver(&entry).await {
                    // The row stays claimed; its lease expiring brings it back.
                    tracing::error!(outbox.id = %entry.id, outbox.kind = %entry.kind, error = %e,
                        "could not record an outbox outcome");
                }
            })
            .await;
        Ok(count)
    }

    /// Sends one claimed row and records the outcome.
    async fn deliver(&self, entry: &OutboxEntry) -> Result<(), DispatchError> {
        let Some(sender) = self.senders.get(&entry.kind) else {
            // Only registered kinds are claimed, so this is a registry changed under us:
            // hand the row back without counting the attempt.
            let mut conn = self.pool.get().await?;
            entry.release(&mut conn, self.config.poll_interval).await?;
            return Ok(());
        };
        let budget = self.config.lease / 2;
        let outcome = match tokio::time::timeout(budget, sender.send(entry)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(SendError::transient(format!(
                "send did not finish within {budget:?}"
            ))),
        };
        let mut conn = self.pool.get().await?;
        let kind = entry.kind.clone();
        match outcome {
            Ok(delivery) => {
                let recorded = conn
                    .transaction::<_, DispatchError, _>(async |conn| {
                        if !entry.mark_sent(conn).await? {
                            return Ok(false);
                        }
                        if let Some(message) = message_of(entry) {
                            let external = delivery.external_id.as_deref();
                            Message::mark_sent(conn, entry.organization_id, message, external)
                                .await?;
                        }
                        Ok(true)
                    })
                    .await?;
                if recorded {
                    metrics::counter!("outbox_sent_total", "kind" => kind).increment(1);
                    tracing::debug!(outbox.id = %entry.id, outbox.kind = %entry.kind, "outbox row sent");
                } else {
                    lost_claim(entry);
                }
            }
            Err(SendError::Transient {
                reason,
                retry_after,
            }) if entry.attempts < attempts_limit(&self.config) => {
                let delay = retry_after.unwrap_or_else(|| {
                    let attempt = u32::try_from(entry.attempts).unwrap_or(1);
                    backoff(
                        attempt,
                        self.config.base_backoff,
                        self.config.max_backoff,
                        rand::random::<f64>(),
                    )
                });
                if entry.reschedule(&mut conn, delay, &reason).await? {
                    metrics::counter!("outbox_retried_total", "kind" => kind).increment(1);
                    tracing::warn!(outbox.id = %entry.id, outbox.kind = %entry.kind,
                        outbox.attempts = entry.attempts, retry_in = ?delay, reason = %reason,
                        "outbox send failed; will retry");
                } else {
                    lost_claim(entry);
                }
            }
            Err(failure) => {
                let reason = match &failure {
                    SendError::Permanent { reason } => reason.clone(),
                    SendError::Transient { reason, .. } => {
                        format!("gave up after {} attempts: {reason}", entry.attempts)
                    }
                };
                let recorded = conn
                    .transaction::<_, DispatchError, _>(async |conn| {
                        if !entry.mark_dead(conn, &reason).await? {
                            return Ok(false);
                        }
                        if let Some(message) = message_of(entry) {
                            Message::mark_failed(conn, entry.organization_id, message).await?;
                        }
                        Ok(true)
                    })
                    .await?;
                if recorded {
                    metrics::counter!("outbox_dead_total", "kind" => kind).increment(1);
                    tracing::error!(outbox.id = %entry.id, outbox.kind = %entry.kind,
                        outbox.attempts = entry.attempts, reason = %reason,
                        "outbox row dead-lettered");
                } else {
                    lost_claim(entry);
                }
            }
        }
        Ok(())
    }
}

/// `max_attempts` as the column's type (at least one attempt).
fn attempts_limit(config: &OutboxConfig) -> i32 {
    i32::try_from(config.max_attempts.max(1)).unwrap_or(i32::MAX)
}

/// The message a `message.send` row delivers; `None` for other kinds or a malformed payload
/// (logged: the row itself is still settled).
fn message_of(entry: &OutboxEntry) -> Option<MessageId> {
    if entry.kind != MESSAGE_SEND {
        return None;
    }
    match serde_json::from_value::<MessageSendPayload>(entry.payload.clone()) {
        Ok(payload) => Some(payload.message_id),
        Err(e) => {
            tracing::error!(outbox.id = %entry.id, error = %e, "message.send payload has no message_id");
            None
        }
    }
}

/// Our lease ran out and another dispatcher took the row over; its outcome stands.
fn lost_claim(entry: &OutboxEntry) {
    tracing::warn!(outbox.id = %entry.id, outbox.kind = %entry.kind,
        "outbox claim was lost before its outcome was recorded; another dispatcher owns the row");
}
