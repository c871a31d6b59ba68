//! Output rails: a model reply, before anything reaches a contact. Forbidden claims, someone
//! else's address, the system prompt, links off the allow-list, the wrong length or language.

use regex::Regex;
use std::collections::HashSet;
use std::sync::LazyLock;

use super::pii::{EMAIL, PHONE, phone_digits};
use super::policy::RailPolicy;
use super::{RailDecision, RailVerdict};
use crate::domain::ChannelKind;

/// Rail name: reply longer than the channel's cap.
pub const OUTPUT_LENGTH: &str = "output.length";
/// Rail name: forbidden claims and phrases.
pub const OUTPUT_FORBIDDEN_PHRASES: &str = "output.forbidden_phrases";
/// Rail name: an email address or phone number that is not the contact's own.
pub const OUTPUT_CONTACT_DETAILS: &str = "output.contact_details";
/// Rail name: the reply repeats the system prompt.
pub const OUTPUT_PROMPT_LEAK: &str = "output.prompt_leak";
/// Rail name: links to hosts off the allow-list.
pub const OUTPUT_LINKS: &str = "output.links";
/// Rail name: the reply is not in an allowed language.
pub const OUTPUT_LANGUAGE: &str = "output.language";

/// Replies shorter than this are not language-checked (detection is unreliable on a few words).
const LANGUAGE_MIN_CHARS: usize = 40;

/// What the output rails need to know besides the reply.
#[derive(Debug, Clone)]
pub struct OutputFacts {
    /// The channel the reply would go out on.
    pub channel: ChannelKind,
    /// The instructions the model was given (not the contact's words).
    pub system_prompt: String,
    /// The chat contact's own email, which the reply may mention.
    pub contact_email: Option<String>,
    /// The chat contact's own phone, which the reply may mention.
    pub contact_phone: Option<String>,
}

static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\b(?:https?://|www\.)[^\s<>"'()\[\]]+"#)
        .unwrap_or_else(|e| panic!("url pattern must compile: {e}"))
});

/// Runs every output rail over one reply.
pub fn check_output(policy: &RailPolicy, facts: &OutputFacts, reply: &str) -> Vec<RailVerdict> {
    vec![
        check_length(policy, facts.channel, reply),
        check_forbidden_phrases(policy, reply),
        check_contact_details(policy, facts, reply),
        check_prompt_leak(policy, &facts.system_prompt, reply),
        check_links(policy, reply),
        check_language(policy, reply),
    ]
}

/// `output.length`: a reply over the channel's cap goes to a human to shorten.
pub fn check_length(policy: &RailPolicy, channel: ChannelKind, reply: &str) -> RailVerdict {
    let chars = reply.chars().count();
    let decision = match policy.reply_limit(channel) {
        Some(limit) if chars > limit => RailDecision::NeedsApproval {
            reason: format!(
                "reply has {chars} characters; {channel} replies are capped at {limit}"
            ),
        },
        _ => RailDecision::Allow,
    };
    RailVerdict::new(OUTPUT_LENGTH, decision)
}

/// `output.forbidden_phrases`: a reply making a forbidden claim is blocked.
pub fn check_forbidden_phrases(policy: &RailPolicy, reply: &str) -> RailVerdict {
    let lower = reply.to_lowercase();
    let found: Vec<&str> = policy
        .forbidden_phrases
        .iter()
        .filter(|p| contains_phrase(&lower, &p.to_lowercase()))
        .map(String::as_str)
        .collect();
    let decision = if found.is_empty() {
        RailDecision::Allow
    } else {
        RailDecision::Block {
            reason: format!("reply contains forbidden phrase(s): {}", found.join(", ")),
        }
    };
    RailVerdict::new(OUTPUT_FORBIDDEN_PHRASES, decision)
}

/// Whether `phrase` occurs in `text` at the start of a word: "guarantee" also catches
/// "guaranteed" and "guarantees", but not a word that merely ends in it.
fn contains_phrase(text: &str, phrase: &str) -> bool {
    text.match_indices(phrase).any(|(at, _)| {
        !text[..at]
            .chars()
            .next_back()
            .is_some_and(char::is_alphanumeric)
    })
}

