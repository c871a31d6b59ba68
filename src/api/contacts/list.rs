//! `GET /api/v1/contacts`: a page of contacts, filtered.

use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::error::{ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{Contact, ContactFilter};
use crate::db::pagination::{PageParams, PageRequest};
use crate::domain::{CompanyId, Scope};

/// Filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContactQuery {
    /// Substring of name or email.
    pub q: Option<String>,
    /// Has this tag.
    pub tag: Option<String>,
    /// At this company.
    pub company_id: Option<CompanyId>,
}

/// Lists contacts, newest first.
#[utoipa::path(get, path = "/api/v1/contacts", tag = "contacts", security(("bearer" = [])),
    params(ContactQuery, PageParams),
    responses((status = 200, description = "a page of contacts", body = inline(crate::db::pagination::Page<Contact>)),
              (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse)))]
#[get("/contacts")]
pub async fn list_contacts(
    ctx: web::Data<AppContext>,
    caller: Caller,
    filter: web::Query<ContactQuery>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Read)?;
    let page = PageRequest::from_params(&page)?;
    let filter = filter.into_inner();
    let filter = ContactFilter {
        query: filter.q,
        tag: filter.tag,
        company_id: filter.company_id,
    };
    let mut conn = ctx.db().get().await?;
    let contacts = Contact::list(&mut conn, caller.organization_id, &filter, page).await?;
    Ok(HttpResponse::Ok().json(contacts))
}
