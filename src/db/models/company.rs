//! `companies`: the organisations the sales team sells to; contacts and deals point at them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;

use crate::after_cursor;
use crate::db::models::contact::escape_like;
use crate::db::pagination::{Cursor, Page, PageRequest};
use crate::db::schema::companies;
use crate::domain::{CompanyId, OrganizationId};

/// A company.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize, ToSchema)]
#[diesel(table_name = companies, check_for_backend(diesel::pg::Pg))]
pub struct Company {
    /// Id.
    pub id: CompanyId,
    /// Organisation.
    #[serde(skip)]
    pub organization_id: OrganizationId,
    /// Name.
    pub name: String,
    /// Internet domain, e.g. `example.com`.
    pub domain: Option<String>,
    /// Industry.
    pub industry: Option<String>,
    /// Size band, e.g. `11-50`.
    pub size: Option<String>,
    /// Web site URL.
    pub website: Option<String>,
    /// Free-text description.
    pub description: Option<String>,
    /// Custom attributes.
    #[schema(value_type = Object)]
    pub attributes: serde_json::Value,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A new company.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = companies)]
pub struct CompanyInsertForm {
    /// Id.
    pub id: CompanyId,
    /// Organisation.
    pub organization_id: OrganizationId,
    /// Name.
    pub name: String,
    /// Domain.
    pub domain: Option<String>,
    /// Industry.
    pub industry: Option<String>,
    /// Size band.
    pub size: Option<String>,
    /// Web site.
    pub website: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Attributes.
    pub attributes: serde_json::Value,
}

/// Changes to a company; `Some(None)` clears a column.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = companies)]
pub struct CompanyUpdateForm {
    /// Name.
    pub name: Option<String>,
    /// Domain.
    pub domain: Option<Option<String>>,
    /// Industry.
    pub industry: Option<Option<String>>,
    /// Size band.
    pub size: Option<Option<String>>,
    /// Web site.
    pub website: Option<Option<String>>,
    /// Description.
    pub description: Option<Option<String>>,
    /// Attributes.
    pub attributes: Option<serde_json::Value>,
}

impl Company {
    /// Inserts a company.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        form: &CompanyInsertForm,
    ) -> QueryResult<Self> {
        diesel::insert_into(companies::table)
            .values(form)
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }

    /// One company of the organisation.
    pub async fn find(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: CompanyId,
    ) -> QueryResult<Self> {
        companies::table
            .filter(companies::organization_id.eq(org))
            .filter(companies::id.eq(id))
            .select(Self::as_select())
            .first(conn)
            .await
    }

    /// A page of companies, newest first; `query` matches a substring of the name, ignoring case.
    pub async fn list(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        query: Option<&str>,
        page: PageRequest,
    ) -> QueryResult<Page<Self>> {
        let mut rows = after_cursor!(
            companies::table.filter(companies::organization_id.eq(org)),
            companies,
            page
        );
        if let Some(q) = query.filter(|q| !q.is_empty()) {
            rows = rows.filter(companies::name.ilike(format!("%{}%", escape_like(q))));
        }
        let rows = rows.select(Self::as_select()).load(conn).await?;
        Ok(page.finish(rows, |c: &Self| Cursor {
            created_at: c.created_at,
            id: c.id.0,
        }))
    }

    /// Applies changes.
    pub async fn update(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: CompanyId,
        form: &CompanyUpdateForm,
    ) -> QueryResult<Self> {
        diesel::update(
            companies::table
                .filter(companies::organization_id.eq(org))
                .filter(companies::id.eq(id)),
        )
        .set(form)
        .returning(Self::as_returning())
        .get_result(conn)
        .await
    }

    /// Deletes a company; its contacts and deals keep existing with `company_id` cleared (the
    /// foreign keys do that).
    pub async fn delete(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: CompanyId,
    ) -> QueryResult<usize> {
        diesel::delete(
            companies::table
                .filter(companies::organization_id.eq(org))
                .filter(companies::id.eq(id)),
        )
        .execute(conn)
        .await
    }
}
