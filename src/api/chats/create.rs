//! `POST /api/v1/chats`: an operator starts a conversation with a contact on a channel.

use actix_web::{HttpResponse, post, web};
use diesel_async::AsyncConnection;
use validator::Validate;

use super::form::CreateChat;
use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{Chat, ChatInsertForm};
use crate::domain::{ChatId, Scope};

/// Creates a chat (status `open`); 422 `invalid_reference` when the contact or channel is not
/// your organisation's, 409 `already_exists` when the channel already has that thread.
#[utoipa::path(post, path = "/api/v1/chats", tag = "chats", security(("bearer" = [])),
    request_body = CreateChat,
    responses((status = 201, body = Chat), (status = 409, body = ErrorResponse),
              (status = 422, body = ErrorResponse)))]
#[post("/chats")]
pub async fn create_chat(
    ctx: web::Data<AppContext>,
    caller: Caller,
    body: web::Json<CreateChat>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Write)?;
    body.validate()?;
    let body = body.into_inner();
    let id = ChatId::new();
    let form = ChatInsertForm {
        id,
        organization_id: caller.organization_id,
        contact_id: body.contact_id,
        channel_id: body.channel_id,
        external_thread_id: body.external_thread_id.unwrap_or_else(|| id.to_string()),
        subject: body.subject,
    };
    let mut conn = ctx.db().get().await?;
    let (chat, event) = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let chat = Chat::create(conn, &form).await?;
            audit::created(conn, &caller, "chat", chat.id, &chat).await?;
            let event = super::get::chat_event(conn, "chat.created", &chat).await?;
            Ok((chat, event))
        })
        .await?;
    ctx.publisher().publish(&[event]);
    Ok(HttpResponse::Created().json(chat))
}
