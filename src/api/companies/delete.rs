//! `DELETE /api/v1/companies/{id}`: removes the company; its contacts and deals stay, with
//! `company_id` cleared by the database.

use actix_web::{HttpResponse, delete, web};
use diesel_async::AsyncConnection;

use super::get::not_found;
use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::Company;
use crate::domain::{CompanyId, Scope};

/// Deletes a company.
#[utoipa::path(delete, path = "/api/v1/companies/{id}", tag = "companies", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    responses((status = 204, description = "deleted"), (status = 404, body = ErrorResponse)))]
#[delete("/companies/{id}")]
pub async fn delete_company(
    ctx: web::Data<AppContext>,
    caller: Caller,
    id: web::Path<CompanyId>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Write)?;
    let id = *id;
    let mut conn = ctx.db().get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let before = Company::find(conn, caller.organization_id, id)
            .await
            .map_err(not_found)?;
        Company::delete(conn, caller.organization_id, id).await?;
        audit::deleted(conn, &caller, "company", id, &before).await?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
