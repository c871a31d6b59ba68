//! `/api/v1/deals`: opportunities moving through a pipeline's stages. Reading needs `read`;
//! writing (including moving a deal to another stage) needs `write`.

mod create;
mod delete;
mod form;
mod get;
mod list;
mod references;
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
    cfg.service(list_deals)
        .service(create_deal)
        .service(get_deal)
        .service(update_deal)
        .service(delete_deal);
}

/// OpenAPI of this resource.
#[derive(OpenApi)]
#[openapi(
    paths(list_deals, create_deal, get_deal, update_deal, delete_deal),
    components(schemas(crate::db::models::Deal, CreateDeal, UpdateDeal)),
    tags((name = "deals", description = "Opportunities moving through pipelines"))
)]
pub struct DealsApi;
