//! Channel settings: what each kind needs, and the rule that secrets are referenced by
//! environment variable name, never written into a file or the database.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::declarative::{Problem, line_of_key, toml_files};
use crate::domain::ChannelKind;

/// One channel as written in `channels/<name>.toml`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ChannelDefinition {
    /// Unique name (defaults to the file stem).
    #[serde(default)]
    pub name: String,
    /// `telegram`, `email` or `web`.
    pub kind: ChannelKind,
    /// Whether it runs.
    #[serde(default = "yes")]
    pub active: bool,
    /// Non-secret settings.
    #[serde(default)]
    pub settings: BTreeMap<String, toml::Value>,
    /// Secret name → environment variable name, e.g. `bot_token = "TELEGRAM_BOT_TOKEN"`.
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
}

fn yes() -> bool {
    true
}

/// A loaded definition and its file.
#[derive(Debug, Clone)]
pub struct LoadedChannel {
    /// The definition.
    pub definition: ChannelDefinition,
    /// Its file.
    pub path: PathBuf,
}

const SECRET_WORDS: &[&str] = &[
    "token",
    "password",
    "secret",
    "api_key",
    "apikey",
    "private_key",
];

/// Checks settings and secret references of a channel kind; returns `(field, message)` pairs.
/// Shared by the file loader and the API.
pub fn validate_settings(
    kind: ChannelKind,
    settings: &Value,
    secrets: &Value,
) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    let empty = serde_json::Map::new();
    let settings = settings.as_object().unwrap_or(&empty);
    let secrets = secrets.as_object().unwrap_or(&empty);
    for key in settings.keys() {
        let lower = key.to_lowercase();
        if SECRET_WORDS.iter().any(|w| lower.contains(w)) && !lower.ends_with("_env") {
            problems.push((
                format!("settings.{key}"),
                format!("looks like a secret: put the name of an environment variable under secrets.{key} instead"),
            ));
        }
    }
    for (name, env) in secrets {
        let valid = env.as_str().is_some_and(|v| {
            !v.is_empty()
                && v.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
                && !v.as_bytes()[0].is_ascii_digit()
        });
        if !valid {
            problems.push((
                format!("secrets.{name}"),
                "must be the NAME of an environment variable (A-Z, 0-9, _), not the secret itself"
                    .into(),
            ));
        } else if env.as_str().is_some_and(looks_like_secret_value) {
            problems.push((
                format!("secrets.{name}"),
                "looks like a secret value, not the NAME of an environment variable: export the secret and name the variable here"
                    .into(),
            ));
        }
    }
    let has_secret = |name: &str| secrets.contains_key(name);
    let setting_str = |name: &str| settings.get(name).and_then(Value::as_str);
    match kind {
        ChannelKind::Telegram => {
            if !has_secret("bot_token") {
                problems.push((
                    "secrets.bot_token".into(),
                    "a Telegram channel needs the bot token's environment variable".into(),
                ));
            }
            match setting_str("mode").unwrap_or("polling") {
                "polling" => {}
                "webhook" => {
                    if !has_secret("webhook_secret") {
                        problems.push((
                            "secrets.webhook_secret".into(),
                            "webhook mode needs a secret token's environment variable".into(),
                        ));
                    }
                }
                other => problems.push((
                    "settings.mode".into(),
                    format!("mode must be polling or webhook, not {other:?}"),
                )),
            }
            if let Some(url) = settings.get("api_url")
                && !url.as_str().is_some_and(|u| {
                    reqwest::Url::parse(u).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
                })
            {
                problems.push((
                    "settings.api_url".into(),
                    "api_url must be an http(s) URL of a Bot API server".into(),
                ));
            }
            if let Some(timeout) = settings.get("poll_timeout_secs")
                && timeout.as_u64().is_none_or(|t| t > 50)
            {
                problems.push((
                    "settings.poll_timeout_secs".into(),
                    "poll_timeout_secs must be a number of seconds from 0 to 50".into(),
                ));
            }
        }
        ChannelKind::Email => {
            super::email_rules::validate(settings, secrets, &mut problems);
            match setting_str("from_address") {
                Some(a) if a.contains('@') => {}
                _ => problems.push((
                    "settings.from_address".into(),
                    "an email channel needs a from_address".into(),
                )),
            }
            if setting_str("smtp_host").is_none_or(str::is_empty) {
                problems.push((
                    "settings.smtp_host".into(),
                    "an email channel needs an smtp_host".into(),
                ));
            }
            if let Some(port) = settings.get("smtp_port")
                && !port.as_u64().is_some_and(|p| (1..=65535).contains(&p))
            {
                problems.push((
                    "settings.smtp_port".into(),
                    "smtp_port must be a port number".into(),
                ));
            }
            problems.extend(crate::channels::email::imap::settings::validate(
                settings,
                &has_secret,
            ));
        }
        ChannelKind::Web => {}
    }
    problems
}

/// Whether a well-formed variable name is more likely a pasted key: very long, or a long run
/// without any `_` word break that is dense in digits (`AKIA0X9...`, hex keys).
fn looks_like_secret_value(name: &str) -> bool {
    let digits = name.bytes().filter(u8::is_ascii_digit).count();
    name.len() > 64 || (name.len() >= 20 && !name.contains('_') && digits >= 4)
}

/// Parses and checks every `channels/*.toml`.
pub fn load_dir(dir: &Path) -> (Vec<LoadedChannel>, Vec<Problem>) {
    let mut channels = Vec::new();
    let mut problems = Vec::new();
    let files = match toml_files(dir) {
        Ok(files) => files,
        Err(problem) => return (channels, vec![problem]),
    };
    for path in files {
        let source = match std::fs::read_to_string(&path) {
            Ok(source) => source,
            Err(e) => {
                problems.push(Problem::at(&path, None, format!("cannot read: {e}")));
                continue;
            }
        };
        let mut definition: ChannelDefinition = match toml::from_str(&source) {
            Ok(d) => d,
            Err(e) => {
                problems.push(Problem::from_toml(&path, &source, &e));
                continue;
            }
        };
        if definition.name.is_empty() {
            definition.name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_owned();
        }
        let settings = serde_json::to_value(&definition.settings).unwrap_or(Value::Null);
        let secrets = serde_json::to_value(&definition.secrets).unwrap_or(Value::Null);
        let found = validate_settings(definition.kind, &settings, &secrets);
        if found.is_empty() {
            channels.push(LoadedChannel { definition, path });
        } else {
            for (field, message) in found {
                let key = field.rsplit('.').next().unwrap_or(&field);
                problems.push(Problem::at(
                    &path,
                    line_of_key(&source, key),
                    format!("{field}: {message}"),
                ));
            }
        }
    }
    (channels, problems)
}

/// Environment variables a channel refers to that are not set (a warning for `check`).
pub fn missing_secret_env(definition: &ChannelDefinition) -> Vec<String> {
    definition
        .secrets
        .values()
        .filter(|env| std::env::var_os(env).is_none())
        .cloned()
        .collect()
}
