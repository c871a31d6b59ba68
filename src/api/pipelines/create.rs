//! `POST /api/v1/pipelines`: a pipeline with its initial stages, in one transaction.

use actix_web::{HttpResponse, post, web};
use diesel_async::AsyncConnection;

use super::form::CreatePipeline;
use super::response::{PipelineResponse, write_error};
use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{Pipeline, PipelineInsertForm, PipelineStage, PipelineStageInsertForm};
use crate::domain::{PipelineId, Scope, StageId, StageOutcome};

/// Creates a pipeline. With `is_default: true` the previous default stops being one.
#[utoipa::path(post, path = "/api/v1/pipelines", tag = "pipelines", security(("bearer" = [])),
    request_body = CreatePipeline,
    responses((status = 201, body = PipelineResponse), (status = 403, body = ErrorResponse),
              (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[post("/pipelines")]
pub async fn create_pipeline(
    ctx: web::Data<AppContext>,
    caller: Caller,
    body: web::Json<CreatePipeline>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Configure)?;
    body.validate_all()?;
    let body = body.into_inner();
    let org = caller.organization_id;
    let id = PipelineId::new();
    let stages: Vec<PipelineStageInsertForm> = body
        .stages
        .into_iter()
        .zip(0..)
        .map(|(stage, position)| PipelineStageInsertForm {
            id: StageId::new(),
            organization_id: org,
            pipeline_id: id,
            name: stage.name.trim().to_owned(),
            position,
            probability: stage.probability.unwrap_or(0),
            outcome: stage.outcome.unwrap_or(StageOutcome::Open),
        })
        .collect();
    let mut conn = ctx.db().get().await?;
    let response = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let is_default = match body.is_default {
                Some(flag) => flag,
                None => match Pipeline::find_default(conn, org).await {
                    Ok(_) => false,
                    Err(diesel::result::Error::NotFound) => true,
                    Err(e) => return Err(e.into()),
                },
            };
            if is_default {
                Pipeline::clear_default(conn, org, id).await?;
            }
            let form = PipelineInsertForm {
                id,
                organization_id: org,
                name: body.name.trim().to_owned(),
                is_default,
            };
            let pipeline = Pipeline::create(conn, &form).await.map_err(write_error)?;
            let stages = PipelineStage::create_many(conn, &stages).await?;
            let response = PipelineResponse { pipeline, stages };
            audit::created(conn, &caller, "pipeline", id, &response).await?;
            Ok(response)
        })
        .await?;
    Ok(HttpResponse::Created().json(response))
}
