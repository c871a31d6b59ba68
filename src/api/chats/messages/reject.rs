//! `POST /api/v1/chats/{id}/messages/{message_id}/reject`: a human turns down an AI draft. It
//! stays in the history as rejected and is never sent.

use actix_web::{HttpResponse, post, web};
use diesel_async::{AsyncConnection, AsyncPgConnection};

use super::approve::{ChatMessagePath, pending_draft};
use crate::actors::router::ChatRouter;
use crate::api::audit;
use crate::api::chats::review_draft;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{DraftDecisionForm, Event, Message};
use crate::domain::{ChatId, DraftState, MessageId, Scope};

/// Rejects a pending AI draft. 409 `draft_not_pending` when it was already approved or rejected.
#[utoipa::path(post, path = "/api/v1/chats/{id}/messages/{message_id}/reject", tag = "chats",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid), ("message_id" = String, Path, format = Uuid)),
    responses((status = 200, body = Message), (status = 404, body = ErrorResponse),
              (status = 409, body = ErrorResponse)))]
#[post("/chats/{id}/messages/{message_id}/reject")]
pub async fn reject_message(
    ctx: web::Data<AppContext>,
    router: web::Data<ChatRouter>,
    caller: Caller,
    path: web::Path<ChatMessagePath>,
) -> ApiResult<HttpResponse> {
    let message = review_draft(&ctx, &router, &caller, path.id, path.message_id, None).await?;
    Ok(HttpResponse::Ok().json(message))
}

/// Rejects a draft, run in the chat's actor by [`review_draft`] for this endpoint and the
/// inbox WebSocket. The caller publishes the
/// returned `draft.resolved` event after the commit.
pub async fn reject_draft(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    chat_id: ChatId,
    message_id: MessageId,
) -> ApiResult<(Message, Event)> {
    caller.require(Scope::Write)?;
    let org = caller.organization_id;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let (chat, draft) = pending_draft(conn, org, chat_id, message_id).await?;
        let decision = DraftDecisionForm {
            draft_state: DraftState::Rejected,
            status: None,
            body: None,
        };
        let message = Message::resolve_draft(conn, org, draft.id, &decision).await?;
        audit::acted(
            conn,
            caller,
            "reject",
            "message",
            message.id,
            Some(serde_json::json!({ "draft_state": draft.draft_state })),
            Some(serde_json::json!({ "draft_state": message.draft_state, "chat_id": chat.id })),
        )
        .await?;
        let event = Event::append(
            conn,
            org,
            "draft.resolved",
            Some(chat.id),
            &serde_json::json!({ "message": message, "chat": chat, "decision": "rejected" }),
        )
        .await?;
        Ok((message, event))
    })
    .await
}
