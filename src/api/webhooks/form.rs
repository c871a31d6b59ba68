//! Webhook request bodies, their checks, and the signing secret's format.

use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::{Validate, ValidationError};

use crate::api::templates::problem;
use crate::db::models::{WEBHOOK_EVENTS, Webhook};

/// Prefix of every signing secret, so a leaked one is recognisable.
pub const SECRET_PREFIX: &str = "whsec_";

/// `POST /webhooks`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// Where to POST events; `http` or `https`.
    #[validate(custom(function = "valid_url"))]
    pub url: String,
    /// What it is for.
    #[validate(length(max = 500))]
    pub description: Option<String>,
    /// Event types to deliver (at least one).
    #[validate(custom(function = "valid_events"))]
    pub events: Vec<String>,
    /// Whether to deliver (default true).
    pub active: Option<bool>,
}

/// `PATCH /webhooks/{id}`: absent fields stay.
#[derive(Debug, Clone, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhook {
    /// URL.
    #[validate(custom(function = "valid_url"))]
    pub url: Option<String>,
    /// Description.
    #[validate(length(max = 500))]
    pub description: Option<String>,
    /// Events (replaces the list).
    #[validate(custom(function = "valid_events"))]
    pub events: Option<Vec<String>>,
    /// Active.
    pub active: Option<bool>,
}

/// A webhook with its signing secret: the answer to create and rotate-secret, and the only time
/// the secret is shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookWithSecret {
    /// The webhook.
    #[serde(flatten)]
    pub webhook: Webhook,
    /// HMAC-SHA256 key for the `X-Switchboard-Signature` header; store it now, it is not shown
    /// again.
    pub secret: String,
}

/// A fresh signing secret: `whsec_` and 32 random bytes in hex.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", hex::encode(bytes))
}

/// The events, deduplicated, order kept.
pub fn normalise_events(events: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    events
        .into_iter()
        .filter(|e| seen.insert(e.clone()))
        .collect()
}

fn valid_url(url: &str) -> Result<(), ValidationError> {
    if url.len() > 2048 {
        return Err(problem("url", "at most 2048 characters"));
    }
    let parsed = reqwest::Url::parse(url).map_err(|e| problem("url", format!("not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(problem("url", "must be an http or https URL"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(problem("url", "must name a host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(problem(
            "url",
            "must not carry credentials; verify requests with the signature instead",
        ));
    }
    Ok(())
}

fn valid_events(events: &[String]) -> Result<(), ValidationError> {
    if events.is_empty() {
        return Err(problem(
            "events",
            format!(
                "subscribe to at least one of: {}",
                WEBHOOK_EVENTS.join(", ")
            ),
        ));
    }
    if let Some(unknown) = events
        .iter()
        .find(|e| !WEBHOOK_EVENTS.contains(&e.as_str()))
    {
        return Err(problem(
            "events",
            format!(
                "unknown event {unknown:?}; known events: {}",
                WEBHOOK_EVENTS.join(", ")
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_http_with_a_host() {
        assert!(valid_url("https://hooks.example.com/in?x=1").is_ok());
        assert!(valid_url("http://localhost:8080/hook").is_ok());
        assert!(valid_url("ftp://example.com").is_err());
        assert!(valid_url("javascript:alert(1)").is_err());
        assert!(valid_url("https://user:pw@example.com").is_err());
        assert!(valid_url("example.com/hook").is_err());
    }

    #[test]
    fn secrets_are_prefixed_random_hex() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert_eq!(a.len(), SECRET_PREFIX.len() + 64);
        assert!(
            a[SECRET_PREFIX.len()..]
                .bytes()
                .all(|c| c.is_ascii_hexdigit())
        );
    }
}
