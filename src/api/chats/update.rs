//! `PATCH /api/v1/chats/{id}`: the chat's workflow state (status, snooze, autonomy, subject).
//! Resolving a chat with an agent also queues the agent's summary memory (`actors::summary`).

use actix_web::{HttpResponse, patch, web};
use chrono::Utc;
use diesel_async::AsyncConnection;

use super::form::UpdateChat;
use super::get::{chat_event, not_found};
use super::operator::in_chat_actor;
use crate::actors::chat::Takeover;
use crate::actors::router::ChatRouter;
use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{Chat, ChatUpdateForm};
use crate::db::or_unchanged;
use crate::domain::{Autonomy, ChatId, ChatStatus, Scope};

/// Changes a chat's status, autonomy or subject. `snoozed` needs a future `snoozed_until`.
#[utoipa::path(patch, path = "/api/v1/chats/{id}", tag = "chats", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)), request_body = UpdateChat,
    responses((status = 200, body = Chat), (status = 404, body = ErrorResponse),
              (status = 422, body = ErrorResponse)))]
#[patch("/chats/{id}")]
pub async fn update_chat(
    ctx: web::Data<AppContext>,
    router: web::Data<ChatRouter>,
    caller: Caller,
    id: web::Path<ChatId>,
    body: web::Json<UpdateChat>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Write)?;
    let form = body.into_inner().into_form(Utc::now())?;
    let id = *id;
    let (app, who) = (ctx.get_ref().clone(), caller.clone());
    let chat = in_chat_actor(&ctx, &router, &caller, id, async move {
        let chat = store_update(&app, &who, id, form).await?;
        // Resolved, snoozed or with its agent switched off: nobody wants the agent's answer now.
        let closed = matches!(chat.status, ChatStatus::Resolved | ChatStatus::Snoozed)
            || chat.autonomy == Autonomy::Off;
        Ok((chat, closed.then_some(Takeover::Closed)))
    })
    .await?;
    Ok(HttpResponse::Ok().json(chat))
}

async fn store_update(
    ctx: &AppContext,
    caller: &Caller,
    id: ChatId,
    form: ChatUpdateForm,
) -> ApiResult<Chat> {
    let mut conn = ctx.db().get().await?;
    let (chat, event) = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let before = Chat::find(conn, caller.organization_id, id)
                .await
                .map_err(not_found)?;
            let after = or_unchanged(
                Chat::update(conn, caller.organization_id, id, &form).await,
                &before,
            )?;
            audit::updated(conn, caller, "chat", id, &before, &after).await?;
            if after.status == ChatStatus::Resolved && before.status != ChatStatus::Resolved {
                // The agent's summary is written in the background; resolving never waits.
                crate::actors::summary::enqueue(conn, &after).await?;
            }
            let event = chat_event(conn, "chat.updated", &after).await?;
            Ok((after, event))
        })
        .await?;
    ctx.publisher().publish(&[event]);
    Ok(chat)
}
