//! Access tokens (HS256 JWTs, minutes long) and refresh tokens (random, stored hashed, rotated on
//! every use so a stolen one works at most once).

use chrono::Utc;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::AuthError;
use crate::domain::{OrganizationId, UserId};

/// What an access token says: who, in which organisation, until when.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    /// The user.
    pub sub: UserId,
    /// The organisation the token is for.
    pub org: OrganizationId,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
    /// Always `"access"`, so no other JWT we might sign is accepted here.
    pub typ: String,
}

/// Signs and checks access tokens with the configured secret.
#[derive(Clone)]
pub struct TokenSigner {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl_secs: i64,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSigner")
            .field("ttl_secs", &self.ttl_secs)
            .finish_non_exhaustive()
    }
}

impl TokenSigner {
    /// A signer for the secret; tokens live `ttl_secs`.
    pub fn new(secret: &str, ttl_secs: i64) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            ttl_secs,
        }
    }

    /// How long an access token lives.
    pub fn ttl_secs(&self) -> i64 {
        self.ttl_secs
    }

    /// Issues an access token for a member of an organisation.
    pub fn issue(&self, user: UserId, org: OrganizationId) -> Result<String, AuthError> {
        let now = Utc::now().timestamp();
        let claims = AccessClaims {
            sub: user,
            org,
            iat: now,
            exp: now + self.ttl_secs,
            typ: "access".into(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AuthError::Internal(format!("signing a token failed: {e}")))
    }

    /// Verifies signature, algorithm, expiry and type.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, AuthError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let data =
            decode::<AccessClaims>(token, &self.decoding, &validation).map_err(|e| {
                match e.kind() {
                    ErrorKind::ExpiredSignature => AuthError::TokenExpired,
                    _ => AuthError::InvalidToken,
                }
            })?;
        if data.claims.typ != "access" {
            return Err(AuthError::InvalidToken);
        }
        Ok(data.claims)
    }
}

/// A new refresh token: the string for the client and the hash to store.
pub fn new_refresh_token() -> (String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!("rt_{}", hex::encode(bytes));
    let hash = hash_secret(&token);
    (token, hash)
}

/// SHA-256 of a high-entropy secret (refresh tokens, API keys); a slow hash adds nothing there.
pub fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_with_their_secret_and_before_expiry() {
        let signer = TokenSigner::new("a-secret-that-is-long-enough-for-tests!!", 60);
        let (user, org) = (UserId::new(), OrganizationId::new());
        let token = signer.issue(user, org).expect("issue");
        let claims = signer.verify(&token).expect("verify");
        assert_eq!((claims.sub, claims.org), (user, org));

        let other = TokenSigner::new("another-secret-that-is-long-enough!!!!!", 60);
        assert!(matches!(other.verify(&token), Err(AuthError::InvalidToken)));

        let expired = TokenSigner::new("a-secret-that-is-long-enough-for-tests!!", -3600);
        let old = expired.issue(user, org).expect("issue");
        assert!(matches!(signer.verify(&old), Err(AuthError::TokenExpired)));
    }
}
