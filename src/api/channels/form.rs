//! Channel request bodies and their checks. Settings are checked by the same function that
//! checks `channels/*.toml`, so a channel valid in a file is valid through the API and back.

use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use validator::{Validate, ValidationError};

use crate::domain::ChannelKind;

/// Largest settings or secret_refs object, serialised.
pub const MAX_SETTINGS_BYTES: usize = 16 * 1024;

/// `POST /channels`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateChannel {
    /// Unique name in the organisation.
    #[validate(length(min = 1, max = 200), custom(function = "not_blank"))]
    pub name: String,
    /// `telegram`, `email` or `web`; cannot change later.
    pub kind: ChannelKind,
    /// Non-secret settings, e.g. `{"from_address": "...", "smtp_host": "..."}` for email.
    #[serde(default = "empty_object")]
    #[schema(value_type = Object)]
    pub settings: Value,
    /// Secret name → environment variable NAME, e.g. `{"bot_token": "TELEGRAM_BOT_TOKEN"}`.
    #[serde(default = "empty_object")]
    #[schema(value_type = Object)]
    pub secret_refs: Value,
    /// Whether it runs (default true).
    #[serde(default = "yes")]
    pub active: bool,
}

/// `PATCH /channels/{id}`: absent fields stay; `settings` and `secret_refs` replace the objects.
#[derive(Debug, Clone, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateChannel {
    /// Name.
    #[validate(length(min = 1, max = 200), custom(function = "not_blank"))]
    pub name: Option<String>,
    /// Accepted only when equal to the current kind (the kind is fixed at creation).
    pub kind: Option<ChannelKind>,
    /// Settings (replaces the object).
    #[schema(value_type = Option<Object>)]
    pub settings: Option<Value>,
    /// Secret references (replaces the object).
    #[schema(value_type = Option<Object>)]
    pub secret_refs: Option<Value>,
    /// Whether it runs.
    pub active: Option<bool>,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

fn yes() -> bool {
    true
}

fn not_blank(name: &str) -> Result<(), ValidationError> {
    if name.trim().is_empty() {
        Err(ValidationError::new("blank").with_message("must not be blank".into()))
    } else {
        Ok(())
    }
}

/// Every problem of a channel's settings and secret references as `(field, message)` pairs:
/// both must be JSON objects of bounded size, then the kind's own rules apply.
pub fn check_settings(
    kind: ChannelKind,
    settings: &Value,
    secret_refs: &Value,
) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    for (field, value) in [("settings", settings), ("secret_refs", secret_refs)] {
        if !value.is_object() {
            problems.push((field.to_owned(), "must be a JSON object".to_owned()));
        } else if value.to_string().len() > MAX_SETTINGS_BYTES {
            problems.push((field.to_owned(), "at most 16 KiB".to_owned()));
        }
    }
    if !problems.is_empty() {
        return problems;
    }
    crate::channels::validate_settings(kind, settings, secret_refs)
        .into_iter()
        // The checker speaks of the file's `secrets` table; the API field is `secret_refs`.
        .map(|(field, message)| match field.strip_prefix("secrets.") {
            Some(name) => (
                format!("secret_refs.{name}"),
                message.replace("secrets.", "secret_refs."),
            ),
            None => (field, message.replace("secrets.", "secret_refs.")),
        })
        .collect()
}
