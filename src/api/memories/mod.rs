//! `/api/v1/contacts/{id}/memories`: what agents remember about a contact, for people to read,
//! correct, add to and delete. Reading needs `read`; writing needs `write`. Everything is
//! scoped by the caller's organisation: another tenant's contact or memory is a 404.

mod list;
mod write;

pub use list::*;
pub use write::*;

use actix_web::web;
use diesel_async::AsyncPgConnection;
use utoipa::OpenApi;

use crate::api::error::ApiError;
use crate::db::models::Contact;
use crate::domain::{ContactId, OrganizationId};

/// Routes of this resource.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_memories)
        .service(create_memory)
        .service(update_memory)
        .service(delete_memory);
}

/// 404 unless the contact belongs to the organisation.
async fn contact_of_org(
    conn: &mut AsyncPgConnection,
    org: OrganizationId,
    contact: ContactId,
) -> Result<(), ApiError> {
    match Contact::find(conn, org, contact).await {
        Ok(_) => Ok(()),
        Err(diesel::result::Error::NotFound) => Err(ApiError::not_found("contact")),
        Err(other) => Err(other.into()),
    }
}

/// OpenAPI of this resource.
#[derive(OpenApi)]
#[openapi(
    paths(list_memories, create_memory, update_memory, delete_memory),
    components(schemas(crate::db::models::AgentMemory, CreateMemory, UpdateMemory)),
    tags((name = "memories", description = "What agents remember about a contact"))
)]
pub struct MemoriesApi;
