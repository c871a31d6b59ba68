//! Deal request bodies and their checks, shared by create and update.

use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::ToSchema;
use validator::{Validate, ValidationError, ValidationErrors};

use crate::api::error::ApiError;
use crate::api::extract::double_option;
use crate::domain::{CompanyId, ContactId, PipelineId, StageId, UserId};

/// `POST /deals`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDeal {
    /// Name, 1 to 300 characters.
    #[validate(custom(function = "valid_name"))]
    pub name: String,
    /// Pipeline; when absent, the stage's pipeline, else the organisation's default pipeline.
    pub pipeline_id: Option<PipelineId>,
    /// Stage of that pipeline; when absent, the pipeline's first stage.
    pub stage_id: Option<StageId>,
    /// The person the deal is with.
    pub contact_id: Option<ContactId>,
    /// The company the deal is with.
    pub company_id: Option<CompanyId>,
    /// The responsible member (a user of this organisation).
    pub owner_user_id: Option<UserId>,
    /// Value in the currency's minor unit (cents), 0 or more.
    #[validate(range(min = 0, message = "must be 0 or more"))]
    pub value_cents: Option<i64>,
    /// ISO 4217 code, e.g. `EUR`; default `USD`.
    #[validate(custom(function = "valid_currency"))]
    pub currency: Option<String>,
    /// Expected close date, `YYYY-MM-DD`.
    #[schema(value_type = Option<String>, format = Date)]
    #[validate(custom(function = "valid_date"))]
    pub expected_close_on: Option<String>,
    /// Notes.
    #[validate(length(max = 20000))]
    pub notes: Option<String>,
    /// Custom attributes (a JSON object).
    #[schema(value_type = Option<Object>)]
    #[validate(custom(function = "valid_attributes"))]
    pub attributes: Option<serde_json::Value>,
}

/// `PATCH /deals/{id}`: absent fields stay, `null` clears. Moving the deal is a change of
/// `stage_id`; changing `pipeline_id` alone puts it in the new pipeline's first stage.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDeal {
    /// Name.
    pub name: Option<String>,
    /// Pipeline.
    pub pipeline_id: Option<PipelineId>,
    /// Stage (of the deal's pipeline, or of the new `pipeline_id`).
    pub stage_id: Option<StageId>,
    /// Contact.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub contact_id: Option<Option<ContactId>>,
    /// Company.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub company_id: Option<Option<CompanyId>>,
    /// Owner.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub owner_user_id: Option<Option<UserId>>,
    /// Value in cents.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub value_cents: Option<Option<i64>>,
    /// Currency.
    pub currency: Option<String>,
    /// Expected close date.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, format = Date)]
    pub expected_close_on: Option<Option<String>>,
    /// Notes.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
    /// Attributes (replaces the object).
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<serde_json::Value>,
}

impl UpdateDeal {
    /// Checks every present field the way `CreateDeal` checks it.
    pub fn validate_all(&self) -> Result<(), ValidationErrors> {
        CreateDeal {
            name: self.name.clone().unwrap_or_else(|| "unchanged".into()),
            pipeline_id: None,
            stage_id: None,
            contact_id: None,
            company_id: None,
            owner_user_id: None,
            value_cents: self.value_cents.flatten(),
            currency: self.currency.clone(),
            expected_close_on: self.expected_close_on.clone().flatten(),
            notes: self.notes.clone().flatten(),
            attributes: self.attributes.clone(),
        }
        .validate()
    }
}

/// Parses a `YYYY-MM-DD` date, or says which field is wrong.
pub fn parse_date(field: &str, text: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| ApiError::invalid_field(field, DATE_MESSAGE))
}

/// The stored spelling of a currency code.
pub fn normalise_currency(code: &str) -> String {
    code.trim().to_ascii_uppercase()
}

const DATE_MESSAGE: &str = "must be a date such as 2026-03-31";

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

fn valid_currency(code: &str) -> Result<(), ValidationError> {
    let code = code.trim();
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(())
    } else {
        Err(message(
            "currency",
            "must be a three-letter ISO 4217 code such as EUR",
        ))
    }
}

fn valid_date(text: &str) -> Result<(), ValidationError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|_| ())
        .map_err(|_| message("date", DATE_MESSAGE))
}

fn valid_attributes(value: &serde_json::Value) -> Result<(), ValidationError> {
    crate::api::companies::valid_attributes(value)
}
