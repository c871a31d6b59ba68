//! The rail settings of one agent: its `[guardrails]` table, optionally layered with an
//! organisation's overrides (the `ai_agents.guardrails` column). Parsed strictly, so a misspelt
//! key is an error at start-up and in `switchboard check` rather than a rail silently switched off.

use chrono::NaiveTime;
use chrono_tz::Tz;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

use crate::domain::ChannelKind;

/// Contact text longer than this is cut before the model sees it, unless configured.
pub const DEFAULT_MAX_INPUT_CHARS: usize = 4_000;
/// Consecutive words a reply may share with the system prompt before it counts as a leak.
pub const DEFAULT_PROMPT_LEAK_WORDS: usize = 12;

/// Why a `[guardrails]` table was refused.
#[derive(Debug, thiserror::Error)]
pub enum RailConfigError {
    /// A key is unknown or a value has the wrong type (the message names it).
    #[error("guardrails: {0}")]
    Invalid(String),
    /// `quiet_hours.start` / `end` is not `HH:MM`.
    #[error("guardrails.quiet_hours.{field}: {value:?} is not a time of day like \"21:00\"")]
    QuietHoursTime {
        /// `start` or `end`.
        field: &'static str,
        /// What was written.
        value: String,
    },
    /// `timezone` is not an IANA zone name.
    #[error("guardrails.timezone: {0:?} is not an IANA time zone like \"Europe/Berlin\"")]
    Timezone(String),
    /// A language in `languages` is unknown.
    #[error(
        "guardrails.languages: {0:?} is not a known language code (use ISO 639-1 like \"en\" or 639-3 like \"eng\")"
    )]
    Language(String),
    /// A link allow-list entry is not a bare host name.
    #[error("guardrails.link_allow_list: {0:?} must be a host name like \"example.com\"")]
    LinkHost(String),
    /// A number that must be positive is zero.
    #[error("guardrails.{0} must be at least 1")]
    Zero(&'static str),
}

/// The `[guardrails]` table as written; every key optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct GuardrailsTable {
    max_input_chars: Option<usize>,
    flag_injection: Option<bool>,
    max_reply_chars: Option<usize>,
    max_reply_chars_by_channel: Option<HashMap<ChannelKind, usize>>,
    forbidden_phrases: Option<Vec<String>>,
    allowed_addresses: Option<Vec<String>>,
    prompt_leak_words: Option<usize>,
    link_allow_list: Option<Vec<String>>,
    languages: Option<Vec<String>>,
    max_messages_per_contact_per_day: Option<u32>,
    max_sends_per_org_per_day: Option<u32>,
    quiet_hours: Option<QuietHoursTable>,
    timezone: Option<String>,
    approval_required_tools: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuietHoursTable {
    start: String,
    end: String,
}

/// A daily window (in the contact's local time) in which nothing is sent without a human.
/// `start > end` wraps midnight (21:00–08:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    /// First quiet minute.
    pub start: NaiveTime,
    /// First minute that is no longer quiet.
    pub end: NaiveTime,
}

impl QuietHours {
    /// Whether `time` falls inside the window.
    pub fn contains(&self, time: NaiveTime) -> bool {
        if self.start <= self.end {
            self.start <= time && time < self.end
        } else {
            time >= self.start || time < self.end
        }
    }
}

/// Everything the rails need to decide, for one agent in one organisation.
#[derive(Debug, Clone, PartialEq)]
pub struct RailPolicy {
    /// Contact text is cut to this many characters (`input.length`).
    pub max_input_chars: usize,
    /// Whether instruction-injection markers send a turn to a human (`input.injection`).
    pub flag_injection: bool,
    /// Longest reply on any channel (`output.length`).
    pub max_reply_chars: Option<usize>,
    /// Longest reply per channel kind, tighter than `max_reply_chars` where set.
    pub max_reply_chars_by_channel: HashMap<ChannelKind, usize>,
    /// Phrases and claims a reply must not contain, compared case-insensitively.
    pub forbidden_phrases: Vec<String>,
    /// Email addresses / phone numbers a reply may mention besides the contact's own
    /// (the organisation's own sales address, say).
    pub allowed_addresses: Vec<String>,
    /// Consecutive words shared with the system prompt that count as a leak.
    pub prompt_leak_words: usize,
    /// Hosts links may point to; `None` means links are not checked, empty means no links.
    pub link_allow_list: Option<Vec<String>>,
    /// Languages a reply may be in (ISO 639-3 codes); empty means any.
    pub languages: Vec<whatlang::Lang>,
    /// Agent messages per contact per day (`action.contact_volume`).
    pub max_messages_per_contact_per_day: Option<u32>,
    /// Sends per organisation per day (`action.org_volume`).
    pub max_sends_per_org_per_day: Option<u32>,
    /// Quiet hours in the contact's time zone (`action.quiet_hours`).
    pub quiet_hours: Option<QuietHours>,
    /// The zone used when a contact has none (or an unknown one).
    pub default_timezone: Tz,
    /// Tools that wait for a human before they run.
    pub approval_required_tools: Vec<String>,
}

