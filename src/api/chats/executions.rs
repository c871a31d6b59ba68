//! `GET /api/v1/chats/{id}/executions`: the chat's logged agent turns, newest first, with each
//! decision's reason and every rail verdict, so the inbox can show why a draft exists or why the
//! chat was handed to a human next to what it affected.

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::get::not_found;
use crate::api::error::{ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{AgentExecution, Chat};
use crate::domain::{ChatId, Scope};

/// Most turns returned (the newest).
const EXECUTIONS_SHOWN: i64 = 50;

/// The chat's recent agent turns.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatExecutionsResponse {
    /// Newest first; `message_id` is the inbound message a turn answered (a draft's
    /// `reply_to_message_id`).
    pub items: Vec<AgentExecution>,
}

/// Lists the chat's logged agent decisions.
#[utoipa::path(get, path = "/api/v1/chats/{id}/executions", tag = "chats",
    security(("bearer" = [])), params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = ChatExecutionsResponse), (status = 404, body = ErrorResponse)))]
#[get("/chats/{id}/executions")]
pub async fn list_chat_executions(
    ctx: web::Data<AppContext>,
    caller: Caller,
    id: web::Path<ChatId>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Read)?;
    let org = caller.organization_id;
    let mut conn = ctx.db().get().await?;
    Chat::find(&mut conn, org, *id).await.map_err(not_found)?;
    let items = AgentExecution::list_for_chat(&mut conn, org, *id, EXECUTIONS_SHOWN).await?;
    Ok(HttpResponse::Ok().json(ChatExecutionsResponse { items }))
}
