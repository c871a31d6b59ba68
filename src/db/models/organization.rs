//! `organizations`: the tenants.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::organizations;
use crate::domain::OrganizationId;

/// A tenant.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize, ToSchema)]
#[diesel(table_name = organizations, check_for_backend(diesel::pg::Pg))]
pub struct Organization {
    /// Id.
    pub id: OrganizationId,
    /// Display name.
    pub name: String,
    /// URL-safe unique handle, used at login when a person belongs to several organisations.
    pub slug: String,
    /// Organisation-wide settings.
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    /// Last inbox event cursor handed out.
    #[serde(skip)]
    pub event_seq: i64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A new tenant.
#[derive(Debug, Insertable)]
#[diesel(table_name = organizations)]
pub struct OrganizationInsertForm {
    /// Id.
    pub id: OrganizationId,
    /// Display name.
    pub name: String,
    /// Unique handle.
    pub slug: String,
}

impl Organization {
    /// Inserts a tenant.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        form: &OrganizationInsertForm,
    ) -> QueryResult<Self> {
        diesel::insert_into(organizations::table)
            .values(form)
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }

    /// Loads a tenant.
    pub async fn find(conn: &mut AsyncPgConnection, id: OrganizationId) -> QueryResult<Self> {
        organizations::table
            .find(id)
            .select(Self::as_select())
            .first(conn)
            .await
    }

    /// Loads a tenant by its slug.
    pub async fn find_by_slug(conn: &mut AsyncPgConnection, slug: &str) -> QueryResult<Self> {
        organizations::table
            .filter(organizations::slug.eq(slug))
            .select(Self::as_select())
            .first(conn)
            .await
    }

    /// Locks the organisation row until the transaction ends, serialising changes that must see
    /// each other (e.g. two admins demoting the last two owners at once).
    pub async fn lock(conn: &mut AsyncPgConnection, id: OrganizationId) -> QueryResult<()> {
        organizations::table
            .find(id)
            .select(organizations::id)
            .for_update()
            .first::<OrganizationId>(conn)
            .await
            .map(|_| ())
    }
}
