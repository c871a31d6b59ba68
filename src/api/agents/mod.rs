//! `/api/v1/agents` (to be filled in).

use actix_web::web;
use utoipa::OpenApi;

/// Routes of this resource.
pub fn routes(_cfg: &mut web::ServiceConfig) {}

/// OpenAPI of this resource.
#[derive(OpenApi)]
#[openapi()]
pub struct AgentsApi;
