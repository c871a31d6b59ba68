//! `POST /api/v1/companies`.

use actix_web::{HttpResponse, post, web};
use diesel_async::AsyncConnection;
use validator::Validate;

use super::form::CreateCompany;
use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{Company, CompanyInsertForm};
use crate::domain::{CompanyId, OrganizationId, Scope};

impl CreateCompany {
    /// The row to insert for this organisation.
    pub fn into_form(self, organization_id: OrganizationId) -> CompanyInsertForm {
        CompanyInsertForm {
            id: CompanyId::new(),
            organization_id,
            name: self.name.trim().to_owned(),
            domain: self.domain.map(|d| d.trim().to_ascii_lowercase()),
            industry: self.industry,
            size: self.size,
            website: self.website,
            description: self.description,
            attributes: self.attributes.unwrap_or_else(|| serde_json::json!({})),
        }
    }
}

/// Creates a company.
#[utoipa::path(post, path = "/api/v1/companies", tag = "companies", security(("bearer" = [])),
    request_body = CreateCompany,
    responses((status = 201, body = Company), (status = 403, body = ErrorResponse),
              (status = 422, body = ErrorResponse)))]
#[post("/companies")]
pub async fn create_company(
    ctx: web::Data<AppContext>,
    caller: Caller,
    body: web::Json<CreateCompany>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Write)?;
    body.validate()?;
    let form = body.into_inner().into_form(caller.organization_id);
    let mut conn = ctx.db().get().await?;
    let company = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let company = Company::create(conn, &form).await?;
            audit::created(conn, &caller, "company", company.id, &company).await?;
            Ok(company)
        })
        .await?;
    Ok(HttpResponse::Created().json(company))
}