impl Default for RailPolicy {
    fn default() -> Self {
        Self {
            max_input_chars: DEFAULT_MAX_INPUT_CHARS,
            flag_injection: true,
            max_reply_chars: None,
            max_reply_chars_by_channel: HashMap::new(),
            forbidden_phrases: Vec::new(),
            allowed_addresses: Vec::new(),
            prompt_leak_words: DEFAULT_PROMPT_LEAK_WORDS,
            link_allow_list: None,
            languages: Vec::new(),
            max_messages_per_contact_per_day: None,
            max_sends_per_org_per_day: None,
            quiet_hours: None,
            default_timezone: Tz::UTC,
            approval_required_tools: Vec::new(),
        }
    }
}

impl RailPolicy {
    /// Builds a policy from an agent's `[guardrails]` table. Unknown keys and bad values are
    /// errors naming the key.
    pub fn from_guardrails(g: &BTreeMap<String, toml::Value>) -> Result<Self, RailConfigError> {
        let table: toml::Table = g.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let parsed: GuardrailsTable = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| RailConfigError::Invalid(e.message().to_owned()))?;
        Self::from_table(parsed)
    }

    /// Layers an organisation's overrides (same keys, as JSON from `ai_agents.guardrails`) over
    /// an agent's `[guardrails]` table: a key in `overrides` replaces the agent's value.
    pub fn from_layers(
        agent: &BTreeMap<String, toml::Value>,
        overrides: &serde_json::Value,
    ) -> Result<Self, RailConfigError> {
        let mut merged = agent.clone();
        if let serde_json::Value::Object(map) = overrides {
            for (key, value) in map {
                let value: toml::Value = serde_json::from_value(value.clone())
                    .map_err(|e| RailConfigError::Invalid(format!("{key}: {e}")))?;
                merged.insert(key.clone(), value);
            }
        } else if !overrides.is_null() {
            return Err(RailConfigError::Invalid(
                "organisation overrides must be an object".into(),
            ));
        }
        Self::from_guardrails(&merged)
    }

    fn from_table(t: GuardrailsTable) -> Result<Self, RailConfigError> {
        let d = Self::default();
        let positive = |v: Option<usize>, key: &'static str| match v {
            Some(0) => Err(RailConfigError::Zero(key)),
            other => Ok(other),
        };
        let quiet_hours = t
            .quiet_hours
            .map(|q| {
                Ok::<_, RailConfigError>(QuietHours {
                    start: parse_time("start", &q.start)?,
                    end: parse_time("end", &q.end)?,
                })
            })
            .transpose()?;
        let default_timezone = match t.timezone {
            Some(name) => name
                .parse::<Tz>()
                .map_err(|_| RailConfigError::Timezone(name))?,
            None => d.default_timezone,
        };
        let languages = t
            .languages
            .unwrap_or_default()
            .into_iter()
            .map(|code| parse_language(&code).ok_or(RailConfigError::Language(code)))
            .collect::<Result<Vec<_>, _>>()?;
        let link_allow_list = t
            .link_allow_list
            .map(|hosts| {
                hosts
                    .into_iter()
                    .map(|h| {
                        let host = h.trim().trim_start_matches('.').to_ascii_lowercase();
                        if host.is_empty() || host.contains(['/', ':', ' ', '@']) {
                            Err(RailConfigError::LinkHost(h))
                        } else {
                            Ok(host)
                        }
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        let by_channel = t.max_reply_chars_by_channel.unwrap_or_default();
        if by_channel.values().any(|v| *v == 0) {
            return Err(RailConfigError::Zero("max_reply_chars_by_channel"));
        }
        if t.max_messages_per_contact_per_day == Some(0) {
            return Err(RailConfigError::Zero("max_messages_per_contact_per_day"));
        }
        if t.max_sends_per_org_per_day == Some(0) {
            return Err(RailConfigError::Zero("max_sends_per_org_per_day"));
        }
        Ok(Self {
            max_input_chars: positive(t.max_input_chars, "max_input_chars")?
                .unwrap_or(d.max_input_chars),
            flag_injection: t.flag_injection.unwrap_or(d.flag_injection),
            max_reply_chars: positive(t.max_reply_chars, "max_reply_chars")?,
            max_reply_chars_by_channel: by_channel,
            forbidden_phrases: t
                .forbidden_phrases
                .unwrap_or_default()
                .into_iter()
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect(),
            allowed_addresses: t.allowed_addresses.unwrap_or_default(),
            prompt_leak_words: positive(t.prompt_leak_words, "prompt_leak_words")?
                .unwrap_or(d.prompt_leak_words),
            link_allow_list,
            languages,
            max_messages_per_contact_per_day: t.max_messages_per_contact_per_day,
            max_sends_per_org_per_day: t.max_sends_per_org_per_day,
            quiet_hours,
            default_timezone,
            approval_required_tools: t.approval_required_tools.unwrap_or_default(),
        })
    }

    /// The longest reply allowed on `channel`: the tighter of the global and per-channel caps.
    pub fn reply_limit(&self, channel: ChannelKind) -> Option<usize> {
        let per_channel = self.max_reply_chars_by_channel.get(&channel).copied();
        match (self.max_reply_chars, per_channel) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether `tool` waits for a human before it runs.
    pub fn requires_approval(&self, tool: &str) -> bool {
        self.approval_required_tools.iter().any(|t| t == tool)
    }
}

fn parse_time(field: &'static str, value: &str) -> Result<NaiveTime, RailConfigError> {
    NaiveTime::parse_from_str(value, "%H:%M").map_err(|_| RailConfigError::QuietHoursTime {
        field,
        value: value.to_owned(),
    })
}

/// Accepts ISO 639-3 (`eng`) and the common ISO 639-1 codes (`en`).
fn parse_language(code: &str) -> Option<whatlang::Lang> {
    let code = code.trim().to_ascii_lowercase();
    let three = match code.as_str() {
        "en" => "eng",
        "de" => "deu",
        "fr" => "fra",
        "es" => "spa",
        "it" => "ita",
        "pt" => "por",
        "nl" => "nld",
        "ru" => "rus",
        "uk" => "ukr",
        "pl" => "pol",
        "sv" => "swe",
        "da" => "dan",
        "fi" => "fin",
        "tr" => "tur",
        "ja" => "jpn",
        "zh" => "cmn",
        "ko" => "kor",
        "ar" => "ara",
        "hi" => "hin",
        other => other,
    };
    whatlang::Lang::from_code(three)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(src: &str) -> BTreeMap<String, toml::Value> {
        toml::from_str(src).expect("test toml")
    }

    #[test]
    fn shipped_keys_parse() {
        let p = RailPolicy::from_guardrails(&table(
            r#"
            max_reply_chars = 1200
            forbidden_phrases = ["guarantee", "risk-free"]
            link_allow_list = []
            quiet_hours = { start = "21:00", end = "08:00" }
            max_reply_chars_by_channel = { telegram = 500 }
            languages = ["en", "deu"]
            timezone = "Europe/Berlin"
            approval_required_tools = ["send_email"]
            "#,
        ))
        .expect("valid");
        assert_eq!(p.reply_limit(ChannelKind::Telegram), Some(500));
        assert_eq!(p.reply_limit(ChannelKind::Email), Some(1200));
        assert_eq!(p.link_allow_list, Some(vec![]));
        assert_eq!(p.languages, vec![whatlang::Lang::Eng, whatlang::Lang::Deu]);
        assert!(p.requires_approval("send_email"));
        assert!(!p.requires_approval("lookup_contact"));
        assert_eq!(p.default_timezone, chrono_tz::Europe::Berlin);
    }

    #[test]
    fn unknown_key_is_named() {
        let err =
            RailPolicy::from_guardrails(&table("max_reply_char = 10")).expect_err("unknown key");
        let text = err.to_string();
        assert!(text.contains("max_reply_char"), "{text}");
    }

    #[test]
    fn bad_values_are_refused() {
        for src in [
            r#"quiet_hours = { start = "9pm", end = "08:00" }"#,
            r#"timezone = "Mars/Olympus""#,
            r#"languages = ["klingon"]"#,
            r#"link_allow_list = ["https://example.com/"]"#,
            "max_reply_chars = 0",
            r#"max_reply_chars = "long""#,
            "max_messages_per_contact_per_day = 0",
        ] {
            assert!(RailPolicy::from_guardrails(&table(src)).is_err(), "{src}");
        }
    }

    #[test]
    fn org_overrides_replace_agent_values() {
        let p = RailPolicy::from_layers(
            &table("max_reply_chars = 1200"),
            &serde_json::json!({"max_reply_chars": 300, "forbidden_phrases": ["free"]}),
        )
        .expect("valid");
        assert_eq!(p.max_reply_chars, Some(300));
        assert_eq!(p.forbidden_phrases, vec!["free".to_owned()]);
        assert!(RailPolicy::from_layers(&table(""), &serde_json::json!({"nope": 1})).is_err());
    }

    #[test]
    fn quiet_hours_wrap_midnight() {
        let q = QuietHours {
            start: NaiveTime::from_hms_opt(21, 0, 0).expect("time"),
            end: NaiveTime::from_hms_opt(8, 0, 0).expect("time"),
        };
        assert!(q.contains(NaiveTime::from_hms_opt(23, 30, 0).expect("time")));
        assert!(q.contains(NaiveTime::from_hms_opt(7, 59, 0).expect("time")));
        assert!(!q.contains(NaiveTime::from_hms_opt(8, 0, 0).expect("time")));
        assert!(!q.contains(NaiveTime::from_hms_opt(12, 0, 0).expect("time")));
    }
}
