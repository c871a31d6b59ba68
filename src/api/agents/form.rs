//! Agent request bodies and their checks: the same rules `switchboard check` applies to
//! `agents/*.toml` (temperature, max_tokens, known tools, memory window), plus a prompt template
//! that must compile.

use serde::Deserialize;
use utoipa::ToSchema;
use validator::{Validate, ValidationError};

use crate::agents::{Budgets, KNOWN_TOOLS, MemorySettings};
use crate::api::templates::{compiles, json_object, not_blank, problem};
use crate::domain::{AgentKind, Autonomy};

/// Most tools one agent may be allowed.
pub const MAX_TOOLS: usize = 32;

/// `POST /agents`.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAgent {
    /// Unique name in the organisation.
    #[validate(length(min = 1, max = 100), custom(function = "not_blank"))]
    pub name: String,
    /// `sdr`, `followup` or `bizdev`.
    pub kind: AgentKind,
    /// What the agent is for, shown to operators.
    #[validate(length(max = 2000))]
    pub description: Option<String>,
    /// Model name as the model server knows it.
    #[validate(length(min = 1, max = 200), custom(function = "not_blank"))]
    pub model: String,
    /// Sampling temperature, 0 to 2 (default 0.4).
    #[validate(range(min = 0.0, max = 2.0))]
    pub temperature: Option<f32>,
    /// Most tokens per reply, 1 to 32768 (default 512).
    #[validate(range(min = 1, max = 32768))]
    pub max_tokens: Option<i32>,
    /// Handlebars source of the system prompt; must compile.
    #[validate(length(min = 1, max = 65536), custom(function = "compiles"))]
    pub prompt_template: String,
    /// Tools the agent may call; each one of the known tools.
    #[serde(default)]
    #[validate(custom(function = "known_tools"))]
    pub tools: Vec<String>,
    /// Rail settings (a JSON object), passed to the supervisor as they are.
    #[schema(value_type = Option<Object>)]
    #[validate(custom(function = "json_object"))]
    pub guardrails: Option<serde_json::Value>,
    /// `off`, `draft` (default) or `auto`.
    pub autonomy: Option<Autonomy>,
    /// `{window: 1..=200, recall_k: 0..=50}`; missing keys take defaults.
    #[schema(value_type = Option<Object>)]
    #[validate(custom(function = "valid_memory"))]
    pub memory: Option<serde_json::Value>,
    /// `{turns_per_chat_per_day, tokens_per_day}`, each at least 1; missing keys take defaults.
    #[schema(value_type = Option<Object>)]
    #[validate(custom(function = "valid_budgets"))]
    pub budgets: Option<serde_json::Value>,
    /// Whether the agent takes turns (default true).
    pub active: Option<bool>,
}

/// `PATCH /agents/{id}`: absent fields stay; objects and lists are replaced whole.
#[derive(Debug, Clone, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAgent {
    /// Name.
    #[validate(length(min = 1, max = 100), custom(function = "not_blank"))]
    pub name: Option<String>,
    /// Kind.
    pub kind: Option<AgentKind>,
    /// Description.
    #[validate(length(max = 2000))]
    pub description: Option<String>,
    /// Model.
    #[validate(length(min = 1, max = 200), custom(function = "not_blank"))]
    pub model: Option<String>,
    /// Temperature.
    #[validate(range(min = 0.0, max = 2.0))]
    pub temperature: Option<f32>,
    /// Max tokens.
    #[validate(range(min = 1, max = 32768))]
    pub max_tokens: Option<i32>,
    /// Prompt template.
    #[validate(length(min = 1, max = 65536), custom(function = "compiles"))]
    pub prompt_template: Option<String>,
    /// Tools (replaces the list).
    #[validate(custom(function = "known_tools"))]
    pub tools: Option<Vec<String>>,
    /// Guardrails (replaces the object).
    #[schema(value_type = Option<Object>)]
    #[validate(custom(function = "json_object"))]
    pub guardrails: Option<serde_json::Value>,
    /// Autonomy.
    pub autonomy: Option<Autonomy>,
    /// Memory settings (replaces the object).
    #[schema(value_type = Option<Object>)]
    #[validate(custom(function = "valid_memory"))]
    pub memory: Option<serde_json::Value>,
    /// Budgets (replaces the object).
    #[schema(value_type = Option<Object>)]
    #[validate(custom(function = "valid_budgets"))]
    pub budgets: Option<serde_json::Value>,
    /// Active.
    pub active: Option<bool>,
}

