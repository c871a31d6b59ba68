//! `POST /api/v1/pipelines/{id}/stages`: appends a stage, or inserts it at `position` and moves
//! the stages from there on down one.

use actix_web::{HttpResponse, post, web};
use diesel_async::AsyncConnection;
use validator::Validate;

use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::api::pipelines::form::{CreateStage, MAX_STAGES};
use crate::api::pipelines::response::pipeline_not_found;
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{Pipeline, PipelineStage, PipelineStageInsertForm};
use crate::domain::{PipelineId, Scope, StageId, StageOutcome};

/// Adds a stage to a pipeline.
#[utoipa::path(post, path = "/api/v1/pipelines/{id}/stages", tag = "pipelines",
    security(("bearer" = [])), params(("id" = String, Path, format = Uuid)),
    request_body = CreateStage,
    responses((status = 201, body = PipelineStage), (status = 404, body = ErrorResponse),
              (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[post("/pipelines/{id}/stages")]
pub async fn create_stage(
    ctx: web::Data<AppContext>,
    caller: Caller,
    id: web::Path<PipelineId>,
    body: web::Json<CreateStage>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Configure)?;
    body.validate()?;
    let body = body.into_inner();
    let pipeline_id = *id;
    let org = caller.organization_id;
    let mut conn = ctx.db().get().await?;
    let stage = conn
        .transaction::<_, ApiError, _>(async |conn| {
            Pipeline::lock(conn, org, pipeline_id)
                .await
                .map_err(pipeline_not_found)?;
            let count = PipelineStage::count(conn, org, pipeline_id).await?;
            if count as usize >= MAX_STAGES {
                return Err(ApiError::conflict(
                    "too_many_stages",
                    format!("a pipeline has at most {MAX_STAGES} stages"),
                ));
            }
            let position = body.position.map_or(count, |p| p.min(count));
            PipelineStage::shift(conn, org, pipeline_id, position, i32::MAX, 1).await?;
            let form = PipelineStageInsertForm {
                id: StageId::new(),
                organization_id: org,
                pipeline_id,
                name: body.name.trim().to_owned(),
                position,
                probability: body.probability.unwrap_or(0),
                outcome: body.outcome.unwrap_or(StageOutcome::Open),
            };
            let stage = PipelineStage::create(conn, &form).await?;
            audit::created(conn, &caller, "pipeline_stage", stage.id, &stage).await?;
            Ok(stage)
        })
        .await?;
    Ok(HttpResponse::Created().json(stage))
}
