//! `DELETE /api/v1/pipelines/{id}`: removes the pipeline, its stages and its deals. Each
//! removed deal gets its own audit entry, so a deal's history ends with the deletion.

use actix_web::{HttpResponse, delete, web};
use diesel_async::AsyncConnection;

use super::response::{PipelineResponse, pipeline_not_found};
use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{Deal, Pipeline};
use crate::domain::{PipelineId, Scope};

/// Deletes a pipeline with its stages and deals.
#[utoipa::path(delete, path = "/api/v1/pipelines/{id}", tag = "pipelines", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    responses((status = 204, description = "deleted, with its stages and deals"),
              (status = 404, body = ErrorResponse)))]
#[delete("/pipelines/{id}")]
pub async fn delete_pipeline(
    ctx: web::Data<AppContext>,
    caller: Caller,
    id: web::Path<PipelineId>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Configure)?;
    let id = *id;
    let org = caller.organization_id;
    let mut conn = ctx.db().get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let pipeline = Pipeline::lock(conn, org, id)
            .await
            .map_err(pipeline_not_found)?;
        let before = PipelineResponse::load(conn, pipeline).await?;
        let deals = Deal::all_in_pipeline(conn, org, id).await?;
        Pipeline::delete(conn, org, id).await?;
        for deal in &deals {
            audit::deleted(conn, &caller, "deal", deal.id, deal).await?;
        }
        audit::deleted(conn, &caller, "pipeline", id, &before).await?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
