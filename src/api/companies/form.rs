//! Company request bodies and their checks, shared by create and update.

use serde::Deserialize;
use utoipa::ToSchema;
use validator::{Validate, ValidationError, ValidationErrors};

use crate::api::extract::double_option;

/// `POST /companies`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCompany {
    /// Name, 1 to 300 characters.
    #[validate(custom(function = "valid_name"))]
    pub name: String,
    /// Internet domain, e.g. `example.com`.
    #[validate(custom(function = "valid_domain"))]
    pub domain: Option<String>,
    /// Industry.
    #[validate(length(min = 1, max = 200))]
    pub industry: Option<String>,
    /// Size band, e.g. `11-50`.
    #[validate(length(min = 1, max = 50))]
    pub size: Option<String>,
    /// Web site URL.
    #[validate(
        url(message = "must be a URL such as https://example.com"),
        length(max = 2000)
    )]
    pub website: Option<String>,
    /// Free-text description.
    #[validate(length(max = 10000))]
    pub description: Option<String>,
    /// Custom attributes (a JSON object).
    #[schema(value_type = Option<Object>)]
    #[validate(custom(function = "valid_attributes"))]
    pub attributes: Option<serde_json::Value>,
}

/// `PATCH /companies/{id}`: absent fields stay, `null` clears.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCompany {
    /// Name.
    pub name: Option<String>,
    /// Domain.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub domain: Option<Option<String>>,
    /// Industry.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub industry: Option<Option<String>>,
    /// Size band.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub size: Option<Option<String>>,
    /// Web site URL.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub website: Option<Option<String>>,
    /// Description.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// Attributes (replaces the object).
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<serde_json::Value>,
}

impl UpdateCompany {
    /// Checks every present field the way `CreateCompany` checks it.
    pub fn validate_all(&self) -> Result<(), ValidationErrors> {
        let as_create = CreateCompany {
            name: self.name.clone().unwrap_or_else(|| "unchanged".into()),
            domain: self.domain.clone().flatten(),
            industry: self.industry.clone().flatten(),
            size: self.size.clone().flatten(),
            website: self.website.clone().flatten(),
            description: self.description.clone().flatten(),
            attributes: self.attributes.clone(),
        };
        as_create.validate()
    }
}

fn message(code: &'static str, text: &'static str) -> ValidationError {
    ValidationError::new(code).with_message(text.into())
}

fn valid_name(name: &str) -> Result<(), ValidationError> {
    let len = name.trim().chars().count();
    if (1..=300).contains(&len) {
        Ok(())
    } else {
        Err(message("length", "must be 1 to 300 characters"))
    }
}

fn valid_domain(domain: &str) -> Result<(), ValidationError> {
    let shaped = domain.len() <= 253
        && domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if shaped {
        Ok(())
    } else {
        Err(message(
            "domain",
            "must be a domain name such as example.com (no scheme or path)",
        ))
    }
}

/// A JSON object of at most 16 KiB.
pub fn valid_attributes(value: &serde_json::Value) -> Result<(), ValidationError> {
    if !value.is_object() {
        return Err(message("attributes", "must be a JSON object"));
    }
    if value.to_string().len() > 16 * 1024 {
        return Err(message("attributes", "at most 16 KiB"));
    }
    Ok(())
}