/// `output.contact_details`: any email or phone in the reply must be the contact's own or on
/// `allowed_addresses`; anything else could leak another contact's details.
pub fn check_contact_details(policy: &RailPolicy, facts: &OutputFacts, reply: &str) -> RailVerdict {
    let own_email = facts.contact_email.as_deref().map(str::to_lowercase);
    let allowed_emails: HashSet<String> = policy
        .allowed_addresses
        .iter()
        .map(|a| a.to_lowercase())
        .chain(own_email)
        .collect();
    let allowed_phones: Vec<String> = policy
        .allowed_addresses
        .iter()
        .map(|a| phone_digits(a))
        .chain(facts.contact_phone.as_deref().map(phone_digits))
        .filter(|d| d.len() >= 7)
        .collect();
    let mut foreign = Vec::new();
    for m in EMAIL.find_iter(reply) {
        if !allowed_emails.contains(&m.as_str().to_lowercase()) {
            foreign.push("an email address");
        }
    }
    let without_emails = EMAIL.replace_all(reply, " ");
    for m in PHONE.find_iter(&without_emails) {
        let digits = phone_digits(m.as_str());
        if !allowed_phones.iter().any(|a| same_phone(a, &digits)) {
            foreign.push("a phone number");
        }
    }
    foreign.dedup();
    let decision = if foreign.is_empty() {
        RailDecision::Allow
    } else {
        RailDecision::Block {
            reason: format!(
                "reply contains {} that is not the contact's own",
                foreign.join(" and ")
            ),
        }
    };
    RailVerdict::new(OUTPUT_CONTACT_DETAILS, decision)
}

/// Two digit strings name the same phone when one ends with the other's last 9 digits
/// (tolerates a country code or trunk prefix written one way and not the other).
fn same_phone(a: &str, b: &str) -> bool {
    let tail = |s: &str| s[s.len().saturating_sub(9)..].to_owned();
    tail(a) == tail(b)
}

/// `output.prompt_leak`: a reply sharing `prompt_leak_words` consecutive words with the
/// system prompt is blocked.
pub fn check_prompt_leak(policy: &RailPolicy, system_prompt: &str, reply: &str) -> RailVerdict {
    let n = policy.prompt_leak_words;
    let prompt = words(system_prompt);
    let decision = if prompt.len() < n {
        RailDecision::Allow
    } else {
        let grams: HashSet<&[String]> = prompt.windows(n).collect();
        let reply = words(reply);
        if reply.windows(n).any(|w| grams.contains(w)) {
            RailDecision::Block {
                reason: format!("reply repeats {n}+ consecutive words of the system prompt"),
            }
        } else {
            RailDecision::Allow
        }
    };
    RailVerdict::new(OUTPUT_PROMPT_LEAK, decision)
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// `output.links`: with an allow-list configured, a link to any other host goes to a human.
pub fn check_links(policy: &RailPolicy, reply: &str) -> RailVerdict {
    let Some(allowed) = &policy.link_allow_list else {
        return RailVerdict::new(OUTPUT_LINKS, RailDecision::Allow);
    };
    let mut off_list = Vec::new();
    for m in URL.find_iter(reply) {
        let raw = m.as_str().trim_end_matches(['.', ',', ';', ':', '!', '?']);
        let absolute = if raw.to_ascii_lowercase().starts_with("www.") {
            format!("https://{raw}")
        } else {
            raw.to_owned()
        };
        let host = url::Url::parse(&absolute)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase));
        let ok = host.as_deref().is_some_and(|h| {
            allowed
                .iter()
                .any(|a| h == a || h.ends_with(&format!(".{a}")))
        });
        if !ok {
            off_list.push(host.unwrap_or_else(|| raw.to_owned()));
        }
    }
    let decision = if off_list.is_empty() {
        RailDecision::Allow
    } else {
        RailDecision::NeedsApproval {
            reason: format!(
                "reply links to hosts off the allow-list: {}",
                off_list.join(", ")
            ),
        }
    };
    RailVerdict::new(OUTPUT_LINKS, decision)
}

/// `output.language`: with languages configured, a reply detected (reliably) in another
/// language goes to a human.
pub fn check_language(policy: &RailPolicy, reply: &str) -> RailVerdict {
    if policy.languages.is_empty() || reply.chars().count() < LANGUAGE_MIN_CHARS {
        return RailVerdict::new(OUTPUT_LANGUAGE, RailDecision::Allow);
    }
    let decision = match whatlang::detect(reply) {
        Some(info) if info.is_reliable() && !policy.languages.contains(&info.lang()) => {
            RailDecision::NeedsApproval {
                reason: format!(
                    "reply looks like {} ({}); allowed: {}",
                    info.lang().eng_name(),
                    info.lang().code(),
                    policy
                        .languages
                        .iter()
                        .map(|l| l.code())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        }
        _ => RailDecision::Allow,
    };
    RailVerdict::new(OUTPUT_LANGUAGE, decision)
}

#[cfg(test)]
mod tests;
