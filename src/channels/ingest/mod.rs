//! Durable ingest: the only way a message enters Switchboard. Channel edges call
//! [`Ingestor::ingest`]; the message is committed to PostgreSQL before the call returns, so a
//! sender is acknowledged only for what is durable. Concurrent calls are group-committed: one
//! transaction (one fsync) per batch of up to `max_batch` messages gathered for at most `linger`,
//! while each caller still gets its own answer; `workers` batches are written at once. After the
//! commit, listeners (the chat actors' router, the inbox event publisher) are told, in arrival
//! order.

mod batch;
mod bulk;
mod persist;
mod write;

pub use persist::{ChannelOwner, IngestOutcome};

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

use crate::db::DbPool;
use crate::domain::InboundMessage;

/// Why a message could not be ingested.
#[derive(Debug, Clone, thiserror::Error)]
pub enum IngestError {
    /// The channel does not exist.
    #[error("unknown channel")]
    UnknownChannel,
    /// The channel is switched off.
    #[error("the channel is not active")]
    InactiveChannel,
    /// The message is unusable (empty, too long, ...).
    #[error("invalid message: {0}")]
    Invalid(String),
    /// The ingest queue is full: the caller should retry later (HTTP 429 / a WS error frame).
    #[error("ingest is saturated; retry shortly")]
    Saturated,
    /// The database failed; nothing was stored.
    #[error("storing the message failed: {0}")]
    Database(String),
    /// The ingest worker has stopped (shutdown).
    #[error("ingest is shutting down")]
    Stopped,
}

/// Told about every committed, non-duplicate message (after the commit, never before).
pub trait IngestListener: Send + Sync + 'static {
    /// Called once per stored message, in commit order within a batch.
    fn committed(&self, outcome: &IngestOutcome);
}

/// Group-commit settings.
#[derive(Debug, Clone, Copy)]
pub struct IngestConfig {
    /// Most messages per transaction.
    pub max_batch: usize,
    /// Longest a message waits for companions before its batch commits.
    pub linger: Duration,
    /// Messages waiting beyond which callers get `Saturated`.
    pub queue_capacity: usize,
    /// Longest accepted text, in characters.
    pub max_text_chars: usize,
    /// Batches written at once: while one commits (and waits for its fsync), the next is
    /// gathered and written by another worker on its own connection. Answers still go out in
    /// arrival order (see `batch.rs`).
    pub workers: usize,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            max_batch: 256,
            linger: Duration::from_millis(2),
            queue_capacity: 8192,
            max_text_chars: 32_000,
            workers: 2,
        }
    }
}

type Reply = oneshot::Sender<Result<IngestOutcome, IngestError>>;

/// A cloneable handle to the ingest worker.
#[derive(Clone)]
pub struct Ingestor {
    queue: mpsc::Sender<(InboundMessage, Reply)>,
    max_text_chars: usize,
}

impl Ingestor {
    /// Starts the worker on the current Tokio runtime.
    pub fn start(
        pool: DbPool,
        config: IngestConfig,
        listeners: Vec<Arc<dyn IngestListener>>,
    ) -> Self {
        let (queue, receiver) = mpsc::channel(config.queue_capacity);
        tokio::spawn(batch::run(pool, config, receiver, listeners));
        Self {
            queue,
            max_text_chars: config.max_text_chars,
        }
    }

    /// Stores a message; returns once it is committed (or found to be a duplicate).
    pub async fn ingest(&self, message: InboundMessage) -> Result<IngestOutcome, IngestError> {
        if message.text.trim().is_empty() && message.attachments.is_empty() {
            return Err(IngestError::Invalid(
                "a message needs text or an attachment".into(),
            ));
        }
        if message.text.chars().count() > self.max_text_chars {
            return Err(IngestError::Invalid(format!(
                "text is longer than {} characters",
                self.max_text_chars
            )));
        }
        if message.external_message_id.is_empty() || message.external_thread_id.is_empty() {
            return Err(IngestError::Invalid(
                "external message and thread ids are required".into(),
            ));
        }
        let (reply, answer) = oneshot::channel();
        self.queue.try_send((message, reply)).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => IngestError::Saturated,
            mpsc::error::TrySendError::Closed(_) => IngestError::Stopped,
        })?;
        answer.await.map_err(|_| IngestError::Stopped)?
    }
}
