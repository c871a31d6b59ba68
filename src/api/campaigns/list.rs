//! `GET /api/v1/campaigns`: a page of campaigns (without steps), optionally of one status.

use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::error::{ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{Campaign, CampaignFilter};
use crate::db::pagination::{PageParams, PageRequest};
use crate::domain::{CampaignStatus, Scope};

/// Filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CampaignQuery {
    /// Only this status.
    pub status: Option<CampaignStatus>,
}

/// Lists campaigns, newest first.
#[utoipa::path(get, path = "/api/v1/campaigns", tag = "campaigns", security(("bearer" = [])),
    params(CampaignQuery, PageParams),
    responses((status = 200, description = "a page of campaigns", body = inline(crate::db::pagination::Page<Campaign>)),
              (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse)))]
#[get("/campaigns")]
pub async fn list_campaigns(
    ctx: web::Data<AppContext>,
    caller: Caller,
    filter: web::Query<CampaignQuery>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Read)?;
    let page = PageRequest::from_params(&page)?;
    let filter = CampaignFilter {
        status: filter.status,
    };
    let mut conn = ctx.db().get().await?;
    let campaigns = Campaign::list(&mut conn, caller.organization_id, &filter, page).await?;
    Ok(HttpResponse::Ok().json(campaigns))
}
