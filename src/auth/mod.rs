//! Who is calling: people log in with email + password (argon2) and get a short-lived access JWT
//! plus a rotating refresh token; machines use API keys. Both resolve to a [`Caller`] scoped to
//! one organisation, holding the scopes that gate what it may do.

pub mod api_keys;
pub mod caller;
pub mod password;
pub mod rate_limit;
pub mod tokens;

pub use caller::{Actor, Caller};

use crate::domain::Scope;

/// Why a request could not be authenticated or authorised.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer ...` header.
    #[error("missing credentials: send `Authorization: Bearer <token or API key>`")]
    MissingCredentials,
    /// The token is malformed, forged or signed with another key.
    #[error("the access token is invalid")]
    InvalidToken,
    /// The access token's lifetime is over; refresh it.
    #[error("the access token has expired; use the refresh token")]
    TokenExpired,
    /// No such API key.
    #[error("the API key is invalid")]
    InvalidApiKey,
    /// The API key was revoked or has expired.
    #[error("the API key has been revoked or has expired")]
    ApiKeyRevoked,
    /// Wrong email or password (never says which).
    #[error("email or password is incorrect")]
    InvalidLogin,
    /// The refresh token is unknown, used, revoked or expired.
    #[error("the refresh token is invalid or has expired; log in again")]
    InvalidRefreshToken,
    /// The user no longer belongs to the organisation, or is disabled.
    #[error("the account no longer has access to this organisation")]
    NoMembership,
    /// Authenticated, but the caller lacks a scope.
    #[error("missing the {needed} scope")]
    Forbidden {
        /// The scope the action needs.
        needed: Scope,
    },
    /// The database failed.
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    /// No database connection could be had.
    #[error(transparent)]
    Pool(#[from] diesel_async::pooled_connection::deadpool::PoolError),
    /// Something that is our fault.
    #[error("{0}")]
    Internal(String),
}

impl AuthError {
    /// Stable code of the 401 answers.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::MissingCredentials => "missing_credentials",
            AuthError::InvalidToken => "invalid_token",
            AuthError::TokenExpired => "token_expired",
            AuthError::InvalidApiKey => "invalid_api_key",
            AuthError::ApiKeyRevoked => "api_key_revoked",
            AuthError::InvalidLogin => "invalid_login",
            AuthError::InvalidRefreshToken => "invalid_refresh_token",
            AuthError::NoMembership => "no_membership",
            AuthError::Forbidden { .. } => "forbidden",
            AuthError::Database(_) | AuthError::Pool(_) | AuthError::Internal(_) => {
                "internal_error"
            }
        }
    }
}
