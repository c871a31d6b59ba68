//! `/api/v1/webhooks`: outbound event subscriptions, signed with HMAC-SHA256. Reading needs
//! `read`; writing needs `configure`. The signing secret is shown once, on create and on
//! rotate-secret, and never in a list, a GET or the audit log.

mod create;
mod delete;
mod form;
mod get;
mod list;
mod rotate_secret;
mod update;

pub use create::*;
pub use delete::*;
pub use form::*;
pub use get::*;
pub use list::*;
pub use rotate_secret::*;
pub use update::*;

use actix_web::web;
use utoipa::OpenApi;

/// Routes of this resource.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_webhooks)
        .service(create_webhook)
        .service(get_webhook)
        .service(update_webhook)
        .service(delete_webhook)
        .service(rotate_webhook_secret);
}

/// OpenAPI of this resource.
#[derive(OpenApi)]
#[openapi(
    paths(list_webhooks, create_webhook, get_webhook, update_webhook, delete_webhook,
          rotate_webhook_secret),
    components(schemas(crate::db::models::Webhook, CreateWebhook, UpdateWebhook, WebhookWithSecret)),
    tags((name = "webhooks", description = "Outbound event subscriptions"))
)]
pub struct WebhooksApi;
