//! The Telegram bot edge. Inbound, an update arrives by webhook ([`webhook`]) or long polling
//! ([`poller`]), is normalised into an `InboundMessage` ([`normalize`], a pure function) and
//! committed through the `Ingestor` ([`inbound`]) before Telegram is acknowledged. Outbound, the
//! outbox hands `message.send` rows for Telegram chats to [`sender`], which respects Telegram's
//! rate limits across nodes ([`limits`]), splits long text ([`split`]) and handles 429, blocked
//! users and chat migration. [`typing`] shows "typing…" while an agent thinks.

mod bot;
pub mod inbound;
pub mod limits;
pub mod normalize;
pub mod poller;
pub mod sender;
pub mod split;
pub mod typing;
pub mod webhook;

pub use bot::{BotSettings, PollMode, find_channel};
pub use poller::{PollOffset, TelegramPoller, TelegramPolling, spawn_poller};
pub use sender::TelegramSender;
pub use typing::TelegramTyping;

use crate::channels::ingest::IngestError;

/// Why the Telegram edge could not do something.
#[derive(Debug, thiserror::Error)]
pub enum TelegramError {
    /// No active Telegram channel with that id.
    #[error("no such Telegram channel")]
    UnknownChannel,
    /// The webhook's secret token did not match (or the channel has none configured).
    #[error("the webhook secret token does not match")]
    BadSecret,
    /// The channel's settings are unusable (names the setting, never a secret's value).
    #[error("telegram channel settings: {0}")]
    Settings(String),
    /// The update body is not a Telegram `Update`.
    #[error("not a Telegram update: {0}")]
    BadUpdate(String),
    /// Telegram (or the network to it) failed.
    #[error("telegram API: {0}")]
    Api(#[from] teloxide::RequestError),
    /// Storing failed.
    #[error("ingest: {0}")]
    Ingest(#[from] IngestError),
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
    /// No database connection.
    #[error("database pool: {0}")]
    Pool(String),
    /// Redis failed.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
}
