//! The inbox event stream. Whatever changes a chat appends an event to the `events` table in the
//! same transaction (its per-organisation `seq` is the client's cursor); after the commit the
//! [`EventPublisher`] announces it on Redis pub/sub, and every node's [`InboxHub`] hands it to
//! the WebSocket sessions of that organisation. Redis only carries notifications: a client that
//! missed one (a reconnect, a slow link, another node's crash) recovers it from PostgreSQL by
//! cursor, so nothing is lost and nothing is delivered twice. Ephemeral [`Signal`]s (typing,
//! presence, job progress) ride the same path without being stored.

mod events;
mod hub;
mod order;
mod publisher;
mod signals;

pub use events::{InboxEvent, PROTOCOL_VERSION};
pub use hub::{HubMessage, InboxHub, Subscription};
pub use publisher::EventPublisher;
pub use signals::{Signal, Typist};

/// The Redis channel carrying an organisation's events (without the deployment's key prefix).
pub fn channel_name(org: crate::domain::OrganizationId) -> String {
    format!("inbox:{org}")
}

/// The pattern matching every organisation's channel.
pub fn channel_name_pattern() -> &'static str {
    "inbox:*"
}
