//! Template request bodies and their checks. `compiles` and `not_blank` are shared with agents
//! (prompt templates) and campaigns (inline step bodies), so every Handlebars source the API
//! accepts is refused the same way: 422 naming the field, with line and column in the message.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::{Validate, ValidationError, ValidationErrors};

use crate::api::extract::double_option;
use crate::domain::TemplateKind;

/// Largest template body or prompt, in bytes.
pub const MAX_TEMPLATE_BYTES: usize = 64 * 1024;
/// Longest `focus` quick setting, in characters.
pub const MAX_FOCUS_CHARS: usize = 200;

/// `POST /templates`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTemplate {
    /// Unique name in the organisation.
    #[validate(length(min = 1, max = 200), custom(function = "not_blank"))]
    pub name: String,
    /// `pitch`, `message` or `email`.
    pub kind: TemplateKind,
    /// Subject line, Handlebars (email templates only).
    #[validate(length(min = 1, max = 1000), custom(function = "compiles"))]
    pub subject: Option<String>,
    /// Body, Handlebars; must compile.
    #[validate(length(min = 1, max = 65536), custom(function = "compiles"))]
    pub body: String,
    /// Quick settings `{tone?, length?, focus?}`.
    #[schema(value_type = Option<TemplateSettings>)]
    #[validate(custom(function = "valid_settings"))]
    pub settings: Option<serde_json::Value>,
}

/// `PATCH /templates/{id}`: absent fields stay, `null` clears the subject.
#[derive(Debug, Clone, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTemplate {
    /// Name.
    #[validate(length(min = 1, max = 200), custom(function = "not_blank"))]
    pub name: Option<String>,
    /// Kind.
    pub kind: Option<TemplateKind>,
    /// Subject.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub subject: Option<Option<String>>,
    /// Body.
    #[validate(length(min = 1, max = 65536), custom(function = "compiles"))]
    pub body: Option<String>,
    /// Quick settings (replaces the object).
    #[schema(value_type = Option<TemplateSettings>)]
    #[validate(custom(function = "valid_settings"))]
    pub settings: Option<serde_json::Value>,
}

/// The pitch generator's quick settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateSettings {
    /// Voice of the text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tone: Option<Tone>,
    /// How long the text should be.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length: Option<PitchLength>,
    /// What to stress (free text, at most 200 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub focus: Option<String>,
}

/// Voice of a generated text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Tone {
    /// Businesslike.
    Professional,
    /// Warm.
    Friendly,
    /// Relaxed.
    Casual,
    /// Formal.
    Formal,
    /// Energetic.
    Enthusiastic,
}

/// Length of a generated text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PitchLength {
    /// A few sentences.
    Short,
    /// A paragraph or two.
    Medium,
    /// Detailed.
    Long,
}

impl UpdateTemplate {
    /// Field checks plus the inner value of the clearable subject.
    pub fn validate_all(&self) -> Result<(), ValidationErrors> {
        let mut errors = self.validate().err().unwrap_or_default();
        if let Some(Some(subject)) = &self.subject
            && let Err(e) = compiles(subject)
        {
            errors.add("subject", e);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// Parses checked quick settings into their normal form (unset keys dropped).
pub fn normalise_settings(value: Option<serde_json::Value>) -> serde_json::Value {
    let settings: TemplateSettings = value
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    serde_json::to_value(settings).unwrap_or_else(|_| serde_json::json!({}))
}

/// A validation message with dynamic text.
pub fn problem(code: &'static str, text: impl Into<String>) -> ValidationError {
    ValidationError::new(code).with_message(text.into().into())
}

/// A Handlebars source that compiles; the message carries the line and column of the problem.
pub fn compiles(source: &str) -> Result<(), ValidationError> {
    crate::prompts::validate_template(source).map_err(|p| {
        let mut error = problem("template", format!("does not compile: {p}"));
        if let (Some(line), Some(column)) = (p.line, p.column) {
            error.add_param("line".into(), &line);
            error.add_param("column".into(), &column);
        }
        error
    })
}

/// Text that is not only whitespace.
pub fn not_blank(text: &str) -> Result<(), ValidationError> {
    if text.trim().is_empty() {
        Err(problem("blank", "must not be blank"))
    } else {
        Ok(())
    }
}

/// A JSON object of at most 16 KiB.
pub fn json_object(value: &serde_json::Value) -> Result<(), ValidationError> {
    if !value.is_object() {
        return Err(problem("object", "must be a JSON object"));
    }
    if value.to_string().len() > 16 * 1024 {
        return Err(problem("size", "at most 16 KiB"));
    }
    Ok(())
}

fn valid_settings(value: &serde_json::Value) -> Result<(), ValidationError> {
    json_object(value)?;
    let settings: TemplateSettings =
        serde_json::from_value(value.clone()).map_err(|e| problem("settings", e.to_string()))?;
    if let Some(focus) = &settings.focus
        && focus.chars().count() > MAX_FOCUS_CHARS
    {
        return Err(problem(
            "settings",
            format!("focus is at most {MAX_FOCUS_CHARS} characters"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_accept_the_quick_settings_only() {
        assert!(
            valid_settings(&json!({"tone": "friendly", "length": "short", "focus": "ROI"})).is_ok()
        );
        assert!(valid_settings(&json!({})).is_ok());
        let loud = valid_settings(&json!({"tone": "loud"})).expect_err("unknown tone");
        assert!(
            loud.message.is_some_and(|m| m.contains("professional")),
            "names the choices"
        );
        assert!(valid_settings(&json!({"colour": "red"})).is_err());
        assert!(valid_settings(&json!({"focus": "x".repeat(201)})).is_err());
        assert!(valid_settings(&json!("friendly")).is_err());
    }

    #[test]
    fn compile_errors_carry_line_and_column() {
        let error = compiles("Hello\n{{#if x}}open").expect_err("unclosed");
        let message = error.message.map(|m| m.to_string()).unwrap_or_default();
        assert!(message.contains("line 2"), "{message}");
        assert!(error.params.contains_key("column"));
    }
}
