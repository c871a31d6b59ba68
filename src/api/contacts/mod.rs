//! `/api/v1/contacts`: the CRM's people. Reading needs `read`; writing needs `write`.

mod create;
mod delete;
mod form;
mod get;
mod import;
mod list;
mod update;

pub use create::*;
pub use delete::*;
pub use form::*;
pub use get::*;
pub use import::*;
pub use list::*;
pub use update::*;

use actix_web::web;
use utoipa::OpenApi;

/// Routes of this resource.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_contacts)
        .service(create_contact)
        .service(
            web::resource("/contacts/import")
                .app_data(web::PayloadConfig::new(IMPORT_LIMIT_BYTES))
                .route(web::post().to(import_contacts)),
        )
        .service(get_contact)
        .service(update_contact)
        .service(delete_contact);
}

/// OpenAPI of this resource.
#[derive(OpenApi)]
#[openapi(
    paths(list_contacts, create_contact, import_contacts, get_contact, update_contact, delete_contact),
    components(schemas(crate::db::models::Contact, CreateContact, UpdateContact, ImportReport, ImportRowError)),
    tags((name = "contacts", description = "People the team sells to"))
)]
pub struct ContactsApi;
