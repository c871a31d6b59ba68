//! `api_keys`: machine credentials, stored as hashes.

use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Nullable, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;

use crate::after_cursor;
use crate::db::pagination::{Cursor, Page, PageRequest};
use crate::db::schema::api_keys;
use crate::domain::{ApiKeyId, OrganizationId, UserId};

/// A stored API key (never the key itself).
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize, ToSchema)]
#[diesel(table_name = api_keys, check_for_backend(diesel::pg::Pg))]
pub struct ApiKey {
    /// Id.
    pub id: ApiKeyId,
    /// Organisation.
    #[serde(skip)]
    pub organization_id: OrganizationId,
    /// What it is for.
    pub name: String,
    /// First characters of the key, to recognise it.
    pub prefix: String,
    /// SHA-256 of the key.
    #[serde(skip)]
    pub key_hash: Vec<u8>,
    /// Granted scopes (`read`, `write`, `configure`, `admin`).
    pub scopes: Vec<String>,
    /// Who created it.
    pub created_by: Option<UserId>,
    /// Last authenticated request (updated at most once a minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it stops working on its own.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A new key.
#[derive(Debug, Insertable)]
#[diesel(table_name = api_keys)]
pub struct ApiKeyInsertForm {
    /// Id.
    pub id: ApiKeyId,
    /// Organisation.
    pub organization_id: OrganizationId,
    /// Name.
    pub name: String,
    /// Display prefix.
    pub prefix: String,
    /// SHA-256 of the key.
    pub key_hash: Vec<u8>,
    /// Scopes.
    pub scopes: Vec<String>,
    /// Creator.
    pub created_by: Option<UserId>,
    /// Expiry.
    pub expires_at: Option<DateTime<Utc>>,
}

impl ApiKey {
    /// Inserts a key.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        form: &ApiKeyInsertForm,
    ) -> QueryResult<Self> {
        diesel::insert_into(api_keys::table)
            .values(form)
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }

    /// The key with this hash, whatever its state (the caller decides what revoked means).
    pub async fn find_by_hash(conn: &mut AsyncPgConnection, hash: &[u8]) -> QueryResult<Self> {
        api_keys::table
            .filter(api_keys::key_hash.eq(hash))
            .select(Self::as_select())
            .first(conn)
            .await
    }

    /// One key of the organisation.
    pub async fn find(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: ApiKeyId,
    ) -> QueryResult<Self> {
        api_keys::table
            .filter(api_keys::organization_id.eq(org))
            .filter(api_keys::id.eq(id))
            .select(Self::as_select())
            .first(conn)
            .await
    }

    /// A page of the organisation's keys.
    pub async fn list(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        page: PageRequest,
    ) -> QueryResult<Page<Self>> {
        let rows = after_cursor!(
            api_keys::table.filter(api_keys::organization_id.eq(org)),
            api_keys,
            page
        )
        .select(Self::as_select())
        .load(conn)
        .await?;
        Ok(page.finish(rows, |k: &Self| Cursor {
            created_at: k.created_at,
            id: k.id.0,
        }))
    }

    /// Revokes a key; revoking twice keeps the first time.
    pub async fn revoke(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: ApiKeyId,
    ) -> QueryResult<Self> {
        diesel::update(
            api_keys::table
                .filter(api_keys::organization_id.eq(org))
                .filter(api_keys::id.eq(id)),
        )
        .set(api_keys::revoked_at.eq(sql::<Nullable<Timestamptz>>("coalesce(revoked_at, now())")))
        .returning(Self::as_returning())
        .get_result(conn)
        .await
    }

    /// Records use, at most once a minute per key so hot keys do not write on every request.
    pub async fn touch(conn: &mut AsyncPgConnection, id: ApiKeyId) -> QueryResult<usize> {
        diesel::update(api_keys::table.find(id))
            .filter(sql::<Bool>(
                "last_used_at IS NULL OR last_used_at < now() - interval '1 minute'",
            ))
            .set(api_keys::last_used_at.eq(sql::<Nullable<Timestamptz>>("now()")))
            .execute(conn)
            .await
    }

    /// Whether the key can still be used.
    pub fn is_usable(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| at > now)
    }

    /// Sets when the key stops working.
    pub async fn set_expiry(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: ApiKeyId,
        at: DateTime<Utc>,
    ) -> QueryResult<Self> {
        diesel::update(
            api_keys::table
                .filter(api_keys::organization_id.eq(org))
                .filter(api_keys::id.eq(id)),
        )
        .set(api_keys::expires_at.eq(Some(at)))
        .returning(Self::as_returning())
        .get_result(conn)
        .await
    }
}
