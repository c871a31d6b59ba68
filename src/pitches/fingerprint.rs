//! The pitch cache key: SHA-256 over a canonical JSON (object keys sorted, no whitespace) of
//! everything a pitch depends on — the contact's facts as the prompt sees them and the
//! configuration (agent model and sampling, prompt text, template, quick settings). Equal
//! inputs give equal fingerprints whatever order keys were built or stored in.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The hex SHA-256 of `value`'s canonical JSON.
pub fn fingerprint(value: &Value) -> String {
    let mut text = String::new();
    canonical(value, &mut text);
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                if let Some(inner) = map.get(key) {
                    canonical(inner, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_does_not_matter_but_values_do() {
        let a = json!({"contact": {"name": "Ada", "tags": ["x"]}, "tone": "friendly"});
        let b: Value =
            serde_json::from_str(r#"{"tone":"friendly","contact":{"tags":["x"],"name":"Ada"}}"#)
                .expect("json");
        assert_eq!(fingerprint(&a), fingerprint(&b));
        let c = json!({"contact": {"name": "Ada", "tags": ["y"]}, "tone": "friendly"});
        assert_ne!(fingerprint(&a), fingerprint(&c));
        assert_eq!(fingerprint(&a).len(), 64);
    }
}
