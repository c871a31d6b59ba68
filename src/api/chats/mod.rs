//! `/api/v1/chats`: conversations, their workflow (status, assignment, autonomy, read state)
//! and, under `/chats/{id}/messages`, their messages; `/chats/{id}/executions` shows the agent's
//! logged decisions. Reading needs `read`; every change,
//! including sending a message, needs `write`.

mod assign;
mod create;
mod executions;
mod form;
mod get;
mod list;
mod messages;
mod operator;
mod read;
mod update;

pub use assign::*;
pub use create::*;
pub use executions::*;
pub use form::*;
pub use get::*;
pub use list::*;
pub use messages::*;
pub use operator::*;
pub use read::*;
pub use update::*;

use actix_web::web;
use utoipa::OpenApi;

/// Routes of this resource.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_chats)
        .service(create_chat)
        .service(get_chat)
        .service(update_chat)
        .service(assign_chat)
        .service(mark_chat_read)
        .service(list_messages)
        .service(send_message)
        .service(approve_message)
        .service(reject_message)
        .service(list_chat_executions);
}

/// OpenAPI of this resource.
#[derive(OpenApi)]
#[openapi(
    paths(list_chats, create_chat, get_chat, update_chat, assign_chat, mark_chat_read,
          list_messages, send_message, approve_message, reject_message, list_chat_executions),
    components(schemas(crate::db::models::Chat, crate::db::models::Message, CreateChat,
                       UpdateChat, AssignChat, SendMessage, Assignee, ApproveDraft,
                       ChatExecutionsResponse, crate::db::models::AgentExecution)),
    tags((name = "chats", description = "Conversations with contacts, and their messages"))
)]
pub struct ChatsApi;
