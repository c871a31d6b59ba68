//! What pipeline endpoints answer: a pipeline with its stages in order.

use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;

use crate::api::error::ApiError;
use crate::db::models::{Pipeline, PipelineStage};
use crate::db::pagination::Page;
use crate::domain::{OrganizationId, PipelineId};

/// A pipeline with its stages ordered by position.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PipelineResponse {
    /// The pipeline.
    #[serde(flatten)]
    pub pipeline: Pipeline,
    /// Its stages, first to last.
    pub stages: Vec<PipelineStage>,
}

impl PipelineResponse {
    /// Loads the stages of one pipeline.
    pub async fn load(conn: &mut AsyncPgConnection, pipeline: Pipeline) -> QueryResult<Self> {
        let stages =
            PipelineStage::for_pipelines(conn, pipeline.organization_id, &[pipeline.id]).await?;
        Ok(Self { pipeline, stages })
    }

    /// Loads the stages of a page of pipelines with one query.
    pub async fn load_page(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        page: Page<Pipeline>,
    ) -> QueryResult<Page<Self>> {
        let ids: Vec<_> = page.items.iter().map(|p| p.id).collect();
        let mut by_pipeline: HashMap<PipelineId, Vec<PipelineStage>> = HashMap::new();
        for stage in PipelineStage::for_pipelines(conn, org, &ids).await? {
            by_pipeline
                .entry(stage.pipeline_id)
                .or_default()
                .push(stage);
        }
        Ok(page.map(|pipeline| Self {
            stages: by_pipeline.remove(&pipeline.id).unwrap_or_default(),
            pipeline,
        }))
    }
}

/// Maps a missing pipeline to this resource's 404.
pub(super) fn pipeline_not_found(error: diesel::result::Error) -> ApiError {
    match error {
        diesel::result::Error::NotFound => ApiError::not_found("pipeline"),
        other => other.into(),
    }
}

/// Maps a missing stage to its 404.
pub(super) fn stage_not_found(error: diesel::result::Error) -> ApiError {
    match error {
        diesel::result::Error::NotFound => ApiError::not_found("pipeline_stage"),
        other => other.into(),
    }
}

/// Maps the pipeline uniqueness rules to answers that say which rule was broken.
pub(super) fn write_error(error: diesel::result::Error) -> ApiError {
    use diesel::result::{DatabaseErrorKind, Error};
    match &error {
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            match info.constraint_name() {
                Some("pipelines_one_default") => ApiError::conflict(
                    "concurrent_update",
                    "another request changed the default pipeline at the same time; retry",
                ),
                Some("pipelines_organization_id_name_key") => {
                    ApiError::conflict("already_exists", "a pipeline with this name already exists")
                        .with_details(serde_json::json!({ "field": "name" }))
                }
                _ => error.into(),
            }
        }
        _ => error.into(),
    }
}
