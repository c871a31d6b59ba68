//! `InboundMessage`: the one normalised shape in which every message enters Switchboard, whether
//! it came from Telegram, email or an operator's web inbox. Channel edges build it; ingest
//! persists it; nothing else reads raw channel payloads.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ChannelId, ContactId};

/// A message from a contact, as a channel received it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InboundMessage {
    /// The channel it arrived on (which also says the organisation).
    pub channel_id: ChannelId,
    /// The channel's conversation id (Telegram chat id, email thread root, ...).
    pub external_thread_id: String,
    /// The channel's message id; the dedupe key, so a redelivery is absorbed.
    pub external_message_id: String,
    /// Who sent it.
    pub sender: InboundSender,
    /// The text (for email: what the agent should see, quotes and signature stripped).
    pub text: String,
    /// Attachments, as metadata only.
    #[serde(default)]
    pub attachments: Vec<AttachmentMeta>,
    /// The channel's id of the message this one replies to.
    pub reply_to_external_id: Option<String>,
    /// When the channel received it.
    pub received_at: DateTime<Utc>,
    /// Channel-specific extras kept with the message.
    #[serde(default)]
    pub metadata: serde_json::Value,
}

/// What a channel knows about the sender; ingest matches or creates the contact from it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct InboundSender {
    /// A contact already known (the web inbox knows whom it talks to).
    pub contact_id: Option<ContactId>,
    /// Display name.
    pub name: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Telegram user id.
    pub telegram_user_id: Option<i64>,
    /// Telegram @username.
    pub telegram_username: Option<String>,
    /// Phone.
    pub phone: Option<String>,
}

/// An attachment, recorded but not downloaded.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AttachmentMeta {
    /// `photo`, `document`, `audio`, ...
    pub kind: String,
    /// File name, when known.
    pub file_name: Option<String>,
    /// MIME type, when known.
    pub mime_type: Option<String>,
    /// Size in bytes, when known.
    pub size: Option<i64>,
    /// The channel's handle to fetch it later.
    pub external_ref: Option<String>,
}

/// Metadata key an edge sets to `true` on a message that must be stored but must not start an
/// agent turn (an email auto-reply, for example). Carried in `metadata` so the many places that
/// build an `InboundMessage` stay unchanged.
pub const NO_TURN_METADATA_KEY: &str = "no_turn";

/// Whether a stored message's metadata lets it start an agent turn.
pub fn triggers_turn(metadata: &serde_json::Value) -> bool {
    metadata.get(NO_TURN_METADATA_KEY) != Some(&serde_json::Value::Bool(true))
}
