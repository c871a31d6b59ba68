//! The argument types of every tool. The JSON schema the model sees is derived from these
//! (`schemars`), and the same types parse the model's arguments with unknown fields refused,
//! so the schema and the check can never disagree.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `lookup_contact`: the chat's contact, their company and open deals.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupContactArgs {
    /// Include the contact's deals with their stage and the stages of their pipeline.
    #[serde(default = "yes")]
    pub include_deals: bool,
}

fn yes() -> bool {
    true
}

/// `update_contact`: change facts about the chat's contact.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateContactArgs {
    /// New full name.
    #[serde(default)]
    pub name: Option<String>,
    /// New job title.
    #[serde(default)]
    pub title: Option<String>,
    /// New phone number.
    #[serde(default)]
    pub phone: Option<String>,
    /// IANA time zone such as "Europe/Berlin".
    #[serde(default)]
    pub timezone: Option<String>,
    /// Tags to add.
    #[serde(default)]
    pub add_tags: Vec<String>,
    /// Tags to remove.
    #[serde(default)]
    pub remove_tags: Vec<String>,
    /// Custom attributes to set (merged into the existing ones; null removes a key).
    #[serde(default)]
    pub attributes: Option<serde_json::Map<String, serde_json::Value>>,
}

/// `move_deal_stage`: move one of the contact's deals to another stage of its pipeline.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveDealStageArgs {
    /// The deal (from `lookup_contact`).
    pub deal_id: Uuid,
    /// The target stage of the deal's pipeline (from `lookup_contact`).
    pub stage_id: Uuid,
}

/// `schedule_followup`: wake the follow-up agent for this chat later.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleFollowupArgs {
    /// Hours from now, 1 to 2160 (90 days).
    pub in_hours: u32,
    /// What to follow up about, for the agent that wakes up.
    pub note: String,
}

/// `handoff_to_human`: stop and give the chat to a person.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HandoffToHumanArgs {
    /// Why a human should take over.
    pub reason: String,
}

/// `send_email`: email the chat's own contact (no other recipient is possible).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendEmailArgs {
    /// Subject line (used when a new email conversation is started).
    pub subject: String,
    /// Plain-text body.
    pub body: String,
}

/// `remember`: keep a fact about the contact for later conversations.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RememberArgs {
    /// `fact`, `preference` or `summary`.
    pub kind: String,
    /// The fact, in one or two sentences.
    pub content: String,
}

/// `search_memory`: recall what is known about the contact.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchMemoryArgs {
    /// What to look for.
    pub query: String,
    /// How many memories, 1 to 20 (default 5).
    #[serde(default)]
    pub k: Option<u32>,
}

/// Longest free text in any argument.
pub const MAX_TEXT_CHARS: usize = 4_000;

/// Checks ranges and lengths the types cannot express; the message names the field.
pub trait CheckArgs {
    /// `Err(message)` when a value is out of range.
    fn check(&self) -> Result<(), String>;
}

fn text(field: &str, value: &str, max: usize) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err(format!("{field} must not be empty"));
    }
    if value.chars().count() > max {
        return Err(format!("{field} is longer than {max} characters"));
    }
    Ok(())
}

impl CheckArgs for LookupContactArgs {
    fn check(&self) -> Result<(), String> {
        Ok(())
    }
}

impl CheckArgs for UpdateContactArgs {
    fn check(&self) -> Result<(), String> {
        if let Some(name) = &self.name {
            text("name", name, 200)?;
        }
        if let Some(title) = &self.title {
            text("title", title, 200)?;
        }
        if let Some(phone) = &self.phone {
            text("phone", phone, 40)?;
        }
        if let Some(tz) = &self.timezone
            && tz.parse::<chrono_tz::Tz>().is_err()
        {
            return Err(format!("timezone {tz:?} is not an IANA time zone"));
        }
        for tag in self.add_tags.iter().chain(&self.remove_tags) {
            text("tags", tag, 64)?;
        }
        if self.add_tags.len() + self.remove_tags.len() > 20 {
            return Err("at most 20 tags per call".into());
        }
        Ok(())
    }
}

impl CheckArgs for MoveDealStageArgs {
    fn check(&self) -> Result<(), String> {
        Ok(())
    }
}

impl CheckArgs for ScheduleFollowupArgs {
    fn check(&self) -> Result<(), String> {
        if !(1..=2160).contains(&self.in_hours) {
            return Err("in_hours must be between 1 and 2160".into());
        }
        text("note", &self.note, 1_000)
    }
}

impl CheckArgs for HandoffToHumanArgs {
    fn check(&self) -> Result<(), String> {
        text("reason", &self.reason, 1_000)
    }
}

impl CheckArgs for SendEmailArgs {
    fn check(&self) -> Result<(), String> {
        text("subject", &self.subject, 200)?;
        if self.subject.contains(['\r', '\n']) {
            return Err("subject must be one line".into());
        }
        text("body", &self.body, MAX_TEXT_CHARS)
    }
}

impl CheckArgs for RememberArgs {
    fn check(&self) -> Result<(), String> {
        if !["fact", "preference", "summary"].contains(&self.kind.as_str()) {
            return Err("kind must be fact, preference or summary".into());
        }
        text("content", &self.content, 2_000)
    }
}

impl CheckArgs for SearchMemoryArgs {
    fn check(&self) -> Result<(), String> {
        if let Some(k) = self.k
            && !(1..=20).contains(&k)
        {
            return Err("k must be between 1 and 20".into());
        }
        text("query", &self.query, 1_000)
    }
}
