//! `POST /api/v1/chats/{id}/messages`: an operator replies. The message, the chat's inbox
//! preview and the outbox row that gets it delivered commit together or not at all.

use actix_web::{HttpResponse, post, web};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use validator::Validate;

use crate::actors::router::ChatRouter;
use crate::api::audit;
use crate::api::chats::form::{SendMessage, invalid_reference};
use crate::api::chats::get::not_found;
use crate::api::chats::operator_reply;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{
    Chat, Event, Message, MessageInsertForm, OutboxEntry, OutboxEntryInsertForm, preview,
};
use crate::domain::{ChatId, Direction, MessageId, MessageStatus, Scope, SenderKind};

/// Queues an operator's message (status `queued`) for delivery through the chat's channel.
/// `sender_user_id` is the calling person (null for an API key).
#[utoipa::path(post, path = "/api/v1/chats/{id}/messages", tag = "chats", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)), request_body = SendMessage,
    responses((status = 201, body = Message), (status = 404, body = ErrorResponse),
              (status = 422, body = ErrorResponse), (status = 429, body = ErrorResponse)))]
#[post("/chats/{id}/messages")]
pub async fn send_message(
    ctx: web::Data<AppContext>,
    router: web::Data<ChatRouter>,
    caller: Caller,
    id: web::Path<ChatId>,
    body: web::Json<SendMessage>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Write)?;
    body.validate()?;
    let body = body.into_inner();
    let message = operator_reply(
        &ctx,
        &router,
        &caller,
        *id,
        body.body,
        body.reply_to_message_id,
    )
    .await?;
    Ok(HttpResponse::Created().json(message))
}

/// An operator's reply, run in the chat's actor by [`operator_reply`]: stores the message,
/// queues it in the outbox and appends its `message.created` event, in one transaction. The
/// caller publishes the returned event after this returns (i.e. after the commit).
pub async fn send_operator_message(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: ChatId,
    text: &str,
    reply_to_message_id: Option<MessageId>,
) -> ApiResult<(Message, Event)> {
    caller.require(Scope::Write)?;
    let org = caller.organization_id;
    conn.transaction::<_, ApiError, _>(async |conn| {
        // Locked so two replies to one chat queue (and preview) in commit order.
        let chat = Chat::find_for_update(conn, org, id)
            .await
            .map_err(not_found)?;
        if let Some(reply_to) = reply_to_message_id {
            match Message::find_in_chat(conn, org, chat.id, reply_to).await {
                Ok(_) => {}
                Err(diesel::result::Error::NotFound) => {
                    return Err(invalid_reference(
                        "reply_to_message_id",
                        "is not a message of this chat",
                    ));
                }
                Err(e) => return Err(e.into()),
            }
        }
        let form = MessageInsertForm {
            id: MessageId::new(),
            organization_id: org,
            chat_id: chat.id,
            channel_id: chat.channel_id,
            direction: Direction::Outbound,
            sender_kind: SenderKind::Operator,
            sender_user_id: caller.user_id(),
            sender_agent_id: None,
            body: text.to_owned(),
            status: MessageStatus::Queued,
            draft_state: None,
            external_id: None,
            reply_to_message_id,
        };
        let message = Message::create(conn, &form).await?;
        let work = OutboxEntryInsertForm::message_send(org, chat.id, chat.channel_id, message.id);
        OutboxEntry::create(conn, &work).await?;
        // The event carries the chat as it is after this message (preview, time).
        let chat = Chat::record_message(
            conn,
            org,
            chat.id,
            message.created_at,
            &preview(&message.body),
            0,
        )
        .await?;
        // The body stays out of the audit log; the message row is the record of it.
        let summary = serde_json::json!({
            "chat_id": chat.id,
            "channel_id": chat.channel_id,
            "reply_to_message_id": message.reply_to_message_id,
        });
        audit::acted(
            conn,
            caller,
            "send",
            "message",
            message.id,
            None,
            Some(summary),
        )
        .await?;
        let event = Event::append(
            conn,
            org,
            "message.created",
            Some(chat.id),
            &serde_json::json!({ "message": message, "chat": chat }),
        )
        .await?;
        Ok((message, event))
    })
    .await
}
