//! `/api/v1/api-keys`: machine credentials. The key is shown once, at creation; afterwards only
//! its prefix. Needs the `admin` scope; a key can never get a scope its creator lacks.

mod create;
mod list;
mod revoke;

pub use create::*;
pub use list::*;
pub use revoke::*;

use actix_web::web;
use utoipa::OpenApi;

/// Routes of this resource.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_api_keys)
        .service(create_api_key)
        .service(get_api_key)
        .service(revoke_api_key);
}

/// OpenAPI of this resource.
#[derive(OpenApi)]
#[openapi(
    paths(list_api_keys, create_api_key, get_api_key, revoke_api_key),
    components(schemas(crate::db::models::ApiKey, CreateApiKey, ApiKeyCreatedResponse)),
    tags((name = "api_keys", description = "Credentials for machines"))
)]
pub struct ApiKeysApi;

/// 404 for a key of this organisation that does not exist.
fn not_found(error: diesel::result::Error) -> crate::api::error::ApiError {
    match error {
        diesel::result::Error::NotFound => crate::api::error::ApiError::not_found("api_key"),
        other => other.into(),
    }
}
