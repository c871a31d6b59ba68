//! Typed render contexts for message templates and prompts. A template says `{{contact.first_name}}`
//! or `{{contact.company.name}}`; these structs are the one place that decides what those names
//! mean, so template previews, campaigns and agents all render against the same shape.

use serde::Serialize;

use crate::db::models::{Company, Contact};

/// The context of a message template: who it is addressed to.
#[derive(Debug, Clone, Serialize)]
pub struct MessageContext {
    /// The recipient.
    pub contact: ContactContext,
}

/// A contact as templates see it.
#[derive(Debug, Clone, Serialize)]
pub struct ContactContext {
    /// Full name (may be empty when only an email is known).
    pub name: String,
    /// The first word of the name, for greetings.
    pub first_name: String,
    /// Email.
    pub email: Option<String>,
    /// Job title.
    pub title: Option<String>,
    /// Their company, when known; a template that needs it fails to render without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company: Option<CompanyContext>,
    /// Tags.
    pub tags: Vec<String>,
    /// Custom attributes, as stored.
    pub attributes: serde_json::Value,
}

/// A company as templates see it.
#[derive(Debug, Clone, Serialize)]
pub struct CompanyContext {
    /// Name.
    pub name: String,
    /// Internet domain.
    pub domain: Option<String>,
    /// Industry.
    pub industry: Option<String>,
    /// Size band.
    pub size: Option<String>,
    /// Web site.
    pub website: Option<String>,
    /// Custom attributes.
    pub attributes: serde_json::Value,
}

impl ContactContext {
    /// Builds the context from a contact row and its company row.
    pub fn new(contact: &Contact, company: Option<&Company>) -> Self {
        Self {
            name: contact.name.clone(),
            first_name: first_name(&contact.name),
            email: contact.email.clone(),
            title: contact.title.clone(),
            company: company.map(CompanyContext::new),
            tags: contact.tags.clone(),
            attributes: contact.attributes.clone(),
        }
    }

    /// A made-up contact, for previewing a template before any real contact exists.
    pub fn sample() -> Self {
        Self {
            name: "Jordan Rivera".into(),
            first_name: "Jordan".into(),
            email: Some("jordan.rivera@example.com".into()),
            title: Some("Head of Operations".into()),
            company: Some(CompanyContext {
                name: "Example Logistics".into(),
                domain: Some("example.com".into()),
                industry: Some("Logistics".into()),
                size: Some("51-200".into()),
                website: Some("https://example.com".into()),
                attributes: serde_json::json!({}),
            }),
            tags: vec!["lead".into()],
            attributes: serde_json::json!({}),
        }
    }
}

impl CompanyContext {
    /// Builds the context from a company row.
    pub fn new(company: &Company) -> Self {
        Self {
            name: company.name.clone(),
            domain: company.domain.clone(),
            industry: company.industry.clone(),
            size: company.size.clone(),
            website: company.website.clone(),
            attributes: company.attributes.clone(),
        }
    }
}

/// The first word of a name (`"Ada Lovelace"` → `"Ada"`); empty for an empty name.
pub fn first_name(name: &str) -> String {
    name.split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Overlays `overrides` on `base`: objects merge key by key, anything else replaces.
pub fn merge_json(base: &mut serde_json::Value, overrides: serde_json::Value) {
    match (base, overrides) {
        (serde_json::Value::Object(base), serde_json::Value::Object(overrides)) => {
            for (key, value) in overrides {
                match base.get_mut(&key) {
                    Some(existing) => merge_json(existing, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, overrides) => *base = overrides,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn first_name_is_the_first_word() {
        assert_eq!(first_name("  Ada   Lovelace "), "Ada");
        assert_eq!(first_name(""), "");
    }

    #[test]
    fn overrides_merge_deeply() {
        let mut base = json!({"contact": {"name": "A", "company": {"name": "C", "size": "1"}}});
        merge_json(
            &mut base,
            json!({"contact": {"company": {"name": "D"}}, "sender": "S"}),
        );
        assert_eq!(
            base,
            json!({"contact": {"name": "A", "company": {"name": "D", "size": "1"}}, "sender": "S"})
        );
    }

    #[test]
    fn the_sample_renders_a_typical_greeting() {
        let context = MessageContext {
            contact: ContactContext::sample(),
        };
        let text = crate::prompts::render_inline(
            "Hi {{contact.first_name}} at {{contact.company.name}}",
            &context,
        )
        .expect("renders");
        assert_eq!(text, "Hi Jordan at Example Logistics");
    }
}
