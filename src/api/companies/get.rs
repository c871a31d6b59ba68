//! `GET /api/v1/companies/{id}`.

use actix_web::{HttpResponse, get, web};

use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::Company;
use crate::domain::{CompanyId, Scope};

/// One company.
#[utoipa::path(get, path = "/api/v1/companies/{id}", tag = "companies", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = Company), (status = 404, body = ErrorResponse)))]
#[get("/companies/{id}")]
pub async fn get_company(
    ctx: web::Data<AppContext>,
    caller: Caller,
    id: web::Path<CompanyId>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Read)?;
    let mut conn = ctx.db().get().await?;
    let company = Company::find(&mut conn, caller.organization_id, *id)
        .await
        .map_err(not_found)?;
    Ok(HttpResponse::Ok().json(company))
}

/// Maps a missing row to this resource's 404.
pub(super) fn not_found(error: diesel::result::Error) -> ApiError {
    match error {
        diesel::result::Error::NotFound => ApiError::not_found("company"),
        other => other.into(),
    }
}
