//! The boundary between the outbox dispatcher and the outside world: channels (Telegram, email,
//! the web inbox) and other deliverers implement `OutboundSender` and register it for an outbox
//! `kind`; the dispatcher only knows this trait and what its outcome means for the row.

use futures_util::future::BoxFuture;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::db::models::OutboxEntry;

/// What a successful delivery tells the dispatcher.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivery {
    /// The channel's own id for what it accepted (Telegram message id, email Message-ID);
    /// stored on the message so later receipts and replies can be matched to it.
    pub external_id: Option<String>,
}

/// Why a delivery did not happen, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth retrying (timeout, connection refused, rate limited, 4xx SMTP): the row is retried
    /// after exponential backoff, or exactly after `retry_after` when the channel named a time
    /// (Telegram's 429 `retry_after`).
    #[error("transient: {reason}")]
    Transient {
        /// What went wrong, kept on the row as `last_error` (no message bodies, no secrets).
        reason: String,
        /// The channel's own "come back after".
        retry_after: Option<Duration>,
    },
    /// Retrying cannot help (bot blocked by the user, address rejected, 5xx SMTP, bad payload):
    /// the row is dead-lettered at once and its message marked failed.
    #[error("permanent: {reason}")]
    Permanent {
        /// What went wrong, kept on the row as `last_error`.
        reason: String,
    },
}

impl SendError {
    /// A transient failure with no advice on when to retry.
    pub fn transient(reason: impl Into<String>) -> Self {
        Self::Transient {
            reason: reason.into(),
            retry_after: None,
        }
    }

    /// A failure that retrying cannot fix.
    pub fn permanent(reason: impl Into<String>) -> Self {
        Self::Permanent {
            reason: reason.into(),
        }
    }

    /// The human-readable reason, without the transient/permanent prefix.
    pub fn reason(&self) -> &str {
        match self {
            Self::Transient { reason, .. } | Self::Permanent { reason } => reason,
        }
    }
}

/// Delivers one kind of outbox work. Called by the dispatcher with a claimed row; must not
/// touch the row's status itself. Delivery is at least once: a node that dies after the send
/// but before recording it leaves the row to be sent again when its lease expires, so senders
/// should pass the row's `idempotency_key` to channels that can deduplicate.
pub trait OutboundSender: Send + Sync {
    /// Delivers `entry` (its payload says what and where; a `message.send` payload names
    /// `message_id`, `chat_id` and `channel_id`).
    fn send<'a>(&'a self, entry: &'a OutboxEntry) -> BoxFuture<'a, Result<Delivery, SendError>>;
}

/// Which sender handles which outbox `kind`; built at start-up, then read-only.
#[derive(Clone, Default)]
pub struct SenderRegistry {
    senders: HashMap<String, Arc<dyn OutboundSender>>,
}

impl SenderRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `sender` for `kind`, replacing any earlier one (builder style).
    pub fn with(mut self, kind: impl Into<String>, sender: Arc<dyn OutboundSender>) -> Self {
        self.register(kind, sender);
        self
    }

    /// Registers `sender` for `kind`, replacing any earlier one.
    pub fn register(&mut self, kind: impl Into<String>, sender: Arc<dyn OutboundSender>) {
        self.senders.insert(kind.into(), sender);
    }

    /// The sender for `kind`.
    pub fn get(&self, kind: &str) -> Option<&Arc<dyn OutboundSender>> {
        self.senders.get(kind)
    }

    /// Every registered kind, sorted: the dispatcher claims only these, so a node leaves kinds it
    /// cannot deliver to nodes that can.
    pub fn kinds(&self) -> Vec<String> {
        let mut kinds: Vec<String> = self.senders.keys().cloned().collect();
        kinds.sort();
        kinds
    }
}

impl std::fmt::Debug for SenderRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SenderRegistry")
            .field("kinds", &self.kinds())
            .finish()
    }
}
