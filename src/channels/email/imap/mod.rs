//! Inbound mail read from a mailbox over IMAP. One task per email channel that sets
//! `imap_host` ([`poller`]) connects ([`connect`]), selects the mailbox, fetches every message
//! above the committed UID, hands each one's raw bytes to the same pipeline as the webhook
//! (`inbound::accept_mail`), and only after that commit stores the UID (`email_poll_state`).
//! Then it waits in IDLE when the server offers it (re-issued before RFC 2177's 29 minutes), or
//! polls at an interval, and reconnects with backoff on errors ([`session`]).

pub mod connect;
pub mod poller;
pub mod session;
pub mod settings;

pub use poller::{EmailPoller, EmailPolling, spawn_poller};
pub use settings::{ImapSettings, ImapTls};

use super::EmailError;
use super::inbound::AcceptError;

/// Why reading a mailbox failed (the poller logs it once and reconnects with backoff).
#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    /// The channel's settings or secrets are unusable.
    #[error("{0}")]
    Settings(#[from] EmailError),
    /// The network failed.
    #[error("network: {0}")]
    Io(#[from] std::io::Error),
    /// TLS could not be set up.
    #[error("tls: {0}")]
    Tls(String),
    /// The server refused the login (never includes the credentials).
    #[error("login refused: {0}")]
    Login(String),
    /// The server answered something we cannot use.
    #[error("imap protocol: {0}")]
    Protocol(String),
    /// An IMAP command failed.
    #[error("imap: {0}")]
    Imap(#[from] async_imap::error::Error),
    /// A step took too long.
    #[error("timed out {0}")]
    Timeout(&'static str),
    /// A message could not be committed (it will be fetched again).
    #[error("{0}")]
    Accept(#[from] AcceptError),
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
    /// No database connection.
    #[error("database pool: {0}")]
    Pool(#[from] diesel_async::pooled_connection::deadpool::PoolError),
    /// Redis failed.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
}
