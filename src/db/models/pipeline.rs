//! `pipelines`: the sales processes an organisation runs deals through. At most one is the
//! default (the partial unique index `pipelines_one_default`), used when a deal names none.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;

use crate::after_cursor;
use crate::db::pagination::{Cursor, Page, PageRequest};
use crate::db::schema::pipelines;
use crate::domain::{OrganizationId, PipelineId};

/// A pipeline.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize, ToSchema)]
#[diesel(table_name = pipelines, check_for_backend(diesel::pg::Pg))]
pub struct Pipeline {
    /// Id.
    pub id: PipelineId,
    /// Organisation.
    #[serde(skip)]
    pub organization_id: OrganizationId,
    /// Name, unique in the organisation.
    pub name: String,
    /// New deals land here when they name no pipeline.
    pub is_default: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A new pipeline.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = pipelines)]
pub struct PipelineInsertForm {
    /// Id.
    pub id: PipelineId,
    /// Organisation.
    pub organization_id: OrganizationId,
    /// Name.
    pub name: String,
    /// Default flag (clear the previous default first).
    pub is_default: bool,
}

/// Changes to a pipeline.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = pipelines)]
pub struct PipelineUpdateForm {
    /// Name.
    pub name: Option<String>,
    /// Default flag (clear the previous default first).
    pub is_default: Option<bool>,
}

impl Pipeline {
    /// Inserts a pipeline.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        form: &PipelineInsertForm,
    ) -> QueryResult<Self> {
        diesel::insert_into(pipelines::table)
            .values(form)
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }

    /// One pipeline of the organisation.
    pub async fn find(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: PipelineId,
    ) -> QueryResult<Self> {
        pipelines::table
            .filter(pipelines::organization_id.eq(org))
            .filter(pipelines::id.eq(id))
            .select(Self::as_select())
            .first(conn)
            .await
    }

    /// One pipeline, row-locked until the transaction ends, so edits of its stages (whose
    /// positions must stay contiguous) run one after another.
    pub async fn lock(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: PipelineId,
    ) -> QueryResult<Self> {
        pipelines::table
            .filter(pipelines::organization_id.eq(org))
            .filter(pipelines::id.eq(id))
            .select(Self::as_select())
            .for_update()
            .first(conn)
            .await
    }

    /// The organisation's default pipeline.
    pub async fn find_default(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
    ) -> QueryResult<Self> {
        pipelines::table
            .filter(pipelines::organization_id.eq(org))
            .filter(pipelines::is_default)
            .select(Self::as_select())
            .first(conn)
            .await
    }

    /// Unmarks the organisation's default pipeline, unless it is `keep`; call before marking
    /// another one default, in the same transaction. It first locks the organisation's
    /// pipelines (in id order, so two callers cannot deadlock): a concurrent switch then waits
    /// for this one and sees its result, instead of tripping over `pipelines_one_default`.
    pub async fn clear_default(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        keep: PipelineId,
    ) -> QueryResult<usize> {
        pipelines::table
            .filter(pipelines::organization_id.eq(org))
            .order(pipelines::id.asc())
            .select(pipelines::id)
            .for_update()
            .load::<PipelineId>(conn)
            .await?;
        diesel::update(
            pipelines::table
                .filter(pipelines::organization_id.eq(org))
                .filter(pipelines::is_default)
                .filter(pipelines::id.ne(keep)),
        )
        .set(pipelines::is_default.eq(false))
        .execute(conn)
        .await
    }

    /// A page of pipelines, newest first.
    pub async fn list(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        page: PageRequest,
    ) -> QueryResult<Page<Self>> {
        let rows = after_cursor!(
            pipelines::table.filter(pipelines::organization_id.eq(org)),
            pipelines,
            page
        )
        .select(Self::as_select())
        .load(conn)
        .await?;
        Ok(page.finish(rows, |p: &Self| Cursor {
            created_at: p.created_at,
            id: p.id.0,
        }))
    }

    /// Applies changes.
    pub async fn update(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: PipelineId,
        form: &PipelineUpdateForm,
    ) -> QueryResult<Self> {
        diesel::update(
            pipelines::table
                .filter(pipelines::organization_id.eq(org))
                .filter(pipelines::id.eq(id)),
        )
        .set(form)
        .returning(Self::as_returning())
        .get_result(conn)
        .await
    }

    /// Deletes a pipeline with its stages and deals (by cascade).
    pub async fn delete(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: PipelineId,
    ) -> QueryResult<usize> {
        diesel::delete(
            pipelines::table
                .filter(pipelines::organization_id.eq(org))
                .filter(pipelines::id.eq(id)),
        )
        .execute(conn)
        .await
    }
}
