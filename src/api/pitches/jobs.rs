//! `GET /api/v1/pitches/jobs/{id}`: a batch job's status, counts and per-contact results.

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{PitchJob, PitchJobItem};
use crate::domain::{PitchJobId, Scope};

/// A job and its items.
#[derive(Debug, Serialize, ToSchema)]
pub struct PitchJobResponse {
    /// Status and counts.
    pub job: PitchJob,
    /// One per contact, in request order.
    pub items: Vec<PitchJobItem>,
}

/// A batch job's status and results.
#[utoipa::path(get, path = "/api/v1/pitches/jobs/{id}", tag = "pitches",
    security(("bearer" = [])), params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = PitchJobResponse), (status = 404, body = ErrorResponse)))]
#[get("/pitches/jobs/{id}")]
pub async fn get_pitch_job(
    ctx: web::Data<AppContext>,
    caller: Caller,
    id: web::Path<PitchJobId>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Read)?;
    let mut conn = ctx.db().get().await?;
    let job = PitchJob::find(&mut conn, caller.organization_id, *id)
        .await
        .map_err(|e| match e {
            diesel::result::Error::NotFound => ApiError::not_found("pitch job"),
            other => other.into(),
        })?;
    let items = PitchJob::items(&mut conn, job.id).await?;
    Ok(HttpResponse::Ok().json(PitchJobResponse { job, items }))
}
