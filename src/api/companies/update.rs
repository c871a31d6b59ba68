//! `PATCH /api/v1/companies/{id}`.

use actix_web::{HttpResponse, patch, web};
use diesel_async::AsyncConnection;

use super::form::UpdateCompany;
use super::get::not_found;
use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{Company, CompanyUpdateForm};
use crate::db::or_unchanged;
use crate::domain::{CompanyId, Scope};

impl UpdateCompany {
    fn into_form(self) -> CompanyUpdateForm {
        CompanyUpdateForm {
            name: self.name.map(|n| n.trim().to_owned()),
            domain: self
                .domain
                .map(|d| d.map(|d| d.trim().to_ascii_lowercase())),
            industry: self.industry,
            size: self.size,
            website: self.website,
            description: self.description,
            attributes: self.attributes,
        }
    }
}

/// Changes a company.
#[utoipa::path(patch, path = "/api/v1/companies/{id}", tag = "companies", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)), request_body = UpdateCompany,
    responses((status = 200, body = Company), (status = 404, body = ErrorResponse),
              (status = 422, body = ErrorResponse)))]
#[patch("/companies/{id}")]
pub async fn update_company(
    ctx: web::Data<AppContext>,
    caller: Caller,
    id: web::Path<CompanyId>,
    body: web::Json<UpdateCompany>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Write)?;
    body.validate_all()?;
    let form = body.into_inner().into_form();
    let id = *id;
    let mut conn = ctx.db().get().await?;
    let company = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let before = Company::find(conn, caller.organization_id, id)
                .await
                .map_err(not_found)?;
            let after = or_unchanged(
                Company::update(conn, caller.organization_id, id, &form).await,
                &before,
            )?;
            audit::updated(conn, &caller, "company", id, &before, &after).await?;
            Ok(after)
        })
        .await?;
    Ok(HttpResponse::Ok().json(company))
}
