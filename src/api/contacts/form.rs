//! Contact request bodies and their checks, shared by create, update and CSV import.

use serde::Deserialize;
use utoipa::ToSchema;
use validator::{Validate, ValidationError};

use crate::api::extract::double_option;
use crate::domain::CompanyId;

/// Tags a contact may carry.
pub const MAX_TAGS: usize = 50;

/// `POST /contacts`.
#[derive(Debug, Clone, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[validate(schema(function = "identifiable"))]
pub struct CreateContact {
    /// Full name.
    #[validate(length(max = 300))]
    #[serde(default)]
    pub name: String,
    /// Email; unique per organisation.
    #[validate(email(message = "must be an email address"), length(max = 320))]
    pub email: Option<String>,
    /// Phone.
    #[validate(length(min = 3, max = 50))]
    pub phone: Option<String>,
    /// Telegram user id.
    pub telegram_user_id: Option<i64>,
    /// Telegram chat id.
    pub telegram_chat_id: Option<i64>,
    /// Telegram @username.
    #[validate(length(min = 1, max = 64))]
    pub telegram_username: Option<String>,
    /// Job title.
    #[validate(length(max = 200))]
    pub title: Option<String>,
    /// Their company (must belong to your organisation).
    pub company_id: Option<CompanyId>,
    /// Tags.
    #[serde(default)]
    #[validate(length(max = 50), custom(function = "valid_tags"))]
    pub tags: Vec<String>,
    /// Custom attributes (a JSON object).
    #[schema(value_type = Option<Object>)]
    #[validate(custom(function = "valid_attributes"))]
    pub attributes: Option<serde_json::Value>,
    /// IANA time zone, e.g. `Europe/Berlin`.
    #[validate(custom(function = "valid_timezone"))]
    pub timezone: Option<String>,
    /// Where the contact came from.
    #[validate(length(max = 100))]
    pub source: Option<String>,
}

/// `PATCH /contacts/{id}`: absent fields stay, `null` clears.
#[derive(Debug, Clone, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateContact {
    /// Full name.
    #[validate(length(max = 300))]
    pub name: Option<String>,
    /// Email.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    /// Phone.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    /// Telegram user id.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub telegram_user_id: Option<Option<i64>>,
    /// Telegram chat id.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub telegram_chat_id: Option<Option<i64>>,
    /// Telegram username.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub telegram_username: Option<Option<String>>,
    /// Title.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub title: Option<Option<String>>,
    /// Company.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub company_id: Option<Option<CompanyId>>,
    /// Tags (replaces the list).
    #[validate(length(max = 50), custom(function = "valid_tags"))]
    pub tags: Option<Vec<String>>,
    /// Attributes (replaces the object).
    #[schema(value_type = Option<Object>)]
    #[validate(custom(function = "valid_attributes"))]
    pub attributes: Option<serde_json::Value>,
    /// Time zone.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub timezone: Option<Option<String>>,
    /// Source.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub source: Option<Option<String>>,
    /// `true` marks the contact unsubscribed now; `false` clears it.
    pub unsubscribed: Option<bool>,
}

impl UpdateContact {
    /// Checks what field attributes cannot (inner values of clearable fields).
    pub fn validate_all(&self) -> Result<(), validator::ValidationErrors> {
        let mut errors = match self.validate() {
            Ok(()) => validator::ValidationErrors::new(),
            Err(errors) => errors,
        };
        if let Some(Some(email)) = &self.email
            && !validator::ValidateEmail::validate_email(email)
        {
            errors.add("email", message("email", "must be an email address"));
        }
        if let Some(Some(tz)) = &self.timezone
            && let Err(e) = valid_timezone(tz)
        {
            errors.add("timezone", e);
        }
        if matches!(&self.name, Some(n) if n.trim().is_empty()) && matches!(&self.email, Some(None))
        {
            errors.add(
                "name",
                message("identity", "a contact needs a name or an email"),
            );
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

fn message(code: &'static str, text: &'static str) -> ValidationError {
    ValidationError::new(code).with_message(text.into())
}

fn identifiable(form: &CreateContact) -> Result<(), ValidationError> {
    let has_identity = !form.name.trim().is_empty()
        || form.email.is_some()
        || form.phone.is_some()
        || form.telegram_user_id.is_some()
        || form.telegram_username.is_some();
    if has_identity {
        Ok(())
    } else {
        Err(message(
            "identity",
            "a contact needs a name, email, phone or Telegram id",
        ))
    }
}

fn valid_tags(tags: &[String]) -> Result<(), ValidationError> {
    if tags.len() > MAX_TAGS {
        return Err(message("tags", "at most 50 tags"));
    }
    if tags.iter().any(|t| t.trim().is_empty() || t.len() > 64) {
        return Err(message("tags", "each tag is 1 to 64 characters"));
    }
    Ok(())
}

fn valid_attributes(value: &serde_json::Value) -> Result<(), ValidationError> {
    if !value.is_object() {
        return Err(message("attributes", "must be a JSON object"));
    }
    if value.to_string().len() > 16 * 1024 {
        return Err(message("attributes", "at most 16 KiB"));
    }
    Ok(())
}

/// A time zone name as IANA spells them (`Area/City`, `UTC`); checked by shape, not a database.
pub fn valid_timezone(tz: &str) -> Result<(), ValidationError> {
    let shaped = tz == "UTC"
        || (tz.len() <= 64
            && tz.contains('/')
            && tz.split('/').all(|part| {
                !part.is_empty()
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"_-+".contains(&b))
            }));
    if shaped {
        Ok(())
    } else {
        Err(message(
            "timezone",
            "must be an IANA time zone such as Europe/Berlin",
        ))
    }
}

/// Normalises tags: trimmed, deduplicated, order kept.
pub fn normalise_tags(tags: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    tags.into_iter()
        .map(|t| t.trim().to_owned())
        .filter(|t| seen.insert(t.clone()))
        .collect()
}
