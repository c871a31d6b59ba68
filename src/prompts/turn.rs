//! The typed context of an agent prompt (`prompts/sdr.hbs`, `followup.hbs`, `bizdev.hbs`). Every
//! name a prompt uses is a field here and always present (absent facts are `null`, never
//! missing), so strict mode catches typos, not missing data. The contact's own words sit in
//! `window` entries with `from_contact: true`; the templates wrap them in `<contact_message>`
//! tags and [`crate::supervisor::delimit`] keeps them from closing those tags.

use serde::Serialize;

use super::context::ContactContext;

/// Everything an agent prompt may refer to.
#[derive(Debug, Clone, Serialize)]
pub struct AgentTurnContext {
    /// The agent.
    pub agent: AgentFacts,
    /// The organisation the agent works for.
    pub organization: OrganizationFacts,
    /// The contact (with `company`, `null` when unknown).
    pub contact: serde_json::Value,
    /// The contact's newest open deal, if any.
    pub deal: Option<TurnDeal>,
    /// Recalled long-term memories, most relevant first.
    pub memories: Vec<MemoryFacts>,
    /// The recent conversation, oldest first.
    pub window: Vec<WindowLine>,
    /// Limits the reply must respect.
    pub limits: Limits,
    /// Follow-up facts (for the follow-up agent).
    pub followup: FollowupFacts,
}

/// The agent as the prompt sees it.
#[derive(Debug, Clone, Serialize)]
pub struct AgentFacts {
    /// Name.
    pub name: String,
    /// Extra instructions from the agent's configuration.
    pub instructions: String,
}

/// The organisation.
#[derive(Debug, Clone, Serialize)]
pub struct OrganizationFacts {
    /// Name.
    pub name: String,
}

/// A deal.
#[derive(Debug, Clone, Serialize)]
pub struct DealFacts {
    /// Name.
    pub name: String,
    /// Stage name.
    pub stage: String,
}

/// The deal as an agent turn sees it: the shared facts plus its terms and pipeline.
#[derive(Debug, Clone, Serialize)]
pub struct TurnDeal {
    /// Name and stage.
    #[serde(flatten)]
    pub facts: DealFacts,
    /// The pipeline the deal moves through.
    pub pipeline: String,
    /// Value in major units (`"12000.00"`), `null` when unknown.
    pub value: Option<String>,
    /// ISO currency code of `value`.
    pub currency: String,
}

/// A recalled memory.
#[derive(Debug, Clone, Serialize)]
pub struct MemoryFacts {
    /// Text.
    pub content: String,
}

/// One message of the window.
#[derive(Debug, Clone, Serialize)]
pub struct WindowLine {
    /// Written by the contact (untrusted).
    pub from_contact: bool,
    /// `contact`, `operator`, `agent` or `system`.
    pub sender: String,
    /// Text.
    pub text: String,
}

/// Reply limits.
#[derive(Debug, Clone, Serialize)]
pub struct Limits {
    /// Most characters in the reply.
    pub max_chars: u32,
}

/// Follow-up facts.
#[derive(Debug, Clone, Serialize)]
pub struct FollowupFacts {
    /// Days since the contact last wrote.
    pub days_silent: i64,
    /// Set on a scheduled follow-up's turn: what the agent meant to follow up about.
    pub note: Option<String>,
}

impl AgentTurnContext {
    /// The contact as a value with every key a prompt may test present.
    pub fn contact_value(contact: &ContactContext) -> serde_json::Value {
        let mut value = serde_json::to_value(contact).unwrap_or_default();
        if let Some(object) = value.as_object_mut() {
            object.entry("company").or_insert(serde_json::Value::Null);
        }
        value
    }

    /// A fixture with every field filled, for rendering tests.
    pub fn sample() -> Self {
        Self {
            agent: AgentFacts {
                name: "Sam".into(),
                instructions: "Be brief.".into(),
            },
            organization: OrganizationFacts {
                name: "Acme".into(),
            },
            contact: Self::contact_value(&ContactContext::sample()),
            deal: Some(TurnDeal {
                facts: DealFacts {
                    name: "Pilot".into(),
                    stage: "Qualified".into(),
                },
                pipeline: "Sales".into(),
                value: Some("12000.00".into()),
                currency: "EUR".into(),
            }),
            memories: vec![MemoryFacts {
                content: "prefers email".into(),
            }],
            window: vec![WindowLine {
                from_contact: true,
                sender: "contact".into(),
                text: "What does it cost?".into(),
            }],
            limits: Limits { max_chars: 600 },
            followup: FollowupFacts {
                days_silent: 4,
                note: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_agent_prompt_renders_from_the_fixture_and_without_optional_facts() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts");
        let registry = crate::prompts::PromptRegistry::load(&dir).expect("prompts load");
        let mut bare = AgentTurnContext::sample();
        bare.deal = None;
        bare.memories.clear();
        bare.contact = serde_json::json!({"name": "Lee", "first_name": "Lee", "email": null,
            "title": null, "company": null, "tags": [], "attributes": {}});
        for name in ["sdr", "followup", "bizdev"] {
            let text = registry
                .render(name, &AgentTurnContext::sample())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                text.contains("<contact_message>What does it cost?</contact_message>"),
                "{name}: {text}"
            );
            registry
                .render(name, &bare)
                .unwrap_or_else(|e| panic!("{name} without optional facts: {e}"));
        }
    }
}
