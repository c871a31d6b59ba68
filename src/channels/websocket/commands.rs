//! Client commands on the inbox WebSocket: each is checked and carried out with the caller's
//! rights (the same functions as the REST API), then answered with an `ack` or a typed `error`.

use actix_ws::Session;

use super::protocol::{ClientCommand, ServerFrame};
use super::session::{
    Flow, SLOW_CONSUMER, Stream, catch_up, close, current_cursor, error_frame, send,
};
use crate::actors::router::ChatRouter;
use crate::api::chats::{operator_reply, review_draft};
use crate::api::error::ApiError;
use crate::auth::Caller;
use crate::context::AppContext;
use crate::domain::{ChatId, Scope};
use crate::inbox::{Signal, Typist};

/// Parses and carries out one client frame.
pub(super) async fn handle_text(
    ctx: &AppContext,
    router: &ChatRouter,
    caller: &Caller,
    ws: &mut Session,
    stream: &mut Option<Stream>,
    text: &str,
) -> Flow {
    let command: ClientCommand = match serde_json::from_str(text) {
        Ok(command) => command,
        Err(e) => {
            let error =
                ApiError::bad_request("invalid_command", format!("not a valid command: {e}"));
            return if send(ws, &error_frame(None, &error)).await.is_ok() {
                Flow::Continue
            } else {
                close(SLOW_CONSUMER, "slow consumer")
            };
        }
    };
    let result = match &command {
        ClientCommand::Subscribe {
            id,
            cursor,
            chat_id,
        } => {
            let start = match cursor {
                Some(cursor) if *cursor >= 0 => Ok(*cursor),
                Some(_) => Err(ApiError::bad_request(
                    "invalid_cursor",
                    "cursor must be zero or more",
                )),
                None => current_cursor(ctx, caller).await,
            };
            match start {
                Ok(start) => {
                    *stream = Some(Stream {
                        chat: *chat_id,
                        last_seq: start,
                    });
                    if let Flow::Close(reason) = catch_up(ctx, caller, ws, stream, None).await {
                        return Flow::Close(reason);
                    }
                    let cursor = stream.as_ref().map(|s| s.last_seq);
                    Ok(ServerFrame::Ack {
                        id,
                        cursor,
                        data: None,
                    })
                }
                Err(e) => Err(e),
            }
        }
        ClientCommand::Send {
            id,
            chat_id,
            body,
            reply_to_message_id,
        } => match send_command(ctx, router, caller, *chat_id, body, *reply_to_message_id).await {
            Ok(message) => Ok(ServerFrame::Ack {
                id,
                cursor: None,
                data: Some(message),
            }),
            Err(e) => Err(e),
        },
        ClientCommand::ApproveDraft {
            id,
            chat_id,
            message_id,
            body,
        } => {
            match review_command(
                ctx,
                router,
                caller,
                *chat_id,
                *message_id,
                Some(body.clone()),
            )
            .await
            {
                Ok(message) => Ok(ServerFrame::Ack {
                    id,
                    cursor: None,
                    data: Some(message),
                }),
                Err(e) => Err(e),
            }
        }
        ClientCommand::RejectDraft {
            id,
            chat_id,
            message_id,
        } => match review_command(ctx, router, caller, *chat_id, *message_id, None).await {
            Ok(message) => Ok(ServerFrame::Ack {
                id,
                cursor: None,
                data: Some(message),
            }),
            Err(e) => Err(e),
        },
        ClientCommand::Typing {
            id,
            chat_id,
            active,
        } => match typing_command(ctx, caller, *chat_id, *active).await {
            Ok(()) => Ok(ServerFrame::Ack {
                id,
                cursor: None,
                data: None,
            }),
            Err(e) => Err(e),
        },
        ClientCommand::Assign {
            id,
            chat_id,
            user_id,
            agent_id,
        } => {
            let assignment = crate::api::chats::AssignChat {
                user_id: *user_id,
                agent_id: *agent_id,
            };
            match crate::api::chats::assign(ctx, router, caller, *chat_id, assignment).await {
                Ok(chat) => Ok(ServerFrame::Ack {
                    id,
                    cursor: None,
                    data: serde_json::to_value(&chat).ok(),
                }),
                Err(e) => Err(e),
            }
        }
        ClientCommand::MarkRead { id, chat_id } => {
            match crate::api::chats::read_chat(ctx, caller, *chat_id).await {
                Ok(_) => Ok(ServerFrame::Ack {
                    id,
                    cursor: None,
                    data: None,
                }),
                Err(e) => Err(e),
            }
        }
    };
    let sent = match &result {
        Ok(frame) => send(ws, frame).await,
        Err(error) => send(ws, &error_frame(Some(command.id()), error)).await,
    };
    if sent.is_ok() {
        Flow::Continue
    } else {
        close(SLOW_CONSUMER, "slow consumer")
    }
}

async fn send_command(
    ctx: &AppContext,
    router: &ChatRouter,
    caller: &Caller,
    chat: ChatId,
    body: &str,
    reply_to: Option<crate::domain::MessageId>,
) -> Result<serde_json::Value, ApiError> {
    caller.require(Scope::Write)?;
    let length = body.trim().chars().count();
    if length == 0 || body.chars().count() > 16_000 {
        return Err(ApiError::invalid_field(
            "body",
            "must be 1 to 16000 characters",
        ));
    }
    let message = operator_reply(ctx, router, caller, chat, body.to_owned(), reply_to).await?;
    serde_json::to_value(&message).map_err(ApiError::internal)
}

/// Approves (`Some(edited text or None)`) or rejects (`None`) an AI draft.
async fn review_command(
    ctx: &AppContext,
    router: &ChatRouter,
    caller: &Caller,
    chat: ChatId,
    message: crate::domain::MessageId,
    approval: Option<Option<String>>,
) -> Result<serde_json::Value, ApiError> {
    let message = review_draft(ctx, router, caller, chat, message, approval).await?;
    serde_json::to_value(&message).map_err(ApiError::internal)
}

/// Tells the other operators that this one is (or stopped) typing. Only a person can type, and
/// only in a chat of their organisation.
async fn typing_command(
    ctx: &AppContext,
    caller: &Caller,
    chat: ChatId,
    active: bool,
) -> Result<(), ApiError> {
    caller.require(Scope::Write)?;
    let Some(user) = caller.user_id() else {
        return Err(ApiError::bad_request(
            "not_a_person",
            "typing is reported for operators, not API keys",
        ));
    };
    let mut conn = ctx.db().get().await?;
    crate::db::models::Chat::find(&mut conn, caller.organization_id, chat)
        .await
        .map_err(crate::api::chats::not_found)?;
    ctx.publisher().signal(Signal::typing(
        caller.organization_id,
        chat,
        Typist::Operator { user_id: user },
        active,
    ));
    Ok(())
}
