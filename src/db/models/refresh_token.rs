//! `refresh_tokens`: long-lived login sessions, rotated on every use.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::refresh_tokens;
use crate::domain::{OrganizationId, RefreshTokenId, UserId};

/// A stored refresh token (its hash).
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = refresh_tokens, check_for_backend(diesel::pg::Pg))]
pub struct RefreshToken {
    /// Id.
    pub id: RefreshTokenId,
    /// The organisation the session is for.
    pub organization_id: OrganizationId,
    /// The user.
    pub user_id: UserId,
    /// SHA-256 of the token.
    pub token_hash: Vec<u8>,
    /// End of life.
    pub expires_at: DateTime<Utc>,
    /// Set when used (rotation) or at logout.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// A new refresh token.
#[derive(Debug, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshTokenInsertForm {
    /// Id.
    pub id: RefreshTokenId,
    /// Organisation.
    pub organization_id: OrganizationId,
    /// User.
    pub user_id: UserId,
    /// Hash.
    pub token_hash: Vec<u8>,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
}

impl RefreshToken {
    /// Stores a new token.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        form: &RefreshTokenInsertForm,
    ) -> QueryResult<Self> {
        diesel::insert_into(refresh_tokens::table)
            .values(form)
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }

    /// Revokes the live token with this hash and returns it; `NotFound` when it is unknown, already
    /// used or expired. One statement, so two concurrent uses cannot both succeed.
    pub async fn consume(conn: &mut AsyncPgConnection, hash: &[u8]) -> QueryResult<Self> {
        diesel::update(
            refresh_tokens::table
                .filter(refresh_tokens::token_hash.eq(hash))
                .filter(refresh_tokens::revoked_at.is_null())
                .filter(refresh_tokens::expires_at.gt(diesel::dsl::now)),
        )
        .set(refresh_tokens::revoked_at.eq(Some(chrono::Utc::now())))
        .returning(Self::as_returning())
        .get_result(conn)
        .await
    }

    /// Ends every session of a user (after a password change).
    pub async fn revoke_all_for_user(
        conn: &mut AsyncPgConnection,
        user: UserId,
    ) -> QueryResult<usize> {
        diesel::update(
            refresh_tokens::table
                .filter(refresh_tokens::user_id.eq(user))
                .filter(refresh_tokens::revoked_at.is_null()),
        )
        .set(refresh_tokens::revoked_at.eq(Some(chrono::Utc::now())))
        .execute(conn)
        .await
    }
}
