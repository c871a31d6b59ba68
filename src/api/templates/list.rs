//! `GET /api/v1/templates`: a page of templates, optionally of one kind.

use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::error::{ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{Template, TemplateFilter};
use crate::db::pagination::{PageParams, PageRequest};
use crate::domain::{Scope, TemplateKind};

/// Filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TemplateQuery {
    /// Only this kind.
    pub kind: Option<TemplateKind>,
}

/// Lists templates, newest first.
#[utoipa::path(get, path = "/api/v1/templates", tag = "templates", security(("bearer" = [])),
    params(TemplateQuery, PageParams),
    responses((status = 200, description = "a page of templates", body = inline(crate::db::pagination::Page<Template>)),
              (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse)))]
#[get("/templates")]
pub async fn list_templates(
    ctx: web::Data<AppContext>,
    caller: Caller,
    filter: web::Query<TemplateQuery>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Read)?;
    let page = PageRequest::from_params(&page)?;
    let filter = TemplateFilter { kind: filter.kind };
    let mut conn = ctx.db().get().await?;
    let templates = Template::list(&mut conn, caller.organization_id, &filter, page).await?;
    Ok(HttpResponse::Ok().json(templates))
}
