//! Resolving and checking what a deal points at: which pipeline and stage it lands in when the
//! body leaves them out, whether the owner is a member, and clear answers when the database
//! refuses a reference.

use actix_web::http::StatusCode;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::AsyncPgConnection;
use serde_json::json;

use crate::api::error::ApiError;
use crate::db::models::{Member, Pipeline, PipelineStage};
use crate::domain::{OrganizationId, PipelineId, StageId, UserId};

/// 422 `invalid_reference` naming the field, like the database's foreign keys produce.
pub fn invalid_reference(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_reference",
        message.into(),
    )
    .with_details(json!({ "field": field }))
}

/// Where a new deal goes: the named pipeline and stage; the stage's own pipeline when only a
/// stage is named; the named (or default) pipeline's first stage when no stage is named.
pub async fn placement(
    conn: &mut AsyncPgConnection,
    org: OrganizationId,
    pipeline: Option<PipelineId>,
    stage: Option<StageId>,
) -> Result<(PipelineId, StageId), ApiError> {
    match (pipeline, stage) {
        (Some(pipeline), Some(stage)) => {
            check_pipeline(conn, org, pipeline).await?;
            Ok((pipeline, stage))
        }
        (Some(pipeline), None) => {
            check_pipeline(conn, org, pipeline).await?;
            Ok((pipeline, first_stage(conn, org, pipeline).await?))
        }
        (None, Some(stage)) => match PipelineStage::find_any(conn, org, stage).await {
            Ok(found) => Ok((found.pipeline_id, stage)),
            Err(DieselError::NotFound) => Err(invalid_reference(
                "stage_id",
                "stage_id does not name a pipeline stage of this organisation",
            )),
            Err(e) => Err(e.into()),
        },
        (None, None) => {
            let pipeline = match Pipeline::find_default(conn, org).await {
                Ok(p) => p.id,
                Err(DieselError::NotFound) => {
                    return Err(ApiError::invalid_field(
                        "pipeline_id",
                        "is required: the organisation has no default pipeline",
                    ));
                }
                Err(e) => return Err(e.into()),
            };
            Ok((pipeline, first_stage(conn, org, pipeline).await?))
        }
    }
}

/// Refuses a pipeline that is not the organisation's.
pub async fn check_pipeline(
    conn: &mut AsyncPgConnection,
    org: OrganizationId,
    pipeline: PipelineId,
) -> Result<(), ApiError> {
    match Pipeline::find(conn, org, pipeline).await {
        Ok(_) => Ok(()),
        Err(DieselError::NotFound) => Err(invalid_reference(
            "pipeline_id",
            "pipeline_id does not name a pipeline of this organisation",
        )),
        Err(e) => Err(e.into()),
    }
}

/// The pipeline's first stage, where deals start.
pub async fn first_stage(
    conn: &mut AsyncPgConnection,
    org: OrganizationId,
    pipeline: PipelineId,
) -> Result<StageId, ApiError> {
    match PipelineStage::first(conn, org, pipeline).await {
        Ok(stage) => Ok(stage.id),
        Err(DieselError::NotFound) => Err(ApiError::invalid_field(
            "pipeline_id",
            "the pipeline has no stages yet; add one first",
        )),
        Err(e) => Err(e.into()),
    }
}

/// Refuses an owner who is not a member of the organisation.
pub async fn check_owner(
    conn: &mut AsyncPgConnection,
    org: OrganizationId,
    owner: UserId,
) -> Result<(), ApiError> {
    match Member::find_for_user(conn, org, owner).await {
        Ok(_) => Ok(()),
        Err(DieselError::NotFound) => Err(invalid_reference(
            "owner_user_id",
            "owner_user_id is not a member of this organisation",
        )),
        Err(e) => Err(e.into()),
    }
}

/// Maps a refused insert or update of a deal; a stage outside the deal's pipeline gets its own
/// message (the generic one would blame the organisation).
pub fn write_error(error: DieselError) -> ApiError {
    match &error {
        DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, info)
            if info.constraint_name() == Some("deals_stage_fk") =>
        {
            invalid_reference("stage_id", "stage_id is not a stage of the deal's pipeline")
        }
        _ => error.into(),
    }
}
