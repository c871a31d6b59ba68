//! `PATCH /api/v1/pipelines/{id}/stages/{stage_id}`: rename, re-weigh, or move a stage; a move
//! shifts the stages between its old and new place by one, so positions stay contiguous.

use actix_web::{HttpResponse, patch, web};
use diesel_async::AsyncConnection;
use validator::Validate;

use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::api::pipelines::form::UpdateStage;
use crate::api::pipelines::response::{pipeline_not_found, stage_not_found};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{Pipeline, PipelineStage, PipelineStageUpdateForm};
use crate::db::or_unchanged;
use crate::domain::{PipelineId, Scope, StageId};

/// Changes or moves a stage.
#[utoipa::path(patch, path = "/api/v1/pipelines/{id}/stages/{stage_id}", tag = "pipelines",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid), ("stage_id" = String, Path, format = Uuid)),
    request_body = UpdateStage,
    responses((status = 200, body = PipelineStage), (status = 404, body = ErrorResponse),
              (status = 422, body = ErrorResponse)))]
#[patch("/pipelines/{id}/stages/{stage_id}")]
pub async fn update_stage(
    ctx: web::Data<AppContext>,
    caller: Caller,
    path: web::Path<(PipelineId, StageId)>,
    body: web::Json<UpdateStage>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Configure)?;
    body.validate()?;
    let body = body.into_inner();
    let (pipeline_id, stage_id) = path.into_inner();
    let org = caller.organization_id;
    let mut conn = ctx.db().get().await?;
    let stage = conn
        .transaction::<_, ApiError, _>(async |conn| {
            Pipeline::lock(conn, org, pipeline_id)
                .await
                .map_err(pipeline_not_found)?;
            let before = PipelineStage::find(conn, org, pipeline_id, stage_id)
                .await
                .map_err(stage_not_found)?;
            let mut form = PipelineStageUpdateForm {
                name: body.name.map(|n| n.trim().to_owned()),
                position: None,
                probability: body.probability,
                outcome: body.outcome,
            };
            if let Some(wanted) = body.position {
                let last = PipelineStage::count(conn, org, pipeline_id).await? - 1;
                let (old, new) = (before.position, wanted.min(last));
                if new < old {
                    PipelineStage::shift(conn, org, pipeline_id, new, old - 1, 1).await?;
                } else if new > old {
                    PipelineStage::shift(conn, org, pipeline_id, old + 1, new, -1).await?;
                }
                if new != old {
                    form.position = Some(new);
                }
            }
            let after = or_unchanged(
                PipelineStage::update(conn, org, pipeline_id, stage_id, &form).await,
                &before,
            )?;
            audit::updated(conn, &caller, "pipeline_stage", stage_id, &before, &after).await?;
            Ok(after)
        })
        .await?;
    Ok(HttpResponse::Ok().json(stage))
}
