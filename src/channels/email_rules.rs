//! The email channel's settings rules, beyond "has a from address and a relay": the TLS mode,
//! a from address that really parses, DKIM configured as a pair (selector and key) with a valid
//! selector and signing domain. [`validate`] is pure and shared by `channels/*.toml` and the API;
//! [`check_environment`] is what only `switchboard check` can see: the DKIM key the environment
//! holds right now, and TLS/port combinations that work but are probably a mistake.

use serde_json::{Map, Value};

use super::settings::LoadedChannel;
use crate::declarative::{Problem, line_of_key};
use crate::domain::ChannelKind;

const TLS_MODES: &[&str] = &["none", "starttls", "tls"];

/// Adds `(field, message)` problems of an email channel's settings and secret references.
pub(crate) fn validate(
    settings: &Map<String, Value>,
    secrets: &Map<String, Value>,
    problems: &mut Vec<(String, String)>,
) {
    let text = |name: &str| settings.get(name).and_then(Value::as_str);
    if let Some(address) = text("from_address").filter(|a| a.contains('@'))
        && address.trim().parse::<lettre::Address>().is_err()
    {
        problems.push((
            "settings.from_address".into(),
            format!("{address:?} is not a valid email address"),
        ));
    }
    if let Some(tls) = settings.get("smtp_tls")
        && !tls.as_str().is_some_and(|t| TLS_MODES.contains(&t))
    {
        problems.push((
            "settings.smtp_tls".into(),
            "smtp_tls must be none, starttls or tls".into(),
        ));
    }
    let selector = settings.get("dkim_selector");
    let has_key = secrets.contains_key("dkim_private_key");
    match selector {
        Some(s) if !s.as_str().is_some_and(is_dns_name) => problems.push((
            "settings.dkim_selector".into(),
            "dkim_selector must be a DNS label such as \"sb2026\" (letters, digits, hyphens)"
                .into(),
        )),
        Some(_) if !has_key => problems.push((
            "settings.dkim_selector".into(),
            "DKIM signing needs secrets.dkim_private_key too (the key's environment variable)"
                .into(),
        )),
        None if has_key => problems.push((
            "secrets.dkim_private_key".into(),
            "a DKIM key needs settings.dkim_selector too (the DNS selector it is published under)"
                .into(),
        )),
        _ => {}
    }
    if let Some(domain) = settings.get("dkim_domain")
        && !domain
            .as_str()
            .is_some_and(|d| is_dns_name(d) && d.contains('.'))
    {
        problems.push((
            "settings.dkim_domain".into(),
            "dkim_domain must be a domain name such as \"example.com\"".into(),
        ));
    }
}

/// Whether `name` is a DNS name: dot-separated labels of 1-63 letters, digits and inner hyphens,
/// 253 characters at most.
fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// `switchboard check`'s look at an email channel file against the environment it runs in:
/// errors (a DKIM key variable that is set but holds no usable key) and warnings (a port that
/// does not go with the TLS mode). Never echoes a secret.
pub fn check_environment(channel: &LoadedChannel) -> (Vec<Problem>, Vec<Problem>) {
    let (mut errors, mut warnings) = (Vec::new(), Vec::new());
    let definition = &channel.definition;
    if definition.kind != ChannelKind::Email {
        return (errors, warnings);
    }
    let source = std::fs::read_to_string(&channel.path).unwrap_or_default();
    let at =
        |key: &str, message: String| Problem::at(&channel.path, line_of_key(&source, key), message);
    let setting = |name: &str| definition.settings.get(name).and_then(|v| v.as_str());
    let tls = setting("smtp_tls").unwrap_or("starttls");
    let port = definition
        .settings
        .get("smtp_port")
        .and_then(toml::Value::as_integer);
    let odd = match (tls, port) {
        ("starttls", Some(465)) => {
            Some("port 465 expects TLS from the first byte (smtp_tls = \"tls\")")
        }
        ("tls", Some(587 | 25)) => {
            Some("ports 587 and 25 expect STARTTLS (smtp_tls = \"starttls\")")
        }
        ("none", Some(465 | 587)) => {
            Some("this port expects encryption; smtp_tls = \"none\" sends in plain text")
        }
        _ => None,
    };
    if let Some(why) = odd {
        warnings.push(at("smtp_port", format!("settings.smtp_port: {why}")));
    }
    if let (Some(selector), Some(var)) = (
        setting("dkim_selector"),
        definition.secrets.get("dkim_private_key"),
    ) && let Ok(pem) = std::env::var(var)
    {
        let domain = setting("dkim_domain")
            .or_else(|| setting("from_address").and_then(|a| a.rsplit_once('@').map(|(_, d)| d)))
            .unwrap_or_default();
        if crate::channels::email::compose::dkim_config(selector, domain, &pem).is_err() {
            let hint = if pem.contains("BEGIN PRIVATE KEY") {
                " (it is PKCS#8; convert it with `openssl rsa -in key.pem -traditional`)"
            } else {
                ""
            };
            errors.push(at(
                "dkim_private_key",
                format!(
                    "secrets.dkim_private_key: {var} does not hold an RSA private key in PKCS#1 PEM{hint}"
                ),
            ));
        }
    }
    (errors, warnings)
}
