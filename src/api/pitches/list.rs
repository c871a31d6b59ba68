//! `GET /api/v1/pitches`: a page of the organisation's pitches, newest first, optionally of
//! one contact.

use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::error::{ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::Pitch;
use crate::db::pagination::{PageParams, PageRequest};
use crate::domain::{ContactId, Scope};

/// Filters of the list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PitchQuery {
    /// Only this contact's pitches.
    pub contact_id: Option<ContactId>,
}

/// Lists pitches, newest first.
#[utoipa::path(get, path = "/api/v1/pitches", tag = "pitches", security(("bearer" = [])),
    params(PitchQuery, PageParams),
    responses((status = 200, description = "a page of pitches", body = inline(crate::db::pagination::Page<Pitch>)),
              (status = 400, body = ErrorResponse)))]
#[get("/pitches")]
pub async fn list_pitches(
    ctx: web::Data<AppContext>,
    caller: Caller,
    filter: web::Query<PitchQuery>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Read)?;
    let page = PageRequest::from_params(&page)?;
    let mut conn = ctx.db().get().await?;
    let rows = Pitch::list(&mut conn, caller.organization_id, filter.contact_id, page).await?;
    Ok(HttpResponse::Ok().json(rows))
}
