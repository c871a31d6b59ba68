//! `idempotency_keys`: the stored answer to a POST that carried an `Idempotency-Key`, so a
//! client retrying after a timeout gets the same answer instead of a second record.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::idempotency_keys;
use crate::domain::OrganizationId;

/// How long a key is remembered.
pub const IDEMPOTENCY_KEY_TTL_HOURS: i64 = 24;

/// A claimed key and, once the request finished, its answer.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = idempotency_keys, check_for_backend(diesel::pg::Pg))]
pub struct IdempotencyKey {
    /// Organisation.
    pub organization_id: OrganizationId,
    /// The client's key.
    pub key: String,
    /// HTTP method.
    pub method: String,
    /// Request path.
    pub path: String,
    /// SHA-256 of method, path and body.
    pub request_hash: Vec<u8>,
    /// Stored status, once finished.
    pub response_status: Option<i16>,
    /// Stored body, once finished.
    pub response_body: Option<Vec<u8>>,
    /// Claimed at.
    pub created_at: DateTime<Utc>,
}

/// A claim on a key.
#[derive(Debug, Insertable)]
#[diesel(table_name = idempotency_keys)]
pub struct IdempotencyKeyInsertForm<'a> {
    /// Organisation.
    pub organization_id: OrganizationId,
    /// Key.
    pub key: &'a str,
    /// Method.
    pub method: &'a str,
    /// Path.
    pub path: &'a str,
    /// Hash.
    pub request_hash: &'a [u8],
}

impl IdempotencyKey {
    /// Claims a key; `false` when someone holds it already (then `find` tells what they got).
    pub async fn claim(
        conn: &mut AsyncPgConnection,
        form: &IdempotencyKeyInsertForm<'_>,
    ) -> QueryResult<bool> {
        diesel::delete(
            idempotency_keys::table
                .filter(idempotency_keys::organization_id.eq(form.organization_id))
                .filter(idempotency_keys::key.eq(form.key))
                .filter(
                    idempotency_keys::created_at
                        .lt(Utc::now() - chrono::Duration::hours(IDEMPOTENCY_KEY_TTL_HOURS)),
                ),
        )
        .execute(conn)
        .await?;
        let inserted = diesel::insert_into(idempotency_keys::table)
            .values(form)
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        Ok(inserted == 1)
    }

    /// The holder of a key.
    pub async fn find(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        key: &str,
    ) -> QueryResult<Self> {
        idempotency_keys::table
            .filter(idempotency_keys::organization_id.eq(org))
            .filter(idempotency_keys::key.eq(key))
            .select(Self::as_select())
            .first(conn)
            .await
    }

    /// Stores the answer.
    pub async fn complete(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        key: &str,
        status: u16,
        body: &[u8],
    ) -> QueryResult<usize> {
        diesel::update(
            idempotency_keys::table
                .filter(idempotency_keys::organization_id.eq(org))
                .filter(idempotency_keys::key.eq(key)),
        )
        .set((
            idempotency_keys::response_status.eq(Some(status as i16)),
            idempotency_keys::response_body.eq(Some(body)),
        ))
        .execute(conn)
        .await
    }

    /// Releases a claim whose request failed on our side, so a retry can run.
    pub async fn release(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        key: &str,
    ) -> QueryResult<usize> {
        diesel::delete(
            idempotency_keys::table
                .filter(idempotency_keys::organization_id.eq(org))
                .filter(idempotency_keys::key.eq(key)),
        )
        .execute(conn)
        .await
    }
}
