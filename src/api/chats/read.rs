//! `POST /api/v1/chats/{id}/read`: an operator has seen everything in the chat.

use actix_web::{HttpResponse, post, web};
use diesel_async::AsyncConnection;

use super::get::not_found;
use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{Chat, Event};
use crate::domain::{ChatId, Scope};

/// Marks the chat read (`unread_count` 0). Marking an already read chat changes nothing and
/// records nothing.
#[utoipa::path(post, path = "/api/v1/chats/{id}/read", tag = "chats", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = Chat), (status = 404, body = ErrorResponse)))]
#[post("/chats/{id}/read")]
pub async fn mark_chat_read(
    ctx: web::Data<AppContext>,
    caller: Caller,
    id: web::Path<ChatId>,
) -> ApiResult<HttpResponse> {
    let chat = read_chat(&ctx, &caller, *id).await?;
    Ok(HttpResponse::Ok().json(chat))
}

/// Marks a chat read and announces `chat.updated`; shared with the inbox WebSocket. A chat that
/// is already read changes nothing and announces nothing.
pub async fn read_chat(ctx: &AppContext, caller: &Caller, id: ChatId) -> ApiResult<Chat> {
    caller.require(Scope::Write)?;
    let org = caller.organization_id;
    let mut conn = ctx.db().get().await?;
    let (chat, event) = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let before = Chat::find(conn, org, id).await.map_err(not_found)?;
            if before.unread_count == 0 {
                return Ok((before, None));
            }
            let after = Chat::mark_read(conn, org, id).await?;
            audit::acted(
                conn,
                caller,
                "mark_read",
                "chat",
                id,
                Some(serde_json::json!({ "unread_count": before.unread_count })),
                Some(serde_json::json!({ "unread_count": after.unread_count })),
            )
            .await?;
            let event = Event::append(
                conn,
                org,
                "chat.updated",
                Some(id),
                &serde_json::json!({ "chat": after }),
            )
            .await?;
            Ok((after, Some(event)))
        })
        .await?;
    if let Some(event) = event {
        ctx.publisher().publish(&[event]);
    }
    Ok(chat)
}