fn known_tools(tools: &[String]) -> Result<(), ValidationError> {
    if tools.len() > MAX_TOOLS {
        return Err(problem("tools", format!("at most {MAX_TOOLS} tools")));
    }
    let unknown: Vec<&str> = tools
        .iter()
        .map(String::as_str)
        .filter(|t| !KNOWN_TOOLS.contains(t))
        .collect();
    match unknown.as_slice() {
        [] => Ok(()),
        [one] => Err(problem(
            "unknown_tool",
            format!(
                "unknown tool {one:?}; known tools: {}",
                KNOWN_TOOLS.join(", ")
            ),
        )),
        many => Err(problem(
            "unknown_tool",
            format!(
                "unknown tools {}; known tools: {}",
                many.iter()
                    .map(|t| format!("{t:?}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                KNOWN_TOOLS.join(", ")
            ),
        )),
    }
}

/// Parses memory settings, filling defaults.
pub fn parse_memory(value: &serde_json::Value) -> Result<MemorySettings, ValidationError> {
    json_object(value)?;
    let memory: MemorySettings =
        serde_json::from_value(value.clone()).map_err(|e| problem("memory", e.to_string()))?;
    if !(1..=200).contains(&memory.window) {
        return Err(problem("memory", "window must be between 1 and 200"));
    }
    if memory.recall_k > 50 {
        return Err(problem("memory", "recall_k must be between 0 and 50"));
    }
    Ok(memory)
}

/// Parses budgets, filling defaults.
pub fn parse_budgets(value: &serde_json::Value) -> Result<Budgets, ValidationError> {
    json_object(value)?;
    let budgets: Budgets =
        serde_json::from_value(value.clone()).map_err(|e| problem("budgets", e.to_string()))?;
    if budgets.turns_per_chat_per_day == 0 || budgets.tokens_per_day == 0 {
        return Err(problem(
            "budgets",
            "turns_per_chat_per_day and tokens_per_day must be at least 1 (deactivate the agent to stop it)",
        ));
    }
    Ok(budgets)
}

fn valid_memory(value: &serde_json::Value) -> Result<(), ValidationError> {
    parse_memory(value).map(|_| ())
}

fn valid_budgets(value: &serde_json::Value) -> Result<(), ValidationError> {
    parse_budgets(value).map(|_| ())
}

/// Checked memory settings in their stored form (every key present).
pub fn memory_json(value: Option<&serde_json::Value>) -> serde_json::Value {
    let memory = value.and_then(|v| parse_memory(v).ok()).unwrap_or_default();
    serde_json::to_value(memory).unwrap_or_else(|_| serde_json::json!({}))
}

/// Checked budgets in their stored form (every key present).
pub fn budgets_json(value: Option<&serde_json::Value>) -> serde_json::Value {
    let budgets = value
        .and_then(|v| parse_budgets(v).ok())
        .unwrap_or_default();
    serde_json::to_value(budgets).unwrap_or_else(|_| serde_json::json!({}))
}

/// Tools trimmed of duplicates, order kept.
pub fn normalise_tools(tools: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    tools
        .into_iter()
        .filter(|t| seen.insert(t.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_tools_are_named() {
        let error =
            known_tools(&["remember".into(), "launch_missiles".into()]).expect_err("unknown");
        let message = error.message.map(|m| m.to_string()).unwrap_or_default();
        assert!(message.contains("launch_missiles"), "{message}");
        assert!(known_tools(&["remember".into(), "send_email".into()]).is_ok());
    }

    #[test]
    fn memory_and_budgets_fill_defaults_and_check_ranges() {
        assert_eq!(
            memory_json(Some(&json!({"window": 10}))),
            json!({"window": 10, "recall_k": 5})
        );
        assert!(parse_memory(&json!({"window": 0})).is_err());
        assert!(parse_memory(&json!({"windoe": 3})).is_err());
        assert!(parse_budgets(&json!({"tokens_per_day": 0})).is_err());
        assert_eq!(
            budgets_json(None),
            json!({"turns_per_chat_per_day": 20, "tokens_per_day": 500000})
        );
    }
}
