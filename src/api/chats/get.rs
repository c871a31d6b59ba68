//! `GET /api/v1/chats/{id}`.

use actix_web::{HttpResponse, get, web};

use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::Chat;
use crate::domain::{ChatId, Scope};

/// One chat.
#[utoipa::path(get, path = "/api/v1/chats/{id}", tag = "chats", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = Chat), (status = 404, body = ErrorResponse)))]
#[get("/chats/{id}")]
pub async fn get_chat(
    ctx: web::Data<AppContext>,
    caller: Caller,
    id: web::Path<ChatId>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Read)?;
    let mut conn = ctx.db().get().await?;
    let chat = Chat::find(&mut conn, caller.organization_id, *id)
        .await
        .map_err(not_found)?;
    Ok(HttpResponse::Ok().json(chat))
}

/// Maps a missing row to this resource's 404.
pub(crate) fn not_found(error: diesel::result::Error) -> ApiError {
    match error {
        diesel::result::Error::NotFound => ApiError::not_found("chat"),
        other => other.into(),
    }
}

/// Appends a `chat.created` / `chat.updated` event carrying the chat as it now is; call inside
/// the transaction that changed it, and publish the event after the commit.
pub(crate) async fn chat_event(
    conn: &mut diesel_async::AsyncPgConnection,
    event_type: &str,
    chat: &crate::db::models::Chat,
) -> diesel::QueryResult<crate::db::models::Event> {
    crate::db::models::Event::append(
        conn,
        chat.organization_id,
        event_type,
        Some(chat.id),
        &serde_json::json!({ "chat": chat }),
    )
    .await
}
