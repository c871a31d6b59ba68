//! `GET /api/v1/chats/{id}/messages`: a page of a chat's messages.

use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::chats::get::not_found;
use crate::api::error::{ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{Chat, Message, MessageFilter};
use crate::db::pagination::{PageParams, PageRequest};
use crate::domain::{ChatId, DraftState, Scope};

/// Filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessageQuery {
    /// Only AI drafts in this review state, e.g. `pending_approval`.
    pub draft_state: Option<DraftState>,
}

/// Lists a chat's messages NEWEST FIRST, like every list: the first page is the latest
/// conversation and `next_cursor` pages back into history. Reverse a page to display it.
#[utoipa::path(get, path = "/api/v1/chats/{id}/messages", tag = "chats", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid), MessageQuery, PageParams),
    responses((status = 200, description = "a page of messages, newest first", body = inline(crate::db::pagination::Page<Message>)),
              (status = 400, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
#[get("/chats/{id}/messages")]
pub async fn list_messages(
    ctx: web::Data<AppContext>,
    caller: Caller,
    id: web::Path<ChatId>,
    filter: web::Query<MessageQuery>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Read)?;
    let page = PageRequest::from_params(&page)?;
    let filter = MessageFilter {
        draft_state: filter.draft_state,
    };
    let mut conn = ctx.db().get().await?;
    let chat = Chat::find(&mut conn, caller.organization_id, *id)
        .await
        .map_err(not_found)?;
    let messages = Message::list(&mut conn, caller.organization_id, chat.id, &filter, page).await?;
    Ok(HttpResponse::Ok().json(messages))
}
