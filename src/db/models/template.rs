//! `templates`: Handlebars message, email and pitch templates an organisation writes once and
//! campaigns and agents render per contact.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;

use crate::after_cursor;
use crate::db::pagination::{Cursor, Page, PageRequest};
use crate::db::schema::templates;
use crate::domain::{OrganizationId, TemplateId, TemplateKind};

/// A template.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize, ToSchema)]
#[diesel(table_name = templates, check_for_backend(diesel::pg::Pg))]
pub struct Template {
    /// Id.
    pub id: TemplateId,
    /// Organisation.
    #[serde(skip)]
    pub organization_id: OrganizationId,
    /// Unique name in the organisation.
    pub name: String,
    /// `pitch`, `message` or `email`.
    pub kind: TemplateKind,
    /// Subject line (email templates), Handlebars.
    pub subject: Option<String>,
    /// Body, Handlebars.
    pub body: String,
    /// Quick settings: `{tone, length, focus}`.
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A new template.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = templates)]
pub struct TemplateInsertForm {
    /// Id.
    pub id: TemplateId,
    /// Organisation.
    pub organization_id: OrganizationId,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: TemplateKind,
    /// Subject.
    pub subject: Option<String>,
    /// Body.
    pub body: String,
    /// Quick settings.
    pub settings: serde_json::Value,
}

/// Changes to a template; `Some(None)` clears the subject.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = templates)]
pub struct TemplateUpdateForm {
    /// Name.
    pub name: Option<String>,
    /// Kind.
    pub kind: Option<TemplateKind>,
    /// Subject.
    pub subject: Option<Option<String>>,
    /// Body.
    pub body: Option<String>,
    /// Quick settings.
    pub settings: Option<serde_json::Value>,
}

/// List filters.
#[derive(Debug, Clone, Default)]
pub struct TemplateFilter {
    /// Only this kind.
    pub kind: Option<TemplateKind>,
}

impl Template {
    /// Inserts a template.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        form: &TemplateInsertForm,
    ) -> QueryResult<Self> {
        diesel::insert_into(templates::table)
            .values(form)
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }

    /// One template of the organisation.
    pub async fn find(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: TemplateId,
    ) -> QueryResult<Self> {
        templates::table
            .filter(templates::organization_id.eq(org))
            .filter(templates::id.eq(id))
            .select(Self::as_select())
            .first(conn)
            .await
    }

    /// A filtered page, newest first.
    pub async fn list(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        filter: &TemplateFilter,
        page: PageRequest,
    ) -> QueryResult<Page<Self>> {
        let mut query = after_cursor!(
            templates::table.filter(templates::organization_id.eq(org)),
            templates,
            page
        );
        if let Some(kind) = filter.kind {
            query = query.filter(templates::kind.eq(kind));
        }
        let rows = query.select(Self::as_select()).load(conn).await?;
        Ok(page.finish(rows, |t: &Self| Cursor {
            created_at: t.created_at,
            id: t.id.0,
        }))
    }

    /// Applies changes.
    pub async fn update(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: TemplateId,
        form: &TemplateUpdateForm,
    ) -> QueryResult<Self> {
        diesel::update(
            templates::table
                .filter(templates::organization_id.eq(org))
                .filter(templates::id.eq(id)),
        )
        .set(form)
        .returning(Self::as_returning())
        .get_result(conn)
        .await
    }

    /// Deletes a template; refused by the database while a campaign step uses it.
    pub async fn delete(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: TemplateId,
    ) -> QueryResult<usize> {
        diesel::delete(
            templates::table
                .filter(templates::organization_id.eq(org))
                .filter(templates::id.eq(id)),
        )
        .execute(conn)
        .await
    }
}
