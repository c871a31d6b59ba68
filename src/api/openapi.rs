//! The OpenAPI document, generated from the handlers' annotations, at `/api/v1/openapi.json`,
//! and a Swagger UI served from assets compiled into the binary at `/api/docs/` (no CDN).

use actix_web::{HttpResponse, get, web};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use super::{auth, error, health};

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(title = "Switchboard admin API", version = "1", description = "Self-hosted runtime for AI-assisted sales conversations."),
    modifiers(&BearerAuth),
    paths(
        health::live, health::ready,
        auth::log_in, auth::refresh_session, auth::log_out, auth::get_me,
    ),
    components(schemas(error::ErrorResponse, error::ErrorBody)),
    tags(
        (name = "auth", description = "Sessions for people; API keys for machines"),
        (name = "operations", description = "Health and metrics"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An access token from /api/v1/auth/login, or an API key (sk_...)",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document itself.
#[get("/api/v1/openapi.json")]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}

/// Swagger UI at `/api/docs/`, reading the document above.
pub fn configure_docs(cfg: &mut web::ServiceConfig) {
    cfg.service(SwaggerUi::new("/api/docs/{_:.*}").url("/api/v1/openapi.json", ApiDoc::openapi()));
}
