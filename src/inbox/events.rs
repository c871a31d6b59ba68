//! The wire form of an inbox event: the stored event plus a protocol version.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::db::models::Event;
use crate::domain::{ChatId, OrganizationId};

/// Version of the event and command frames; bumped on incompatible change.
pub const PROTOCOL_VERSION: u32 = 1;

/// One event as clients (and other nodes) see it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InboxEvent {
    /// Protocol version.
    pub v: u32,
    /// `message.created`, `chat.updated`, `draft.created`, ...
    #[serde(rename = "type")]
    pub event_type: String,
    /// The organisation's cursor after this event; resume from the last one seen.
    pub seq: i64,
    /// The chat concerned, if any.
    pub chat_id: Option<ChatId>,
    /// The event's data.
    pub data: serde_json::Value,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Routing only; not sent to clients.
    #[serde(skip_serializing, default)]
    pub organization_id: Option<OrganizationId>,
}

impl From<&Event> for InboxEvent {
    fn from(event: &Event) -> Self {
        Self {
            v: PROTOCOL_VERSION,
            event_type: event.event_type.clone(),
            seq: event.seq,
            chat_id: event.chat_id,
            data: event.payload.clone(),
            at: event.created_at,
            organization_id: Some(event.organization_id),
        }
    }
}

/// What travels on Redis: the event and its organisation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Envelope {
    /// The node that published it (it delivered locally already and skips its own echo).
    pub node: uuid::Uuid,
    pub organization_id: OrganizationId,
    pub event: InboxEvent,
}
