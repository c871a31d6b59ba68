//! API key format: `sk_` + 64 hex characters (256 random bits). Only its SHA-256 is stored; the
//! first 11 characters are kept as a display prefix so people can tell keys apart.

use rand::RngCore;

use super::tokens::hash_secret;

/// The marker that tells an API key from a JWT in an `Authorization` header.
pub const API_KEY_MARKER: &str = "sk_";

/// A freshly generated key: shown to its creator once, then only its hash and prefix remain.
#[derive(Debug)]
pub struct GeneratedApiKey {
    /// The full key, returned once at creation.
    pub plaintext: String,
    /// Displayed in lists (`sk_1a2b3c4d`).
    pub prefix: String,
    /// Stored for lookups.
    pub hash: Vec<u8>,
}

/// Makes a new random key.
pub fn generate_api_key() -> GeneratedApiKey {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let plaintext = format!("{API_KEY_MARKER}{}", hex::encode(bytes));
    let prefix = plaintext[..API_KEY_MARKER.len() + 8].to_owned();
    let hash = hash_secret(&plaintext);
    GeneratedApiKey {
        plaintext,
        prefix,
        hash,
    }
}
