//! The IMAP half of an email channel's settings: where inbound mail is read from and how the
//! poller waits for more. Lives in the same `settings` object as the SMTP settings; the poller
//! runs only for channels that set `imap_host`.

use serde::Deserialize;
use std::time::Duration;

use crate::channels::email::EmailError;

/// How the IMAP connection is protected.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum ImapTls {
    /// Plain text (local servers and tests only).
    None,
    /// Plain connect, then `STARTTLS` (required; port 143).
    Starttls,
    /// TLS from the first byte (port 993).
    #[default]
    Tls,
}

impl ImapTls {
    /// The port conventionally used with this mode.
    pub fn default_port(self) -> u16 {
        match self {
            Self::None | Self::Starttls => 143,
            Self::Tls => 993,
        }
    }
}

/// RFC 2177 asks clients to re-issue IDLE at least every 29 minutes; stay below it.
pub const MAX_IDLE_SECS: u64 = 28 * 60;

/// Where and how an email channel reads inbound mail.
#[derive(Debug, Clone, Deserialize)]
pub struct ImapSettings {
    /// IMAP server host.
    pub imap_host: String,
    /// IMAP port (defaults by TLS mode).
    #[serde(default)]
    pub imap_port: Option<u16>,
    /// `none`, `starttls` or `tls` (the default).
    #[serde(default)]
    pub imap_tls: ImapTls,
    /// The mailbox read (default `INBOX`).
    #[serde(default = "default_mailbox")]
    pub imap_mailbox: String,
    /// Seconds an IDLE lasts before it is re-issued (at most 28 minutes).
    #[serde(default = "default_idle_secs")]
    pub imap_idle_timeout_secs: u64,
    /// Seconds between polls when the server does not offer IDLE.
    #[serde(default = "default_poll_secs")]
    pub imap_poll_interval_secs: u64,
}

fn default_mailbox() -> String {
    "INBOX".into()
}

fn default_idle_secs() -> u64 {
    10 * 60
}

fn default_poll_secs() -> u64 {
    60
}

#[derive(Deserialize)]
struct HostOnly {
    #[serde(default)]
    imap_host: Option<String>,
}

impl ImapSettings {
    /// The IMAP settings of a channel record, or `None` when it reads no mailbox.
    pub fn from_json(settings: &serde_json::Value) -> Result<Option<Self>, EmailError> {
        let host: HostOnly = serde_json::from_value(settings.clone())
            .map_err(|e| EmailError::Settings(e.to_string()))?;
        if host
            .imap_host
            .as_deref()
            .is_none_or(|h| h.trim().is_empty())
        {
            return Ok(None);
        }
        let parsed: Self = serde_json::from_value(settings.clone())
            .map_err(|e| EmailError::Settings(e.to_string()))?;
        if parsed.imap_mailbox.trim().is_empty() {
            return Err(EmailError::Settings(
                "imap_mailbox must not be empty".into(),
            ));
        }
        Ok(Some(parsed))
    }

    /// The port to connect to.
    pub fn port(&self) -> u16 {
        self.imap_port
            .unwrap_or_else(|| self.imap_tls.default_port())
    }

    /// How long one IDLE lasts before it is re-issued.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.imap_idle_timeout_secs.clamp(1, MAX_IDLE_SECS))
    }

    /// The pause between polls without IDLE.
    pub fn poll_interval(&self) -> Duration {
        Duration::from_secs(self.imap_poll_interval_secs.max(1))
    }
}

/// Checks the `imap_*` settings of an email channel (for `switchboard check` and the API);
/// returns `(field, message)` pairs.
pub fn validate(
    settings: &serde_json::Map<String, serde_json::Value>,
    has_secret: &dyn Fn(&str) -> bool,
) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    let mut problem = |field: &str, message: &str| {
        problems.push((format!("settings.{field}"), message.to_owned()));
    };
    let host = settings.get("imap_host");
    if host.is_none() {
        if let Some(key) = settings.keys().find(|k| k.starts_with("imap_")) {
            problem(key, "imap_* settings need imap_host (the mailbox's server)");
        }
        return problems;
    }
    if host
        .and_then(|h| h.as_str())
        .is_none_or(|h| h.trim().is_empty())
    {
        problem("imap_host", "imap_host must be a host name");
    }
    if let Some(port) = settings.get("imap_port")
        && !port.as_u64().is_some_and(|p| (1..=65535).contains(&p))
    {
        problem("imap_port", "imap_port must be a port number");
    }
    if let Some(tls) = settings.get("imap_tls")
        && !matches!(tls.as_str(), Some("none" | "tls" | "starttls"))
    {
        problem("imap_tls", "imap_tls must be none, tls or starttls");
    }
    if let Some(mailbox) = settings.get("imap_mailbox")
        && mailbox.as_str().is_none_or(|m| m.trim().is_empty())
    {
        problem(
            "imap_mailbox",
            "imap_mailbox must name a mailbox, e.g. INBOX",
        );
    }
    if let Some(idle) = settings.get("imap_idle_timeout_secs")
        && !idle
            .as_u64()
            .is_some_and(|t| (1..=MAX_IDLE_SECS).contains(&t))
    {
        problem(
            "imap_idle_timeout_secs",
            "imap_idle_timeout_secs must be 1 to 1680 seconds (IDLE is re-issued before 29 minutes)",
        );
    }
    if let Some(poll) = settings.get("imap_poll_interval_secs")
        && poll.as_u64().is_none_or(|t| t < 1)
    {
        problem(
            "imap_poll_interval_secs",
            "imap_poll_interval_secs must be at least 1 second",
        );
    }
    for secret in ["imap_username", "imap_password"] {
        if !has_secret(secret) {
            problems.push((
                format!("secrets.{secret}"),
                format!("a channel with imap_host needs {secret}'s environment variable"),
            ));
        }
    }
    problems
}
