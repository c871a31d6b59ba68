//! `GET /api/v1/deals`: a page of deals, filtered.

use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::error::{ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{Deal, DealFilter};
use crate::db::pagination::{PageParams, PageRequest};
use crate::domain::{CompanyId, ContactId, PipelineId, Scope, StageId, UserId};

/// Filters; all given ones must match.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DealQuery {
    /// In this pipeline.
    pub pipeline_id: Option<PipelineId>,
    /// In this stage.
    pub stage_id: Option<StageId>,
    /// With this contact.
    pub contact_id: Option<ContactId>,
    /// With this company.
    pub company_id: Option<CompanyId>,
    /// Owned by this user.
    pub owner_user_id: Option<UserId>,
}

/// Lists deals, newest first.
#[utoipa::path(get, path = "/api/v1/deals", tag = "deals", security(("bearer" = [])),
    params(DealQuery, PageParams),
    responses((status = 200, description = "a page of deals", body = inline(crate::db::pagination::Page<Deal>)),
              (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse)))]
#[get("/deals")]
pub async fn list_deals(
    ctx: web::Data<AppContext>,
    caller: Caller,
    filter: web::Query<DealQuery>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Read)?;
    let page = PageRequest::from_params(&page)?;
    let filter = filter.into_inner();
    let filter = DealFilter {
        pipeline_id: filter.pipeline_id,
        stage_id: filter.stage_id,
        contact_id: filter.contact_id,
        company_id: filter.company_id,
        owner_user_id: filter.owner_user_id,
    };
    let mut conn = ctx.db().get().await?;
    let deals = Deal::list(&mut conn, caller.organization_id, &filter, page).await?;
    Ok(HttpResponse::Ok().json(deals))
}
