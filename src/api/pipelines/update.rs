//! `PATCH /api/v1/pipelines/{id}`: rename, or make it (or stop it being) the default.

use actix_web::{HttpResponse, patch, web};
use diesel_async::AsyncConnection;
use validator::Validate;

use super::form::UpdatePipeline;
use super::response::{PipelineResponse, pipeline_not_found, write_error};
use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{Pipeline, PipelineUpdateForm};
use crate::db::or_unchanged;
use crate::domain::{PipelineId, Scope};

/// Changes a pipeline. `is_default: true` unmarks the previous default in the same transaction.
#[utoipa::path(patch, path = "/api/v1/pipelines/{id}", tag = "pipelines", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)), request_body = UpdatePipeline,
    responses((status = 200, body = PipelineResponse), (status = 404, body = ErrorResponse),
              (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[patch("/pipelines/{id}")]
pub async fn update_pipeline(
    ctx: web::Data<AppContext>,
    caller: Caller,
    id: web::Path<PipelineId>,
    body: web::Json<UpdatePipeline>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Configure)?;
    body.validate()?;
    let body = body.into_inner();
    let form = PipelineUpdateForm {
        name: body.name.map(|n| n.trim().to_owned()),
        is_default: body.is_default,
    };
    let id = *id;
    let org = caller.organization_id;
    let mut conn = ctx.db().get().await?;
    let response = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let before = Pipeline::find(conn, org, id)
                .await
                .map_err(pipeline_not_found)?;
            if form.is_default == Some(true) {
                Pipeline::clear_default(conn, org, id).await?;
            }
            let after = or_unchanged(Pipeline::update(conn, org, id, &form).await, &before)
                .map_err(write_error)?;
            audit::updated(conn, &caller, "pipeline", id, &before, &after).await?;
            Ok(PipelineResponse::load(conn, after).await?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(response))
}
