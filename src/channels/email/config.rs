//! `[email]` configuration: node-wide settings of the email edge (per-channel settings live in
//! the channel records). Environment: `SWITCHBOARD_EMAIL__<KEY>`.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

use crate::config::Sensitive;

/// Node-wide email settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct EmailConfig {
    /// `SWITCHBOARD_EMAIL__UNSUBSCRIBE_SECRET`: the HMAC key of one-click unsubscribe tokens
    /// (at least 32 bytes). When unset, a key is derived from the JWT secret, so tokens stay
    /// valid as long as that secret does.
    pub unsubscribe_secret: Sensitive<String>,
    /// Largest raw MIME message `/webhooks/email/inbound` accepts, in bytes; larger bodies are
    /// refused before they are parsed.
    pub inbound_max_bytes: usize,
    /// How far a signed webhook's timestamp may be from our clock, in seconds.
    pub inbound_max_skew_secs: i64,
    /// Where refused inbound messages (malformed, oversized) are kept for inspection.
    pub rejected_dir: PathBuf,
}

impl Default for EmailConfig {
    fn default() -> Self {
        Self {
            unsubscribe_secret: Sensitive::default(),
            inbound_max_bytes: 10 * 1024 * 1024,
            inbound_max_skew_secs: 300,
            rejected_dir: PathBuf::from("var/rejected-email"),
        }
    }
}
