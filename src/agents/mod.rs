//! Agent definitions from `agents/*.toml`: kind, model, prompt, tools, guardrails, autonomy,
//! memory and budgets. Loaded at start-up, overridable per organisation through the API, and
//! validated by `switchboard check` with file:line errors.

pub mod catalog;
pub mod compiled;
pub mod provision;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::declarative::{Problem, line_of_key, toml_files};
use crate::domain::{AgentKind, Autonomy};
use crate::prompts::PromptRegistry;

/// Tools an agent may be allowed to call (the supervisor denies anything else).
pub const KNOWN_TOOLS: &[&str] = &[
    "lookup_contact",
    "update_contact",
    "move_deal_stage",
    "schedule_followup",
    "remember",
    "search_memory",
    "handoff_to_human",
    "send_email",
];

/// One agent as written in `agents/<name>.toml`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AgentDefinition {
    /// Unique name (defaults to the file stem).
    #[serde(default)]
    pub name: String,
    /// `sdr`, `followup` or `bizdev`.
    pub kind: AgentKind,
    /// What the agent is for, shown to operators.
    #[serde(default)]
    pub description: String,
    /// Model name as the model server knows it.
    pub model: String,
    /// Sampling temperature, 0 to 2.
    #[serde(default = "default_temperature")]
    pub temperature: f32,
    /// Most tokens per reply.
    #[serde(default = "default_max_tokens")]
    pub max_tokens: u32,
    /// Name of the prompt template in `prompts/` (file stem).
    pub prompt: String,
    /// Allowed tools (deny by default).
    #[serde(default)]
    pub tools: Vec<String>,
    /// `off`, `draft` or `auto`.
    #[serde(default = "default_autonomy")]
    pub autonomy: Autonomy,
    /// Rail settings, passed to the supervisor as is.
    #[serde(default)]
    pub guardrails: BTreeMap<String, toml::Value>,
    /// Short- and long-term memory settings.
    #[serde(default)]
    pub memory: MemorySettings,
    /// Spending limits.
    #[serde(default)]
    pub budgets: Budgets,
}

/// `[memory]` of an agent.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MemorySettings {
    /// Recent messages in the context window.
    pub window: u32,
    /// Long-term memories recalled per turn.
    pub recall_k: u32,
}

impl Default for MemorySettings {
    fn default() -> Self {
        Self {
            window: 20,
            recall_k: 5,
        }
    }
}

/// `[budgets]` of an agent.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Budgets {
    /// Agent turns per chat per day.
    pub turns_per_chat_per_day: u32,
    /// Tokens per organisation per day.
    pub tokens_per_day: u64,
}

impl Default for Budgets {
    fn default() -> Self {
        Self {
            turns_per_chat_per_day: 20,
            tokens_per_day: 500_000,
        }
    }
}

fn default_temperature() -> f32 {
    0.4
}
fn default_max_tokens() -> u32 {
    512
}
fn default_autonomy() -> Autonomy {
    Autonomy::Draft
}

/// A loaded definition and where it came from.
#[derive(Debug, Clone)]
pub struct LoadedAgent {
    /// The definition.
    pub definition: AgentDefinition,
    /// Its file.
    pub path: PathBuf,
}

/// Parses and checks every `agents/*.toml`; problems name file and line.
pub fn load_dir(dir: &Path, prompts: Option<&PromptRegistry>) -> (Vec<LoadedAgent>, Vec<Problem>) {
    let mut agents = Vec::new();
    let mut problems = Vec::new();
    let files = match toml_files(dir) {
        Ok(files) => files,
        Err(problem) => return (agents, vec![problem]),
    };
    for path in files {
        match parse_file(&path, prompts) {
            Ok(definition) => agents.push(LoadedAgent { definition, path }),
            Err(mut found) => problems.append(&mut found),
        }
    }
    let mut seen = BTreeMap::new();
    for agent in &agents {
        if let Some(first) = seen.insert(agent.definition.name.clone(), agent.path.clone()) {
            problems.push(Problem::at(
                &agent.path,
                None,
                format!(
                    "agent name {:?} is also used by {}",
                    agent.definition.name,
                    first.display()
                ),
            ));
        }
    }
    (agents, problems)
}

/// Parses one file.
pub fn parse_file(
    path: &Path,
    prompts: Option<&PromptRegistry>,
) -> Result<AgentDefinition, Vec<Problem>> {
    let source = std::fs::read_to_string(path)
        .map_err(|e| vec![Problem::at(path, None, format!("cannot read: {e}"))])?;
    let mut definition: AgentDefinition =
        toml::from_str(&source).map_err(|e| vec![Problem::from_toml(path, &source, &e)])?;
    if definition.name.is_empty() {
        definition.name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
    }
    let mut problems = Vec::new();
    let mut complain = |key: &str, message: String| {
        problems.push(Problem::at(path, line_of_key(&source, key), message))
    };
    if !(0.0..=2.0).contains(&definition.temperature) {
        complain(
            "temperature",
            format!(
                "temperature must be between 0 and 2, not {}",
                definition.temperature
            ),
        );
    }
    if definition.max_tokens == 0 || definition.max_tokens > 32_768 {
        complain(
            "max_tokens",
            "max_tokens must be between 1 and 32768".into(),
        );
    }
    if definition.model.trim().is_empty() {
        complain(
            "model",
            "model must name a model the model server has".into(),
        );
    }
    for tool in &definition.tools {
        if !KNOWN_TOOLS.contains(&tool.as_str()) {
            complain(
                "tools",
                format!(
                    "unknown tool {tool:?}; known tools: {}",
                    KNOWN_TOOLS.join(", ")
                ),
            );
        }
    }
    if let Some(prompts) = prompts
        && !prompts.contains(&definition.prompt)
    {
        complain(
            "prompt",
            format!(
                "prompt {:?} is not in prompts/ (have: {})",
                definition.prompt,
                prompts.names().join(", ")
            ),
        );
    }
    if definition.memory.window == 0 || definition.memory.window > 200 {
        complain("window", "memory.window must be between 1 and 200".into());
    }
    if let Err(e) = crate::rails::RailPolicy::from_guardrails(&definition.guardrails) {
        let line = source
            .lines()
            .position(|l| l.trim() == "[guardrails]")
            .map(|i| i + 1)
            .or_else(|| line_of_key(&source, "guardrails"));
        problems.push(Problem::at(path, line, e.to_string()));
    }
    if problems.is_empty() {
        Ok(definition)
    } else {
        Err(problems)
    }
}
