//! The email edge: SMTP out (lettre, pooled, TLS per channel, optional DKIM), RFC 8058
//! one-click unsubscribe, and inbound mail (a signed webhook taking raw MIME, or a mailbox
//! read over IMAP) normalised into `InboundMessage`. Like every edge it holds no business
//! logic: the outbox hands it a queued message to send, and what arrives goes through the one
//! ingest path.
//!
//! - `settings`: an email channel's record, typed.
//! - `compose`: one message → RFC 5322 bytes (Message-ID, threading, unsubscribe, DKIM).
//! - `outbound`: the `OutboundSender` for email channels (suppression, SMTP result mapping).
//! - `unsubscribe`: signed, stateless one-click unsubscribe tokens (the `/unsubscribe/{token}`
//!   endpoints are not served yet).
//! - `inbound`: `POST /webhooks/email/inbound` (signature, replay, size cap, MIME parsing,
//!   threading, quote stripping, DSNs, auto-replies, rejects kept aside): the one pipeline
//!   every inbound mail goes through (`inbound::accept_mail`).
//! - `imap`: the IMAP poller reading a channel's mailbox (IDLE, UID committed after ingest).

pub mod compose;
pub mod config;
pub mod imap;
pub mod inbound;
pub mod outbound;
pub mod settings;
pub mod unsubscribe;
pub mod unsubscribe_http;

pub use config::EmailConfig;
pub use outbound::EmailSender;
pub use unsubscribe::UnsubscribeSigner;

/// What can go wrong on the email edge (mapped to a `SendError` or an HTTP answer once).
#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    /// The channel's settings are unusable.
    #[error("email channel settings: {0}")]
    Settings(String),
    /// An environment variable a channel names is not set.
    #[error("environment variable {0} is not set")]
    MissingSecret(String),
    /// The email could not be built.
    #[error("composing the email: {0}")]
    Compose(String),
    /// An address is not a valid mailbox.
    #[error("invalid address: {0}")]
    Address(String),
}
