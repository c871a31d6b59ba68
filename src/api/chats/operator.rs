//! Operators' changes to a chat run inside the chat's actor (`ChatRouter::operator`), for the
//! REST API and the inbox WebSocket alike: they are ordered with the chat's inbound messages
//! and agent decisions, a chat whose actor's mailbox is full answers 429 `chat_busy` before
//! anything is written, and a person taking the conversation over makes the agent stand down.

use std::future::Future;

use super::get::not_found;
use super::messages::{approve_draft, reject_draft, send_operator_message};
use crate::actors::chat::Takeover;
use crate::actors::router::ChatRouter;
use crate::api::error::ApiResult;
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{Chat, Message};
use crate::domain::{ChatId, MessageId, Scope};

/// Runs `work` (a change to a chat of the caller's organisation; needs `write`) through the
/// chat's actor. The
/// chat is looked up in the caller's organisation first, so an id from another organisation is
/// 404 and never starts an actor.
pub async fn in_chat_actor<T, F>(
    ctx: &AppContext,
    router: &ChatRouter,
    caller: &Caller,
    chat: ChatId,
    work: F,
) -> ApiResult<T>
where
    F: Future<Output = ApiResult<(T, Option<Takeover>)>> + Send + 'static,
    T: Send + 'static,
{
    caller.require(Scope::Write)?;
    let org = caller.organization_id;
    {
        let mut conn = ctx.db().get().await?;
        Chat::find(&mut conn, org, chat).await.map_err(not_found)?;
    }
    router.operator(org, chat, work).await?
}

/// An operator's reply: stored, queued and announced (`message.created`) inside the chat's
/// actor; a turn of the agent still thinking is cancelled, since a person has answered.
pub async fn operator_reply(
    ctx: &AppContext,
    router: &ChatRouter,
    caller: &Caller,
    chat: ChatId,
    text: String,
    reply_to: Option<MessageId>,
) -> ApiResult<Message> {
    let (app, who) = (ctx.clone(), caller.clone());
    in_chat_actor(ctx, router, caller, chat, async move {
        let mut conn = app.db().get().await?;
        let (message, event) =
            send_operator_message(&mut conn, &who, chat, &text, reply_to).await?;
        app.publisher().publish(&[event]);
        app.remember_message(&message).await;
        Ok((message, Some(Takeover::Replied)))
    })
    .await
}

/// A decision on an AI draft: approve (`Some(edited text or None)`) or reject (`None`), then its
/// `draft.resolved` event.
pub async fn review_draft(
    ctx: &AppContext,
    router: &ChatRouter,
    caller: &Caller,
    chat: ChatId,
    message: MessageId,
    approval: Option<Option<String>>,
) -> ApiResult<Message> {
    let (app, who) = (ctx.clone(), caller.clone());
    in_chat_actor(ctx, router, caller, chat, async move {
        let mut conn = app.db().get().await?;
        let (message, event) = match approval {
            Some(edited) => {
                approve_draft(&mut conn, &who, chat, message, edited.as_deref()).await?
            }
            None => reject_draft(&mut conn, &who, chat, message).await?,
        };
        app.publisher().publish(&[event]);
        Ok((message, None))
    })
    .await
}
