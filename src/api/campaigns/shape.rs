//! The shape of a campaign's JSON columns: who it goes to (`audience`) and how it sends
//! (`settings`). Checked against typed structs on the way in and stored in their normal form, so
//! the campaign actor can parse them without second-guessing.

use chrono::NaiveTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::ValidationError;

use crate::api::templates::{json_object, problem};
use crate::domain::CompanyId;

/// Who a campaign is sent to.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Audience {
    /// Contacts with any of these tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Contacts at this company.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_id: Option<CompanyId>,
}

/// How a campaign sends.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignSettings {
    /// Most messages per hour, 1 to 10000.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_per_hour: Option<u32>,
    /// A daily window (in each contact's time zone) with no sending.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<QuietHours>,
    /// Stop a contact's sequence when they reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_on_reply: Option<bool>,
}

/// A daily window, `HH:MM` to `HH:MM` (may wrap past midnight).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// Start, `HH:MM`.
    pub start: String,
    /// End, `HH:MM`.
    pub end: String,
}

/// Parses a checked audience.
pub fn parse_audience(value: &serde_json::Value) -> Result<Audience, ValidationError> {
    json_object(value)?;
    let audience: Audience =
        serde_json::from_value(value.clone()).map_err(|e| problem("audience", e.to_string()))?;
    if let Some(tags) = &audience.tags
        && (tags.len() > 50 || tags.iter().any(|t| t.trim().is_empty() || t.len() > 64))
    {
        return Err(problem(
            "audience",
            "tags: at most 50, each 1 to 64 characters",
        ));
    }
    Ok(audience)
}

pub(super) fn valid_audience(value: &serde_json::Value) -> Result<(), ValidationError> {
    parse_audience(value).map(|_| ())
}

/// Parses checked settings.
pub fn parse_settings(value: &serde_json::Value) -> Result<CampaignSettings, ValidationError> {
    json_object(value)?;
    let settings: CampaignSettings =
        serde_json::from_value(value.clone()).map_err(|e| problem("settings", e.to_string()))?;
    if let Some(rate) = settings.max_per_hour
        && !(1..=10_000).contains(&rate)
    {
        return Err(problem(
            "settings",
            "max_per_hour must be between 1 and 10000",
        ));
    }
    if let Some(quiet) = &settings.quiet_hours {
        let (start, end) = (clock_time(&quiet.start), clock_time(&quiet.end));
        match (start, end) {
            (Some(start), Some(end)) if start != end => {}
            (Some(_), Some(_)) => {
                return Err(problem("settings", "quiet_hours start and end must differ"));
            }
            _ => {
                return Err(problem(
                    "settings",
                    "quiet_hours start and end must be HH:MM, e.g. 21:00",
                ));
            }
        }
    }
    Ok(settings)
}

pub(super) fn valid_settings(value: &serde_json::Value) -> Result<(), ValidationError> {
    parse_settings(value).map(|_| ())
}

/// `HH:MM` on a 24-hour clock, exactly five characters.
fn clock_time(text: &str) -> Option<NaiveTime> {
    (text.len() == 5)
        .then(|| NaiveTime::parse_from_str(text, "%H:%M").ok())
        .flatten()
}

/// The stored form of a checked audience (unset keys dropped, tags trimmed).
pub fn audience_json(value: Option<&serde_json::Value>) -> serde_json::Value {
    let mut audience = value
        .and_then(|v| parse_audience(v).ok())
        .unwrap_or_default();
    audience.tags = audience
        .tags
        .map(|tags| tags.into_iter().map(|t| t.trim().to_owned()).collect());
    serde_json::to_value(audience).unwrap_or_else(|_| serde_json::json!({}))
}

/// The stored form of checked settings (unset keys dropped).
pub fn settings_json(value: Option<&serde_json::Value>) -> serde_json::Value {
    let settings = value
        .and_then(|v| parse_settings(v).ok())
        .unwrap_or_default();
    serde_json::to_value(settings).unwrap_or_else(|_| serde_json::json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_shape_is_checked() {
        assert!(parse_settings(&json!({"max_per_hour": 60, "quiet_hours": {"start": "21:00", "end": "08:00"}, "stop_on_reply": true})).is_ok());
        assert!(parse_settings(&json!({"quiet_hours": {"start": "9pm", "end": "08:00"}})).is_err());
        assert!(
            parse_settings(&json!({"quiet_hours": {"start": "25:00", "end": "08:00"}})).is_err()
        );
        assert!(
            parse_settings(&json!({"quiet_hours": {"start": "8:00", "end": "09:00"}})).is_err()
        );
        assert!(parse_settings(&json!({"max_per_hour": 0})).is_err());
        assert!(parse_settings(&json!({"throttle": 3})).is_err());
    }

    #[test]
    fn audience_shape_is_checked() {
        assert!(parse_audience(&json!({"tags": ["vip"]})).is_ok());
        assert!(parse_audience(&json!({"company_id": "not-a-uuid"})).is_err());
        assert!(parse_audience(&json!({"tags": "vip"})).is_err());
        assert!(parse_audience(&json!(["vip"])).is_err());
    }
}
