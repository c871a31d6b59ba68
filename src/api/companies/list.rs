//! `GET /api/v1/companies`: a page of companies, optionally searched by name.

use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::error::{ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::Company;
use crate::db::pagination::{PageParams, PageRequest};
use crate::domain::Scope;

/// Filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CompanyQuery {
    /// Substring of the name, case-insensitive.
    pub q: Option<String>,
}

/// Lists companies, newest first.
#[utoipa::path(get, path = "/api/v1/companies", tag = "companies", security(("bearer" = [])),
    params(CompanyQuery, PageParams),
    responses((status = 200, description = "a page of companies", body = inline(crate::db::pagination::Page<Company>)),
              (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse)))]
#[get("/companies")]
pub async fn list_companies(
    ctx: web::Data<AppContext>,
    caller: Caller,
    filter: web::Query<CompanyQuery>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Read)?;
    let page = PageRequest::from_params(&page)?;
    let mut conn = ctx.db().get().await?;
    let companies = Company::list(
        &mut conn,
        caller.organization_id,
        filter.q.as_deref().map(str::trim),
        page,
    )
    .await?;
    Ok(HttpResponse::Ok().json(companies))
}
