//! What an email channel's record says, typed: the SMTP relay and its TLS mode, the sending
//! address, optional DKIM, and which environment variables hold its secrets. Parsed from the
//! channel's `settings` / `secret_refs` JSON (the same shape `channels/email.toml` has); the
//! secrets themselves are read from the environment only when a transport is built.

use serde::Deserialize;

use super::EmailError;
use crate::config::Sensitive;

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text (local relays and tests only).
    None,
    /// Plain connect, then `STARTTLS` (required; port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

impl SmtpTls {
    /// The port conventionally used with this mode.
    pub fn default_port(self) -> u16 {
        match self {
            Self::None => 25,
            Self::Starttls => 587,
            Self::Tls => 465,
        }
    }
}

/// The non-secret settings of an email channel.
#[derive(Debug, Clone, Deserialize)]
pub struct EmailSettings {
    /// The address mail is sent from; its domain names our Message-IDs.
    pub from_address: String,
    /// Display name on `From`.
    #[serde(default)]
    pub from_name: Option<String>,
    /// SMTP relay host.
    pub smtp_host: String,
    /// SMTP port (defaults by TLS mode).
    #[serde(default)]
    pub smtp_port: Option<u16>,
    /// `none`, `starttls` or `tls`.
    #[serde(default)]
    pub smtp_tls: SmtpTls,
    /// Pooled connections kept open to the relay.
    #[serde(default = "default_pool_size")]
    pub smtp_pool_size: u32,
    /// Seconds an SMTP command may take.
    #[serde(default = "default_timeout")]
    pub smtp_timeout_secs: u64,
    /// DKIM selector; signing is on when this and `secrets.dkim_private_key` are set.
    #[serde(default)]
    pub dkim_selector: Option<String>,
    /// DKIM signing domain (defaults to the from address's domain).
    #[serde(default)]
    pub dkim_domain: Option<String>,
    /// Subject of a first message that has none of its own.
    #[serde(default)]
    pub default_subject: Option<String>,
}

fn default_pool_size() -> u32 {
    4
}

fn default_timeout() -> u64 {
    30
}

/// Environment variable names of an email channel's secrets.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EmailSecretRefs {
    /// SMTP user name.
    #[serde(default)]
    pub smtp_username: Option<String>,
    /// SMTP password.
    #[serde(default)]
    pub smtp_password: Option<String>,
    /// DKIM private key (PKCS#1 PEM for RSA).
    #[serde(default)]
    pub dkim_private_key: Option<String>,
    /// HMAC key signing requests to `/webhooks/email/inbound` for this channel.
    #[serde(default)]
    pub inbound_secret: Option<String>,
    /// IMAP user name (the poller runs when `imap_host` is set).
    #[serde(default)]
    pub imap_username: Option<String>,
    /// IMAP password.
    #[serde(default)]
    pub imap_password: Option<String>,
}

impl EmailSettings {
    /// Parses a channel record's settings.
    pub fn from_json(settings: &serde_json::Value) -> Result<Self, EmailError> {
        let parsed: Self = serde_json::from_value(settings.clone())
            .map_err(|e| EmailError::Settings(e.to_string()))?;
        if parsed.domain().is_none() {
            return Err(EmailError::Settings(
                "from_address must be an address with a domain".into(),
            ));
        }
        Ok(parsed)
    }

    /// The port to connect to.
    pub fn port(&self) -> u16 {
        self.smtp_port
            .unwrap_or_else(|| self.smtp_tls.default_port())
    }

    /// The sending domain (right of the `@` of `from_address`).
    pub fn domain(&self) -> Option<&str> {
        self.from_address
            .rsplit_once('@')
            .map(|(_, d)| d.trim())
            .filter(|d| !d.is_empty())
    }
}

impl EmailSecretRefs {
    /// Parses a channel record's secret references.
    pub fn from_json(refs: &serde_json::Value) -> Result<Self, EmailError> {
        if refs.is_null() {
            return Ok(Self::default());
        }
        serde_json::from_value(refs.clone()).map_err(|e| EmailError::Settings(e.to_string()))
    }
}

/// Reads the secret held by the environment variable `name` refers to.
pub fn read_secret(name: &Option<String>) -> Result<Option<Sensitive<String>>, EmailError> {
    match name {
        None => Ok(None),
        Some(var) => match std::env::var(var) {
            Ok(value) if !value.is_empty() => Ok(Some(Sensitive::new(value))),
            _ => Err(EmailError::MissingSecret(var.clone())),
        },
    }
}
