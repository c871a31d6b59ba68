//! `GET /api/v1/pipelines`: a page of pipelines, each with its stages.

use actix_web::{HttpResponse, get, web};

use super::response::PipelineResponse;
use crate::api::error::{ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::Pipeline;
use crate::db::pagination::{PageParams, PageRequest};
use crate::domain::Scope;

/// Lists pipelines, newest first.
#[utoipa::path(get, path = "/api/v1/pipelines", tag = "pipelines", security(("bearer" = [])),
    params(PageParams),
    responses((status = 200, description = "a page of pipelines", body = inline(crate::db::pagination::Page<PipelineResponse>)),
              (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse)))]
#[get("/pipelines")]
pub async fn list_pipelines(
    ctx: web::Data<AppContext>,
    caller: Caller,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Read)?;
    let page = PageRequest::from_params(&page)?;
    let mut conn = ctx.db().get().await?;
    let pipelines = Pipeline::list(&mut conn, caller.organization_id, page).await?;
    let response =
        PipelineResponse::load_page(&mut conn, caller.organization_id, pipelines).await?;
    Ok(HttpResponse::Ok().json(response))
}
