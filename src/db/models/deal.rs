//! `deals`: opportunities moving through a pipeline's stages. The composite foreign key
//! `deals_stage_fk` on `(pipeline_id, stage_id)` makes the database refuse a stage of another
//! pipeline; the others refuse another tenant's pipeline, contact or company.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;

use crate::after_cursor;
use crate::db::pagination::{Cursor, Page, PageRequest};
use crate::db::schema::deals;
use crate::domain::{CompanyId, ContactId, DealId, OrganizationId, PipelineId, StageId, UserId};

/// A deal.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize, ToSchema)]
#[diesel(table_name = deals, check_for_backend(diesel::pg::Pg))]
pub struct Deal {
    /// Id.
    pub id: DealId,
    /// Organisation.
    #[serde(skip)]
    pub organization_id: OrganizationId,
    /// The pipeline it moves through.
    pub pipeline_id: PipelineId,
    /// Its current stage (a stage of `pipeline_id`).
    pub stage_id: StageId,
    /// The person it is with.
    pub contact_id: Option<ContactId>,
    /// The company it is with.
    pub company_id: Option<CompanyId>,
    /// The member responsible for it.
    pub owner_user_id: Option<UserId>,
    /// Name.
    pub name: String,
    /// Value in the currency's minor unit (cents).
    pub value_cents: Option<i64>,
    /// ISO 4217 currency code.
    pub currency: String,
    /// When it is expected to close.
    pub expected_close_on: Option<NaiveDate>,
    /// Free-text notes.
    pub notes: Option<String>,
    /// Custom attributes.
    #[schema(value_type = Object)]
    pub attributes: serde_json::Value,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A new deal.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = deals)]
pub struct DealInsertForm {
    /// Id.
    pub id: DealId,
    /// Organisation.
    pub organization_id: OrganizationId,
    /// Pipeline.
    pub pipeline_id: PipelineId,
    /// Stage.
    pub stage_id: StageId,
    /// Contact.
    pub contact_id: Option<ContactId>,
    /// Company.
    pub company_id: Option<CompanyId>,
    /// Owner.
    pub owner_user_id: Option<UserId>,
    /// Name.
    pub name: String,
    /// Value.
    pub value_cents: Option<i64>,
    /// Currency.
    pub currency: String,
    /// Expected close date.
    pub expected_close_on: Option<NaiveDate>,
    /// Notes.
    pub notes: Option<String>,
    /// Attributes.
    pub attributes: serde_json::Value,
}

/// Changes to a deal; `Some(None)` clears a column.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = deals)]
pub struct DealUpdateForm {
    /// Pipeline.
    pub pipeline_id: Option<PipelineId>,
    /// Stage.
    pub stage_id: Option<StageId>,
    /// Contact.
    pub contact_id: Option<Option<ContactId>>,
    /// Company.
    pub company_id: Option<Option<CompanyId>>,
    /// Owner.
    pub owner_user_id: Option<Option<UserId>>,
    /// Name.
    pub name: Option<String>,
    /// Value.
    pub value_cents: Option<Option<i64>>,
    /// Currency.
    pub currency: Option<String>,
    /// Expected close date.
    pub expected_close_on: Option<Option<NaiveDate>>,
    /// Notes.
    pub notes: Option<Option<String>>,
    /// Attributes.
    pub attributes: Option<serde_json::Value>,
}

/// List filters.
#[derive(Debug, Clone, Default)]
pub struct DealFilter {
    /// In this pipeline.
    pub pipeline_id: Option<PipelineId>,
    /// In this stage.
    pub stage_id: Option<StageId>,
    /// With this contact.
    pub contact_id: Option<ContactId>,
    /// With this company.
    pub company_id: Option<CompanyId>,
    /// Owned by this user.
    pub owner_user_id: Option<UserId>,
}

impl Deal {
    /// Inserts a deal.
    pub async fn create(conn: &mut AsyncPgConnection, form: &DealInsertForm) -> QueryResult<Self> {
        diesel::insert_into(deals::table)
            .values(form)
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }

    /// One deal of the organisation.
    pub async fn find(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: DealId,
    ) -> QueryResult<Self> {
        deals::table
            .filter(deals::organization_id.eq(org))
            .filter(deals::id.eq(id))
            .select(Self::as_select())
            .first(conn)
            .await
    }

    /// A filtered page, newest first.
    pub async fn list(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        filter: &DealFilter,
        page: PageRequest,
    ) -> QueryResult<Page<Self>> {
        let mut query = after_cursor!(
            deals::table.filter(deals::organization_id.eq(org)),
            deals,
            page
        );
        if let Some(id) = filter.pipeline_id {
            query = query.filter(deals::pipeline_id.eq(id));
        }
        if let Some(id) = filter.stage_id {
            query = query.filter(deals::stage_id.eq(id));
        }
        if let Some(id) = filter.contact_id {
            query = query.filter(deals::contact_id.eq(id));
        }
        if let Some(id) = filter.company_id {
            query = query.filter(deals::company_id.eq(id));
        }
        if let Some(id) = filter.owner_user_id {
            query = query.filter(deals::owner_user_id.eq(id));
        }
        let rows = query.select(Self::as_select()).load(conn).await?;
        Ok(page.finish(rows, |d: &Self| Cursor {
            created_at: d.created_at,
            id: d.id.0,
        }))
    }

    /// Every deal of a pipeline (to audit them before the pipeline's deletion removes them).
    pub async fn all_in_pipeline(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        pipeline: PipelineId,
    ) -> QueryResult<Vec<Self>> {
        deals::table
            .filter(deals::organization_id.eq(org))
            .filter(deals::pipeline_id.eq(pipeline))
            .order(deals::created_at.asc())
            .select(Self::as_select())
            .load(conn)
            .await
    }

    /// How many deals sit in a stage (a stage with deals cannot be deleted).
    pub async fn count_in_stage(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        stage: StageId,
    ) -> QueryResult<i64> {
        deals::table
            .filter(deals::organization_id.eq(org))
            .filter(deals::stage_id.eq(stage))
            .count()
            .get_result(conn)
            .await
    }

    /// Applies changes.
    pub async fn update(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: DealId,
        form: &DealUpdateForm,
    ) -> QueryResult<Self> {
        diesel::update(
            deals::table
                .filter(deals::organization_id.eq(org))
                .filter(deals::id.eq(id)),
        )
        .set(form)
        .returning(Self::as_returning())
        .get_result(conn)
        .await
    }

    /// Deletes a deal.
    pub async fn delete(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: DealId,
    ) -> QueryResult<usize> {
        diesel::delete(
            deals::table
                .filter(deals::organization_id.eq(org))
                .filter(deals::id.eq(id)),
        )
        .execute(conn)
        .await
    }
}
