//! `/api/v1/channels`: the Telegram bots, mailboxes and web inbox chats arrive through.
//! Reading needs `read`; writing needs `configure`. Secrets are never accepted or shown: a
//! channel names the environment variables that hold them (`secret_refs`), and each response
//! says whether those variables are set (`secrets_present`).

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
    cfg.service(list_channels)
        .service(create_channel)
        .service(get_channel)
        .service(update_channel)
        .service(delete_channel);
}

/// OpenAPI of this resource.
#[derive(OpenApi)]
#[openapi(
    paths(list_channels, create_channel, get_channel, update_channel, delete_channel),
    components(schemas(ChannelResponse, crate::db::models::Channel, CreateChannel, UpdateChannel)),
    tags((name = "channels", description = "Where conversations come from: Telegram, email, the web inbox"))
)]
pub struct ChannelsApi;
