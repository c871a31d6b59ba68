//! `/api/v1/companies`: the organisations the team sells to. Reading needs `read`; writing
//! needs `write`. Deleting a company keeps its contacts and deals, with `company_id` cleared.

mod create;
mod delete;
mod form;
mod get;
mod list;
mod update;

pub use create::*;
pub use delete::*;
pub use form::*;
pub use get::*;
pub use list::*;
pub use update::*;

use actix_web::web;
use utoipa::OpenApi;

/// Routes of this resource.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_companies)
        .service(create_company)
        .service(get_company)
        .service(update_company)
        .service(delete_company);
}

/// OpenAPI of this resource.
#[derive(OpenApi)]
#[openapi(
    paths(list_companies, create_company, get_company, update_company, delete_company),
    components(schemas(crate::db::models::Company, CreateCompany, UpdateCompany)),
    tags((name = "companies", description = "Organisations the team sells to"))
)]
pub struct CompaniesApi;
