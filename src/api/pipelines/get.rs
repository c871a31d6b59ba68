//! `GET /api/v1/pipelines/{id}`: a pipeline with its stages in order.

use actix_web::{HttpResponse, get, web};

use super::response::{PipelineResponse, pipeline_not_found};
use crate::api::error::{ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::Pipeline;
use crate::domain::{PipelineId, Scope};

/// One pipeline with its stages.
#[utoipa::path(get, path = "/api/v1/pipelines/{id}", tag = "pipelines", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = PipelineResponse), (status = 404, body = ErrorResponse)))]
#[get("/pipelines/{id}")]
pub async fn get_pipeline(
    ctx: web::Data<AppContext>,
    caller: Caller,
    id: web::Path<PipelineId>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Read)?;
    let mut conn = ctx.db().get().await?;
    let pipeline = Pipeline::find(&mut conn, caller.organization_id, *id)
        .await
        .map_err(pipeline_not_found)?;
    let response = PipelineResponse::load(&mut conn, pipeline).await?;
    Ok(HttpResponse::Ok().json(response))
}
