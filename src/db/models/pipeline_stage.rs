//! `pipeline_stages`: the ordered steps of a pipeline. Positions run 0, 1, 2, ... without gaps;
//! the unique `(pipeline_id, position)` constraint is checked at commit, so a transaction may
//! shift several stages through each other's positions.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::pipeline_stages;
use crate::domain::{OrganizationId, PipelineId, StageId, StageOutcome};

/// A stage of a pipeline.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize, ToSchema)]
#[diesel(table_name = pipeline_stages, check_for_backend(diesel::pg::Pg))]
pub struct PipelineStage {
    /// Id.
    pub id: StageId,
    /// Organisation.
    #[serde(skip)]
    pub organization_id: OrganizationId,
    /// The pipeline.
    pub pipeline_id: PipelineId,
    /// Name.
    pub name: String,
    /// Place in the pipeline, from 0.
    pub position: i32,
    /// Chance (percent) that a deal in this stage is won, for forecasts.
    pub probability: i32,
    /// Whether deals here are still open, won or lost.
    pub outcome: StageOutcome,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A new stage.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = pipeline_stages)]
pub struct PipelineStageInsertForm {
    /// Id.
    pub id: StageId,
    /// Organisation.
    pub organization_id: OrganizationId,
    /// Pipeline.
    pub pipeline_id: PipelineId,
    /// Name.
    pub name: String,
    /// Position (make room first).
    pub position: i32,
    /// Probability.
    pub probability: i32,
    /// Outcome.
    pub outcome: StageOutcome,
}

/// Changes to a stage.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = pipeline_stages)]
pub struct PipelineStageUpdateForm {
    /// Name.
    pub name: Option<String>,
    /// Position (make room first).
    pub position: Option<i32>,
    /// Probability.
    pub probability: Option<i32>,
    /// Outcome.
    pub outcome: Option<StageOutcome>,
}

impl PipelineStage {
    /// Inserts a stage.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        form: &PipelineStageInsertForm,
    ) -> QueryResult<Self> {
        diesel::insert_into(pipeline_stages::table)
            .values(form)
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }

    /// Inserts several stages at once.
    pub async fn create_many(
        conn: &mut AsyncPgConnection,
        forms: &[PipelineStageInsertForm],
    ) -> QueryResult<Vec<Self>> {
        if forms.is_empty() {
            return Ok(Vec::new());
        }
        let mut rows: Vec<Self> = diesel::insert_into(pipeline_stages::table)
            .values(forms)
            .returning(Self::as_returning())
            .get_results(conn)
            .await?;
        rows.sort_by_key(|s| s.position);
        Ok(rows)
    }

    /// One stage of one of the organisation's pipelines.
    pub async fn find(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        pipeline: PipelineId,
        id: StageId,
    ) -> QueryResult<Self> {
        pipeline_stages::table
            .filter(pipeline_stages::organization_id.eq(org))
            .filter(pipeline_stages::pipeline_id.eq(pipeline))
            .filter(pipeline_stages::id.eq(id))
            .select(Self::as_select())
            .first(conn)
            .await
    }

    /// One stage of the organisation, whichever pipeline it is in.
    pub async fn find_any(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: StageId,
    ) -> QueryResult<Self> {
        pipeline_stages::table
            .filter(pipeline_stages::organization_id.eq(org))
            .filter(pipeline_stages::id.eq(id))
            .select(Self::as_select())
            .first(conn)
            .await
    }

    /// The pipeline's first stage (lowest position), where new deals start.
    pub async fn first(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        pipeline: PipelineId,
    ) -> QueryResult<Self> {
        pipeline_stages::table
            .filter(pipeline_stages::organization_id.eq(org))
            .filter(pipeline_stages::pipeline_id.eq(pipeline))
            .order(pipeline_stages::position.asc())
            .select(Self::as_select())
            .first(conn)
            .await
    }

    /// The stages of several pipelines, each pipeline's in position order.
    pub async fn for_pipelines(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        pipelines: &[PipelineId],
    ) -> QueryResult<Vec<Self>> {
        pipeline_stages::table
            .filter(pipeline_stages::organization_id.eq(org))
            .filter(pipeline_stages::pipeline_id.eq_any(pipelines))
            .order((
                pipeline_stages::pipeline_id.asc(),
                pipeline_stages::position.asc(),
            ))
            .select(Self::as_select())
            .load(conn)
            .await
    }

    /// How many stages the pipeline has (the next free position).
    pub async fn count(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        pipeline: PipelineId,
    ) -> QueryResult<i32> {
        let n: i64 = pipeline_stages::table
            .filter(pipeline_stages::organization_id.eq(org))
            .filter(pipeline_stages::pipeline_id.eq(pipeline))
            .count()
            .get_result(conn)
            .await?;
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }

    /// Adds `delta` to the position of every stage of the pipeline whose position lies in
    /// `from..=to`: the room-making half of an insert, a move or a delete.
    pub async fn shift(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        pipeline: PipelineId,
        from: i32,
        to: i32,
        delta: i32,
    ) -> QueryResult<usize> {
        diesel::update(
            pipeline_stages::table
                .filter(pipeline_stages::organization_id.eq(org))
                .filter(pipeline_stages::pipeline_id.eq(pipeline))
                .filter(pipeline_stages::position.between(from, to)),
        )
        .set(pipeline_stages::position.eq(pipeline_stages::position + delta))
        .execute(conn)
        .await
    }

    /// Applies changes.
    pub async fn update(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        pipeline: PipelineId,
        id: StageId,
        form: &PipelineStageUpdateForm,
    ) -> QueryResult<Self> {
        diesel::update(
            pipeline_stages::table
                .filter(pipeline_stages::organization_id.eq(org))
                .filter(pipeline_stages::pipeline_id.eq(pipeline))
                .filter(pipeline_stages::id.eq(id)),
        )
        .set(form)
        .returning(Self::as_returning())
        .get_result(conn)
        .await
    }

    /// Deletes a stage; the database refuses while deals are in it (`deals_stage_fk`).
    pub async fn delete(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        pipeline: PipelineId,
        id: StageId,
    ) -> QueryResult<usize> {
        diesel::delete(
            pipeline_stages::table
                .filter(pipeline_stages::organization_id.eq(org))
                .filter(pipeline_stages::pipeline_id.eq(pipeline))
                .filter(pipeline_stages::id.eq(id)),
        )
        .execute(conn)
        .await
    }
}
