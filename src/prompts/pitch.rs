//! The typed context of the pitch prompt (`prompts/pitch.hbs`). Like the agent turn's context,
//! every name the prompt uses is always present (`null` when unknown), so strict mode catches
//! typos, not missing facts. It is also what the pitch cache fingerprints: everything the
//! model is told about the contact is in here.

use serde::Serialize;

use super::turn::{AgentFacts, DealFacts, MemoryFacts, OrganizationFacts};

/// Everything the pitch prompt may refer to.
#[derive(Debug, Clone, Serialize)]
pub struct PitchContext {
    /// The writing agent (its description is the extra instruction).
    pub agent: AgentFacts,
    /// The organisation pitching.
    pub organization: OrganizationFacts,
    /// The contact (see [`super::turn::AgentTurnContext::contact_value`]; `company` may be `null`).
    pub contact: serde_json::Value,
    /// The contact's newest deal and its stage, if any.
    pub deal: Option<DealFacts>,
    /// What agents remember about the contact, newest first.
    pub memories: Vec<MemoryFacts>,
    /// The quick settings, resolved.
    pub settings: PitchSettingsFacts,
}

/// The quick settings as the prompt sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PitchSettingsFacts {
    /// `professional`, `friendly`, `casual`, `formal` or `enthusiastic`.
    pub tone: String,
    /// `short`, `medium` or `long`.
    pub length: String,
    /// What to stress, if anything.
    pub focus: Option<String>,
}

impl PitchContext {
    /// A fixture with every field filled, for rendering tests.
    pub fn sample() -> Self {
        Self {
            agent: AgentFacts {
                name: "bizdev".into(),
                instructions: "Writes personalised pitches.".into(),
            },
            organization: OrganizationFacts {
                name: "Acme".into(),
            },
            contact: super::turn::AgentTurnContext::contact_value(
                &super::context::ContactContext::sample(),
            ),
            deal: Some(DealFacts {
                name: "Pilot".into(),
                stage: "Qualified".into(),
            }),
            memories: vec![MemoryFacts {
                content: "prefers email".into(),
            }],
            settings: PitchSettingsFacts {
                tone: "friendly".into(),
                length: "short".into(),
                focus: Some("speed of response".into()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pitch_prompt_renders_from_the_fixture_and_without_optional_facts() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts");
        let registry = crate::prompts::PromptRegistry::load(&dir).expect("prompts load");
        let full = registry
            .render("pitch", &PitchContext::sample())
            .expect("renders");
        assert!(full.contains("friendly tone for Jordan Rivera"), "{full}");
        assert!(full.contains("Example Logistics"), "{full}");
        assert!(full.contains("Qualified"), "{full}");
        assert!(full.contains("prefers email"), "{full}");
        let mut bare = PitchContext::sample();
        bare.deal = None;
        bare.memories.clear();
        bare.settings.focus = None;
        bare.contact = serde_json::json!({"name": "Lee", "first_name": "Lee", "email": null,
            "title": null, "company": null, "tags": [], "attributes": {}});
        let text = registry.render("pitch", &bare).expect("renders bare");
        assert!(!text.contains("Focus on"), "{text}");
    }
}
