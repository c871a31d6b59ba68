//! `DELETE /api/v1/pipelines/{id}/stages/{stage_id}`: removes an empty stage and closes the gap.
//! A stage that still holds deals is refused with 409 `stage_in_use`.

use actix_web::{HttpResponse, delete, web};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::AsyncConnection;

use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::api::pipelines::response::{pipeline_not_found, stage_not_found};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{Deal, Pipeline, PipelineStage};
use crate::domain::{PipelineId, Scope, StageId};

/// Deletes a stage that holds no deals.
#[utoipa::path(delete, path = "/api/v1/pipelines/{id}/stages/{stage_id}", tag = "pipelines",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid), ("stage_id" = String, Path, format = Uuid)),
    responses((status = 204, description = "deleted"), (status = 404, body = ErrorResponse),
              (status = 409, description = "deals are still in the stage", body = ErrorResponse)))]
#[delete("/pipelines/{id}/stages/{stage_id}")]
pub async fn delete_stage(
    ctx: web::Data<AppContext>,
    caller: Caller,
    path: web::Path<(PipelineId, StageId)>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Configure)?;
    let (pipeline_id, stage_id) = path.into_inner();
    let org = caller.organization_id;
    let mut conn = ctx.db().get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        Pipeline::lock(conn, org, pipeline_id)
            .await
            .map_err(pipeline_not_found)?;
        let before = PipelineStage::find(conn, org, pipeline_id, stage_id)
            .await
            .map_err(stage_not_found)?;
        let deals = Deal::count_in_stage(conn, org, stage_id).await?;
        if deals > 0 {
            return Err(stage_in_use(deals));
        }
        // A deal may have entered the stage since the count; the foreign key then refuses.
        PipelineStage::delete(conn, org, pipeline_id, stage_id)
            .await
            .map_err(|e| match e {
                DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
                    stage_in_use(1)
                }
                other => other.into(),
            })?;
        PipelineStage::shift(conn, org, pipeline_id, before.position + 1, i32::MAX, -1).await?;
        audit::deleted(conn, &caller, "pipeline_stage", stage_id, &before).await?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

fn stage_in_use(deals: i64) -> ApiError {
    let what = if deals == 1 {
        "1 deal is".to_owned()
    } else {
        format!("{deals} deals are")
    };
    ApiError::conflict(
        "stage_in_use",
        format!("{what} still in this stage; move them to another stage before deleting it"),
    )
    .with_details(serde_json::json!({ "deals": deals }))
}
