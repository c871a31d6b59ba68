//! Campaign request bodies and their checks. Steps are checked one by one so an error names
//! `steps[2].body`, not just "steps"; audience and settings are checked in `shape.rs`.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use super::shape::{Audience, CampaignSettings, valid_audience, valid_settings};
use crate::api::error::ApiError;
use crate::api::extract::double_option;
use crate::api::templates::{MAX_TEMPLATE_BYTES, not_blank};
use crate::domain::{AgentId, ChannelId, TemplateId};

/// Most steps in one sequence.
pub const MAX_STEPS: usize = 20;
/// Longest wait before a step: a year.
pub const MAX_DELAY_SECONDS: i64 = 365 * 24 * 3600;

/// `POST /campaigns`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCampaign {
    /// Name.
    #[validate(length(min = 1, max = 200), custom(function = "not_blank"))]
    pub name: String,
    /// What it is for.
    #[validate(length(max = 2000))]
    pub description: Option<String>,
    /// The channel it sends on (must belong to your organisation).
    pub channel_id: Option<ChannelId>,
    /// The agent that answers replies (must belong to your organisation).
    pub agent_id: Option<AgentId>,
    /// Who receives it.
    #[schema(value_type = Option<Audience>)]
    #[validate(custom(function = "valid_audience"))]
    pub audience: Option<serde_json::Value>,
    /// Throttling, quiet hours, stop rules.
    #[schema(value_type = Option<CampaignSettings>)]
    #[validate(custom(function = "valid_settings"))]
    pub settings: Option<serde_json::Value>,
    /// When it should start.
    pub starts_at: Option<DateTime<Utc>>,
    /// The sequence, in sending order.
    #[serde(default)]
    pub steps: Vec<StepInput>,
    /// Read-only: a new campaign is always `draft`.
    #[serde(default)]
    #[schema(ignore)]
    pub status: Option<serde_json::Value>,
}

/// `PATCH /campaigns/{id}`: absent fields stay, `null` clears. Steps change through
/// `PUT /campaigns/{id}/steps`; status through start/pause.
#[derive(Debug, Clone, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCampaign {
    /// Name.
    #[validate(length(min = 1, max = 200), custom(function = "not_blank"))]
    pub name: Option<String>,
    /// Description.
    #[validate(length(max = 2000))]
    pub description: Option<String>,
    /// Channel.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub channel_id: Option<Option<ChannelId>>,
    /// Agent.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub agent_id: Option<Option<AgentId>>,
    /// Audience (replaces the object).
    #[schema(value_type = Option<Audience>)]
    #[validate(custom(function = "valid_audience"))]
    pub audience: Option<serde_json::Value>,
    /// Settings (replaces the object).
    #[schema(value_type = Option<CampaignSettings>)]
    #[validate(custom(function = "valid_settings"))]
    pub settings: Option<serde_json::Value>,
    /// Start time.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub starts_at: Option<Option<DateTime<Utc>>>,
    /// Read-only here.
    #[serde(default)]
    #[schema(ignore)]
    pub status: Option<serde_json::Value>,
}

/// `PUT /campaigns/{id}/steps`: the new sequence, replacing the old one.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceSteps {
    /// Steps in sending order (may be empty).
    pub steps: Vec<StepInput>,
}

/// One step: a saved template or an inline body, sent `delay_seconds` after the previous step.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepInput {
    /// Seconds after the previous step (or the start), 0 to a year.
    #[serde(default)]
    pub delay_seconds: i64,
    /// A saved template of your organisation.
    pub template_id: Option<TemplateId>,
    /// Inline subject, Handlebars (with `body`).
    pub subject: Option<String>,
    /// Inline body, Handlebars; must compile.
    pub body: Option<String>,
}

/// The read-only status, if the client sent one.
pub fn refuse_status(status: &Option<serde_json::Value>) -> Result<(), ApiError> {
    match status {
        Some(_) => Err(ApiError::invalid_field(
            "status",
            "is read-only here; start, pause and cancel change it",
        )),
        None => Ok(()),
    }
}

/// Checks every step; problems are named `steps[i].field`.
pub fn check_steps(steps: &[StepInput]) -> Result<(), ApiError> {
    if steps.len() > MAX_STEPS {
        return Err(ApiError::invalid_field(
            "steps",
            format!("at most {MAX_STEPS} steps"),
        ));
    }
    let mut problems = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let mut complain = |field: &str, message: String| {
            problems.push((format!("steps[{i}].{field}"), message));
        };
        if !(0..=MAX_DELAY_SECONDS).contains(&step.delay_seconds) {
            complain(
                "delay_seconds",
                format!("must be between 0 and {MAX_DELAY_SECONDS}"),
            );
        }
        match (&step.template_id, &step.body) {
            (None, None) => complain("body", "a step needs a template_id or a body".into()),
            (Some(_), Some(_)) => complain("body", "give a template_id or a body, not both".into()),
            _ => {}
        }
        if step.template_id.is_some() && step.subject.is_some() {
            complain(
                "subject",
                "an inline subject goes with an inline body; the template has its own".into(),
            );
        }
        for (field, source) in [("subject", &step.subject), ("body", &step.body)] {
            if let Some(source) = source {
                if source.trim().is_empty() || source.len() > MAX_TEMPLATE_BYTES {
                    complain(field, format!("must be 1 to {MAX_TEMPLATE_BYTES} bytes"));
                } else if let Err(p) = crate::prompts::validate_template(source) {
                    complain(field, format!("does not compile: {p}"));
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid_fields(problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_need_content_that_compiles() {
        let step = |body: Option<&str>| StepInput {
            delay_seconds: 0,
            template_id: None,
            subject: None,
            body: body.map(str::to_owned),
        };
        assert!(check_steps(&[step(Some("Hi {{contact.first_name}}"))]).is_ok());
        let error = check_steps(&[step(Some("ok")), step(None), step(Some("{{#if x}}"))])
            .expect_err("bad steps");
        let fields = &error.details.expect("details")["fields"];
        assert!(fields["steps[1].body"].is_array(), "{fields}");
        assert!(fields["steps[2].body"].is_array(), "{fields}");
        assert!(fields.get("steps[0].body").is_none(), "{fields}");
    }
}
