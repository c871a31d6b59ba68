//! The wire form of an inbox event: the stored event plus a protocol version.

use bytestring::ByteString;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

use super::Signal;
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
    /// The client frame, serialised once however many sessions receive it.
    #[serde(skip)]
    wire: OnceLock<ByteString>,
}

impl InboxEvent {
    /// The event as a client frame (JSON text); computed on first use, then shared, so fanning
    /// an event out to many sessions costs one serialisation.
    pub fn wire(&self) -> ByteString {
        self.wire
            .get_or_init(|| ByteString::from(serde_json::to_string(self).unwrap_or_default()))
            .clone()
    }
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
            wire: OnceLock::new(),
        }
    }
}

/// What travels on Redis: an event or a signal, and its organisation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Envelope {
    /// The node that published it (it delivered locally already and skips its own echo).
    pub node: uuid::Uuid,
    pub organization_id: OrganizationId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<InboxEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<Signal>,
}
