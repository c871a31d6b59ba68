//! RFC 8058 one-click unsubscribe tokens. Each outgoing email carries
//! `List-Unsubscribe: <{public_url}/unsubscribe/{token}>`; the token names the organisation and
//! the recipient's address and is signed with HMAC-SHA256 under a key only the server knows, so
//! nobody can forge one for another address or tenant. The token is stateless: nothing is
//! stored per email, and any old token keeps working.
//!
//! Shape: `{org uuid, simple}.{base64url(address)}.{base64url(hmac)}`, the MAC covering
//! `"unsubscribe\0{org}\0{address}"`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use crate::config::Sensitive;
use crate::domain::OrganizationId;

type HmacSha256 = Hmac<Sha256>;

/// The recipient a valid token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsubscribeTarget {
    /// Whose list.
    pub organization_id: OrganizationId,
    /// The address to suppress (lower-cased).
    pub address: String,
}

/// Signs and checks unsubscribe tokens.
#[derive(Clone)]
pub struct UnsubscribeSigner {
    key: Sensitive<Vec<u8>>,
}

impl std::fmt::Debug for UnsubscribeSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UnsubscribeSigner(<redacted>)")
    }
}

impl UnsubscribeSigner {
    /// A signer over `key` (at least 32 bytes in production; see `EmailConfig`).
    pub fn new(key: &[u8]) -> Self {
        Self {
            key: Sensitive::new(key.to_vec()),
        }
    }

    /// The node's signer: `email.unsubscribe_secret`, or a key derived from the JWT secret when
    /// that is unset (domain-separated, so neither key can stand in for the other).
    pub fn from_config(config: &crate::config::Config) -> Self {
        let explicit = config.email.unsubscribe_secret.expose();
        if !explicit.is_empty() {
            return Self::new(explicit.as_bytes());
        }
        let derived = Self::new(config.auth.jwt_secret.expose().as_bytes());
        let mut mac = derived.raw_mac();
        mac.update(b"switchboard unsubscribe key v1");
        Self::new(&mac.finalize().into_bytes())
    }

    fn raw_mac(&self) -> HmacSha256 {
        match HmacSha256::new_from_slice(self.key.expose()) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        }
    }

    fn mac(&self, org: OrganizationId, address: &str) -> HmacSha256 {
        let mut mac = self.raw_mac();
        mac.update(b"unsubscribe\0");
        mac.update(org.0.simple().to_string().as_bytes());
        mac.update(b"\0");
        mac.update(address.as_bytes());
        mac
    }

    /// The token for `address` in `org`.
    pub fn token(&self, org: OrganizationId, address: &str) -> String {
        let address = address.trim().to_lowercase();
        let tag = self.mac(org, &address).finalize().into_bytes();
        format!(
            "{}.{}.{}",
            org.0.simple(),
            URL_SAFE_NO_PAD.encode(address.as_bytes()),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// What a token names, if it is genuine (checked in constant time).
    pub fn verify(&self, token: &str) -> Option<UnsubscribeTarget> {
        let mut parts = token.split('.');
        let (org, address, tag) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let org = OrganizationId(Uuid::try_parse(org).ok()?);
        let address = String::from_utf8(URL_SAFE_NO_PAD.decode(address).ok()?).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        if address != address.trim().to_lowercase() || !address.contains('@') {
            return None;
        }
        self.mac(org, &address).verify_slice(&tag).ok()?;
        Some(UnsubscribeTarget {
            organization_id: org,
            address,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_and_names_its_recipient() {
        let signer = UnsubscribeSigner::new(b"0123456789abcdef0123456789abcdef");
        let org = OrganizationId(Uuid::now_v7());
        let token = signer.token(org, "Ann@Example.com");
        let target = signer.verify(&token).expect("genuine");
        assert_eq!(target.organization_id, org);
        assert_eq!(target.address, "ann@example.com");
    }

    #[test]
    fn forged_or_altered_tokens_are_refused() {
        let signer = UnsubscribeSigner::new(b"0123456789abcdef0123456789abcdef");
        let other = UnsubscribeSigner::new(b"another key entirely, 32 bytes!!");
        let org = OrganizationId(Uuid::now_v7());
        let token = signer.token(org, "ann@example.com");
        assert!(other.verify(&token).is_none(), "wrong key");
        let swapped = token.replacen(
            &URL_SAFE_NO_PAD.encode("ann@example.com"),
            &URL_SAFE_NO_PAD.encode("bob@example.com"),
            1,
        );
        assert!(signer.verify(&swapped).is_none(), "other address");
        let other_org = token.replacen(
            &org.0.simple().to_string(),
            &Uuid::now_v7().simple().to_string(),
            1,
        );
        assert!(signer.verify(&other_org).is_none(), "other tenant");
        assert!(signer.verify("garbage").is_none());
        assert!(signer.verify(&format!("{token}.x")).is_none());
    }
}
