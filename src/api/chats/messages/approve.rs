//! `POST /api/v1/chats/{id}/messages/{message_id}/approve`: a human approves an AI draft, as
//! written or edited. The decision, the outbox row that delivers it, the chat's inbox preview and
//! the `draft.resolved` event commit together; a second approval finds the draft no longer
//! pending (409), so the message is queued once.

use actix_web::{HttpResponse, post, web};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::actors::router::ChatRouter;
use crate::api::audit;
use crate::api::chats::get::not_found;
use crate::api::chats::review_draft;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{
    Chat, DraftDecisionForm, Event, Message, OutboxEntry, OutboxEntryInsertForm, preview,
};
use crate::domain::{ChatId, DraftState, MessageId, MessageStatus, Scope};

/// Longest message text, in characters (the same bound as an operator's reply).
const MAX_BODY_CHARS: usize = 16_000;

/// `POST .../approve`: an optional edit of the draft's text.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveDraft {
    /// The text to send instead of the draft's own (1 to 16000 characters).
    pub body: Option<String>,
}

/// Path of one message of one chat.
#[derive(Debug, Deserialize)]
pub struct ChatMessagePath {
    /// The chat.
    pub id: ChatId,
    /// The message.
    pub message_id: MessageId,
}

/// Approves a pending AI draft: it becomes an outbound message (status `queued`) and is
/// delivered through the chat's channel. 409 `draft_not_pending` when it was already approved or
/// rejected (or is not a draft); 404 when the chat or message is not yours.
#[utoipa::path(post, path = "/api/v1/chats/{id}/messages/{message_id}/approve", tag = "chats",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid), ("message_id" = String, Path, format = Uuid)),
    request_body = Option<ApproveDraft>,
    responses((status = 200, body = Message), (status = 404, body = ErrorResponse),
              (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[post("/chats/{id}/messages/{message_id}/approve")]
pub async fn approve_message(
    ctx: web::Data<AppContext>,
    router: web::Data<ChatRouter>,
    caller: Caller,
    path: web::Path<ChatMessagePath>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let edited = edited_body(&body)?;
    let message = review_draft(
        &ctx,
        &router,
        &caller,
        path.id,
        path.message_id,
        Some(edited),
    )
    .await?;
    Ok(HttpResponse::Ok().json(message))
}

/// Approves a draft, run in the chat's actor by [`review_draft`] for this endpoint and the
/// inbox WebSocket. The caller publishes the
/// returned `draft.resolved` event after this returns (i.e. after the commit).
pub async fn approve_draft(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    chat_id: ChatId,
    message_id: MessageId,
    edited: Option<&str>,
) -> ApiResult<(Message, Event)> {
    caller.require(Scope::Write)?;
    if let Some(text) = edited {
        check_body(text)?;
    }
    let org = caller.organization_id;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let (chat, draft) = pending_draft(conn, org, chat_id, message_id).await?;
        let decision = DraftDecisionForm {
            draft_state: DraftState::Approved,
            status: Some(MessageStatus::Queued),
            body: edited.map(str::to_owned),
        };
        let message = Message::resolve_draft(conn, org, draft.id, &decision).await?;
        let work = OutboxEntryInsertForm::message_send(org, chat.id, chat.channel_id, message.id);
        OutboxEntry::create(conn, &work).await?;
        let chat = Chat::record_message(
            conn,
            org,
            chat.id,
            message.updated_at,
            &preview(&message.body),
            0,
        )
        .await?;
        // Bodies stay out of the audit log; the message row is the record of them.
        audit::acted(
            conn,
            caller,
            "approve",
            "message",
            message.id,
            Some(serde_json::json!({ "draft_state": draft.draft_state })),
            Some(serde_json::json!({
                "draft_state": message.draft_state,
                "chat_id": chat.id,
                "edited": edited.is_some(),
            })),
        )
        .await?;
        let event = Event::append(
            conn,
            org,
            "draft.resolved",
            Some(chat.id),
            &serde_json::json!({
                "message": message,
                "chat": chat,
                "decision": "approved",
                "edited": edited.is_some(),
            }),
        )
        .await?;
        Ok((message, event))
    })
    .await
}

/// The chat and its draft, both locked until the transaction ends, after checking the message is
/// an AI draft still waiting for review. Used by approval and rejection alike.
pub(crate) async fn pending_draft(
    conn: &mut AsyncPgConnection,
    org: crate::domain::OrganizationId,
    chat_id: ChatId,
    message_id: MessageId,
) -> ApiResult<(Chat, Message)> {
    let chat = Chat::find_for_update(conn, org, chat_id)
        .await
        .map_err(not_found)?;
    let draft = Message::find_in_chat_for_update(conn, org, chat.id, message_id)
        .await
        .map_err(|e| match e {
            diesel::result::Error::NotFound => ApiError::not_found("message"),
            other => other.into(),
        })?;
    match draft.draft_state {
        Some(DraftState::PendingApproval) => Ok((chat, draft)),
        Some(state) => Err(ApiError::conflict(
            "draft_not_pending",
            format!("the draft was already {}", state.as_str()),
        )),
        None => Err(ApiError::conflict(
            "draft_not_pending",
            "the message is not an AI draft",
        )),
    }
}

/// The optional JSON body: nothing (or `{}` / `null`) approves the draft as written.
fn edited_body(bytes: &[u8]) -> ApiResult<Option<String>> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let body: Option<ApproveDraft> = serde_json::from_slice(bytes).map_err(|e| {
        if e.is_data() {
            ApiError::new(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                format!("the body does not match the expected shape: {e}"),
            )
        } else {
            ApiError::bad_request("malformed_json", format!("the body is not JSON: {e}"))
        }
    })?;
    Ok(body.and_then(|b| b.body))
}

fn check_body(text: &str) -> ApiResult<()> {
    let length = text.chars().count();
    if text.trim().is_empty() || length > MAX_BODY_CHARS {
        return Err(ApiError::invalid_field(
            "body",
            format!("must be 1 to {MAX_BODY_CHARS} characters"),
        ));
    }
    Ok(())
}
