//! The agent catalog: `agents/*.toml` with the source of each one's prompt template, loaded once
//! at start-up into the `AppContext`. Provisioning (`super::provision`) turns each entry into
//! an `ai_agents` row per organisation; the hash of an entry is how a later start-up tells that
//! its file changed.

use sha2::{Digest, Sha256};
use std::path::Path;

use super::{AgentDefinition, load_dir};
use crate::config::PathsConfig;
use crate::db::models::{AiAgentInsertForm, AiAgentUpdateForm};
use crate::domain::{AgentId, OrganizationId};
use crate::prompts::PromptRegistry;

/// One shipped agent, ready to become a row.
#[derive(Debug, Clone)]
pub struct FileAgent {
    /// The file's name in `agents/` (`sdr.toml`): the agent's origin in every organisation.
    pub file: String,
    /// The parsed, checked definition.
    pub definition: AgentDefinition,
    /// The Handlebars source its `prompt` names.
    pub prompt_template: String,
    /// SHA-256 (hex) of the definition and prompt source: changes exactly when either does.
    pub hash: String,
}

impl FileAgent {
    /// Builds an entry, hashing what a row is made of.
    pub fn new(file: String, definition: AgentDefinition, prompt_template: String) -> Self {
        let canonical = serde_json::json!({
            "definition": definition,
            "prompt_template": prompt_template,
        });
        let hash = hex::encode(Sha256::digest(canonical.to_string().as_bytes()));
        Self {
            file,
            definition,
            prompt_template,
            hash,
        }
    }

    /// The organisation's row for this definition.
    pub fn insert_form(&self, organization_id: OrganizationId) -> AiAgentInsertForm {
        let d = &self.definition;
        AiAgentInsertForm {
            id: AgentId::new(),
            organization_id,
            name: d.name.clone(),
            kind: d.kind,
            description: d.description.clone(),
            model: d.model.clone(),
            temperature: d.temperature,
            max_tokens: i32::try_from(d.max_tokens).unwrap_or(i32::MAX),
            prompt_template: self.prompt_template.clone(),
            tools: d.tools.clone(),
            guardrails: to_json(&d.guardrails),
            autonomy: d.autonomy,
            memory: to_json(&d.memory),
            budgets: to_json(&d.budgets),
            active: true,
        }
    }

    /// Every column the file decides, for a row that follows its file (`active` is left alone:
    /// whether an agent works is the organisation's call, and changing it is an override anyway).
    pub fn update_form(&self) -> AiAgentUpdateForm {
        let form = self.insert_form(OrganizationId::new());
        AiAgentUpdateForm {
            name: Some(form.name),
            kind: Some(form.kind),
            description: Some(form.description),
            model: Some(form.model),
            temperature: Some(form.temperature),
            max_tokens: Some(form.max_tokens),
            prompt_template: Some(form.prompt_template),
            tools: Some(form.tools),
            guardrails: Some(form.guardrails),
            autonomy: Some(form.autonomy),
            memory: Some(form.memory),
            budgets: Some(form.budgets),
            active: None,
        }
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_else(|_| serde_json::json!({}))
}

/// The definitions of this process, and what was wrong with the files that did not load.
#[derive(Debug, Clone, Default)]
pub struct AgentCatalog {
    /// Entries in file-name order.
    pub agents: Vec<FileAgent>,
    /// `file:line: message` of every definition or prompt left out.
    pub problems: Vec<String>,
}

impl AgentCatalog {
    /// Loads `[paths] agents_dir` with the templates of `[paths] prompts_dir`. A file with a
    /// problem is left out (and named in `problems`), so one broken file does not take the
    /// others, or the server, down; `switchboard check` reports the same problems.
    pub fn load(paths: &PathsConfig) -> Self {
        let (prompts, prompt_problems) = PromptRegistry::load_lenient(&paths.prompts_dir);
        let (loaded, problems) = load_dir(&paths.agents_dir, Some(&prompts));
        let mut catalog = Self {
            agents: Vec::new(),
            problems: problems.iter().map(ToString::to_string).collect(),
        };
        catalog.problems.extend(
            prompt_problems
                .iter()
                .map(|p| format!("{}: {}", p.location, p.message)),
        );
        for agent in loaded {
            let file = file_name(&agent.path);
            let prompt_path = paths
                .prompts_dir
                .join(format!("{}.hbs", agent.definition.prompt));
            match std::fs::read_to_string(&prompt_path) {
                Ok(source) => catalog
                    .agents
                    .push(FileAgent::new(file, agent.definition, source)),
                Err(e) => catalog
                    .problems
                    .push(format!("{}: cannot read: {e}", prompt_path.display())),
            }
        }
        catalog
    }

    /// The entry of a file, by its name in `agents/`.
    pub fn get(&self, file: &str) -> Option<&FileAgent> {
        self.agents.iter().find(|a| a.file == file)
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> AgentCatalog {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        AgentCatalog::load(&PathsConfig {
            agents_dir: root.join("agents"),
            channels_dir: root.join("channels"),
            prompts_dir: root.join("prompts"),
        })
    }

    #[test]
    fn the_shipped_agents_load_with_their_prompts() {
        let catalog = shipped();
        assert!(catalog.problems.is_empty(), "{:?}", catalog.problems);
        let files: Vec<&str> = catalog.agents.iter().map(|a| a.file.as_str()).collect();
        assert_eq!(files, ["bizdev.toml", "followup.toml", "sdr.toml"]);
        let sdr = catalog.get("sdr.toml").expect("sdr");
        assert!(sdr.prompt_template.contains("{{"), "the prompt's source");
        let form = sdr.insert_form(OrganizationId::new());
        assert_eq!(form.name, "sdr");
        assert_eq!(form.budgets["tokens_per_day"], 400_000);
    }

    #[test]
    fn the_hash_follows_the_definition_and_the_prompt() {
        let sdr = shipped().get("sdr.toml").expect("sdr").clone();
        let same = FileAgent::new(
            sdr.file.clone(),
            sdr.definition.clone(),
            sdr.prompt_template.clone(),
        );
        assert_eq!(same.hash, sdr.hash);
        let mut warmer = sdr.definition.clone();
        warmer.temperature = 0.9;
        assert_ne!(
            FileAgent::new(sdr.file.clone(), warmer, sdr.prompt_template.clone()).hash,
            sdr.hash
        );
        let reworded = format!("{} ", sdr.prompt_template);
        assert_ne!(
            FileAgent::new(sdr.file.clone(), sdr.definition.clone(), reworded).hash,
            sdr.hash
        );
    }
}
