//! `POST /api/v1/chats/{id}/assign`: hands a chat to a member, to an agent, or to nobody.

use actix_web::{HttpResponse, post, web};
use diesel_async::AsyncConnection;

use super::form::{AssignChat, invalid_reference};
use super::get::not_found;
use super::operator::in_chat_actor;
use crate::actors::chat::Takeover;
use crate::actors::router::ChatRouter;
use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{Chat, ChatAssignment, Member};
use crate::domain::{ChatId, Scope};

/// Assigns a chat to a member (`user_id`) or an agent (`agent_id`), never both; `{}` or `null`
/// unassigns. 422 `invalid_reference` when the user is not a member of your organisation or
/// the agent is not yours.
#[utoipa::path(post, path = "/api/v1/chats/{id}/assign", tag = "chats", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)), request_body = Option<AssignChat>,
    responses((status = 200, body = Chat), (status = 404, body = ErrorResponse),
              (status = 422, body = ErrorResponse)))]
#[post("/chats/{id}/assign")]
pub async fn assign_chat(
    ctx: web::Data<AppContext>,
    router: web::Data<ChatRouter>,
    caller: Caller,
    id: web::Path<ChatId>,
    body: web::Json<Option<AssignChat>>,
) -> ApiResult<HttpResponse> {
    let chat = assign(
        &ctx,
        &router,
        &caller,
        *id,
        body.into_inner().unwrap_or_default(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(chat))
}

/// Assigns a chat and announces `chat.updated`, in the chat's actor; shared by this endpoint and
/// the inbox WebSocket's `assign` command. Handing the chat to a person makes its agent stand
/// down.
pub async fn assign(
    ctx: &AppContext,
    router: &ChatRouter,
    caller: &Caller,
    id: ChatId,
    body: AssignChat,
) -> ApiResult<Chat> {
    caller.require(Scope::Write)?;
    if body.user_id.is_some() && body.agent_id.is_some() {
        return Err(ApiError::invalid_fields(
            ["user_id", "agent_id"]
                .map(|f| {
                    (
                        f.to_owned(),
                        "assign to a user or an agent, not both".to_owned(),
                    )
                })
                .into(),
        ));
    }
    let assignment = ChatAssignment {
        assigned_user_id: body.user_id,
        assigned_agent_id: body.agent_id,
    };
    let (app, who) = (ctx.clone(), caller.clone());
    in_chat_actor(ctx, router, caller, id, async move {
        let chat = store_assignment(&app, &who, id, assignment).await?;
        let takeover = chat
            .assigned_user_id
            .is_some()
            .then_some(Takeover::AssignedToPerson);
        Ok((chat, takeover))
    })
    .await
}

async fn store_assignment(
    ctx: &AppContext,
    caller: &Caller,
    id: ChatId,
    assignment: ChatAssignment,
) -> ApiResult<Chat> {
    let org = caller.organization_id;
    let mut conn = ctx.db().get().await?;
    let (chat, event) = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let before = Chat::find(conn, org, id).await.map_err(not_found)?;
            if let Some(user) = assignment.assigned_user_id {
                match Member::find_for_user(conn, org, user).await {
                    Ok(_) => {}
                    Err(diesel::result::Error::NotFound) => {
                        return Err(invalid_reference(
                            "user_id",
                            "is not a member of this organisation",
                        ));
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            let after = Chat::assign(conn, org, id, &assignment).await?;
            audit::acted(
                conn,
                caller,
                "assign",
                "chat",
                id,
                serde_json::to_value(before.assignment()).ok(),
                serde_json::to_value(after.assignment()).ok(),
            )
            .await?;
            let event = super::get::chat_event(conn, "chat.updated", &after).await?;
            Ok((after, event))
        })
        .await?;
    ctx.publisher().publish(&[event]);
    Ok(chat)
}
