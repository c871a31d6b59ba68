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
        auth::log_in, auth::refresh_session, auth::log_out, auth::get_me, auth::update_me,
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

/// The whole document: the core above merged with every resource's own.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    for part in [
        super::members::MembersApi::openapi(),
        super::api_keys::ApiKeysApi::openapi(),
        super::audit_logs::AuditLogsApi::openapi(),
        super::contacts::ContactsApi::openapi(),
        super::memories::MemoriesApi::openapi(),
        super::companies::CompaniesApi::openapi(),
        super::pipelines::PipelinesApi::openapi(),
        super::deals::DealsApi::openapi(),
        super::channels::ChannelsApi::openapi(),
        super::chats::ChatsApi::openapi(),
        super::agents::AgentsApi::openapi(),
        super::templates::TemplatesApi::openapi(),
        super::campaigns::CampaignsApi::openapi(),
        super::webhooks::WebhooksApi::openapi(),
        super::tool_approvals::ToolApprovalsApi::openapi(),
        super::pitches::PitchesApi::openapi(),
    ] {
        doc.merge(part);
    }
    doc
}

/// The document itself.
#[get("/api/v1/openapi.json")]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(document())
}

/// Swagger UI at `/api/docs/`, reading the document above.
pub fn configure_docs(cfg: &mut web::ServiceConfig) {
    cfg.service(SwaggerUi::new("/api/docs/{_:.*}").url("/api/v1/openapi.json", document()));
}
