//! One inbox connection: a single `select!` loop over client frames, the hub's event queue and
//! the heartbeat. Per-connection state stays small while idle (a subscription, a cursor, a
//! filter). Resume is exact: events after the client's cursor come from PostgreSQL, then the
//! live stream continues from there; a gap in the live stream is filled from PostgreSQL too.

use actix_ws::{CloseCode, CloseReason, Message as WsMessage, MessageStream, Session};
use futures_util::StreamExt;
use std::time::{Duration, Instant};

use super::protocol::{ClientCommand, ServerFrame};
use crate::api::chats::send_operator_message;
use crate::api::error::ApiError;
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::Event;
use crate::domain::ChatId;
use crate::inbox::{HubMessage, InboxEvent, PROTOCOL_VERSION};

/// Largest frame a client may send.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// How often the server pings.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(15);
/// Silence after which the client is considered gone.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(45);
/// Events queued for one connection before it counts as a slow consumer.
pub const QUEUE_CAPACITY: usize = 512;
/// Longest a single frame may wait to be written before the client counts as a slow consumer.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// Close code for a client that could not keep up; it should reconnect with its cursor.
pub const SLOW_CONSUMER: u16 = 4008;
/// Events read from PostgreSQL per catch-up query.
const CATCH_UP_PAGE: i64 = 500;

struct Stream {
    chat: Option<ChatId>,
    last_seq: i64,
}

enum Flow {
    Continue,
    Close(CloseReason),
}

fn close(code: u16, text: &str) -> Flow {
    Flow::Close(CloseReason {
        code: CloseCode::Other(code),
        description: Some(text.to_owned()),
    })
}

/// Runs a connection until either side closes it.
pub async fn run(ctx: AppContext, caller: Caller, mut ws: Session, mut frames: MessageStream) {
    // Subscribe before anything else, so no event committed from now on can be missed.
    let mut subscription = ctx.hub().subscribe(caller.organization_id, QUEUE_CAPACITY);
    let mut stream: Option<Stream> = None;
    let mut last_heard = Instant::now();
    let mut heartbeat = tokio::time::interval(HEARTBEAT_INTERVAL);
    heartbeat.tick().await;

    let cursor = match current_cursor(&ctx, &caller).await {
        Ok(cursor) => cursor,
        Err(e) => {
            let _ = ws
                .close(Some(CloseReason {
                    code: CloseCode::Error,
                    description: Some(e.message),
                }))
                .await;
            return;
        }
    };
    if send(
        &mut ws,
        &ServerFrame::Hello {
            v: PROTOCOL_VERSION,
            cursor,
        },
    )
    .await
    .is_err()
    {
        return;
    }

    let outcome = loop {
        let flow = tokio::select! {
            frame = frames.next() => match frame {
                Some(Ok(WsMessage::Text(text))) => {
                    last_heard = Instant::now();
                    handle_text(&ctx, &caller, &mut ws, &mut stream, &text).await
                }
                Some(Ok(WsMessage::Ping(bytes))) => {
                    last_heard = Instant::now();
                    if ws.pong(&bytes).await.is_err() { break None }
                    Flow::Continue
                }
                Some(Ok(WsMessage::Pong(_))) => { last_heard = Instant::now(); Flow::Continue }
                Some(Ok(WsMessage::Close(_))) | None => break None,
                Some(Ok(WsMessage::Binary(_))) => close(1003, "binary frames are not supported"),
                Some(Ok(_)) => Flow::Continue,
                Some(Err(e)) => close(1009, &format!("protocol error: {e}")),
            },
            message = subscription.receiver.recv() => match message {
                Some(HubMessage::Event(event)) => deliver(&ctx, &caller, &mut ws, &mut stream, &event).await,
                Some(HubMessage::Resync) => catch_up(&ctx, &caller, &mut ws, &mut stream, None).await,
                None => close(SLOW_CONSUMER, "slow consumer: reconnect with your last cursor"),
            },
            _ = heartbeat.tick() => {
                if last_heard.elapsed() > CLIENT_TIMEOUT {
                    close(1001, "idle timeout")
                } else if ws.ping(b"").await.is_err() {
                    break None
                } else {
                    Flow::Continue
                }
            }
        };
        if let Flow::Close(reason) = flow {
            break Some(reason);
        }
    };
    drop(subscription);
    let _ = ws.close(outcome).await;
}

async fn current_cursor(ctx: &AppContext, caller: &Caller) -> Result<i64, ApiError> {
    let mut conn = ctx.db().get().await?;
    Ok(Event::latest_seq(&mut conn, caller.organization_id).await?)
}

async fn send(ws: &mut Session, frame: &ServerFrame<'_>) -> Result<(), ()> {
    let text = serde_json::to_string(frame).map_err(|_| ())?;
    match tokio::time::timeout(SEND_TIMEOUT, ws.text(text)).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

fn error_frame<'a>(id: Option<&'a str>, error: &'a ApiError) -> ServerFrame<'a> {
    ServerFrame::Error {
        id,
        code: error.code,
        message: error.message.clone(),
    }
}

async fn handle_text(
    ctx: &AppContext,
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
        } => match send_command(ctx, caller, *chat_id, body, *reply_to_message_id).await {
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
            match review_command(ctx, caller, *chat_id, *message_id, Some(body.as_deref())).await {
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
        } => match review_command(ctx, caller, *chat_id, *message_id, None).await {
            Ok(message) => Ok(ServerFrame::Ack {
                id,
                cursor: None,
                data: Some(message),
            }),
            Err(e) => Err(e),
        },
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
    caller: &Caller,
    chat: ChatId,
    body: &str,
    reply_to: Option<crate::domain::MessageId>,
) -> Result<serde_json::Value, ApiError> {
    let length = body.trim().chars().count();
    if length == 0 || body.chars().count() > 16_000 {
        return Err(ApiError::invalid_field(
            "body",
            "must be 1 to 16000 characters",
        ));
    }
    let mut conn = ctx.db().get().await?;
    let (message, event) = send_operator_message(&mut conn, caller, chat, body, reply_to).await?;
    ctx.publisher().publish(&[event]);
    ctx.remember_message(&message).await;
    serde_json::to_value(&message).map_err(ApiError::internal)
}

/// Approves (`Some(edited text or None)`) or rejects (`None`) an AI draft, then publishes its
/// `draft.resolved` event.
async fn review_command(
    ctx: &AppContext,
    caller: &Caller,
    chat: ChatId,
    message: crate::domain::MessageId,
    approval: Option<Option<&str>>,
) -> Result<serde_json::Value, ApiError> {
    let mut conn = ctx.db().get().await?;
    let (message, event) = match approval {
        Some(edited) => {
            crate::api::chats::approve_draft(&mut conn, caller, chat, message, edited).await?
        }
        None => crate::api::chats::reject_draft(&mut conn, caller, chat, message).await?,
    };
    ctx.publisher().publish(&[event]);
    serde_json::to_value(&message).map_err(ApiError::internal)
}

/// A live event: skip what was already sent, fill any gap from PostgreSQL, then send it.
async fn deliver(
    ctx: &AppContext,
    caller: &Caller,
    ws: &mut Session,
    stream: &mut Option<Stream>,
    event: &InboxEvent,
) -> Flow {
    let Some(current) = stream.as_ref() else {
        return Flow::Continue;
    };
    if event.seq <= current.last_seq {
        return Flow::Continue;
    }
    if event.seq > current.last_seq + 1 {
        return catch_up(ctx, caller, ws, stream, Some(event.seq)).await;
    }
    let wanted = current.chat.is_none_or(|chat| event.chat_id == Some(chat));
    if wanted && send(ws, &ServerFrame::Event { event }).await.is_err() {
        return close(
            SLOW_CONSUMER,
            "slow consumer: reconnect with your last cursor",
        );
    }
    if let Some(current) = stream.as_mut() {
        current.last_seq = event.seq;
    }
    Flow::Continue
}

/// Sends stored events after the stream's cursor (up to `until`, inclusive, or all).
async fn catch_up(
    ctx: &AppContext,
    caller: &Caller,
    ws: &mut Session,
    stream: &mut Option<Stream>,
    until: Option<i64>,
) -> Flow {
    let Some(current) = stream.as_mut() else {
        return Flow::Continue;
    };
    loop {
        let page = match ctx.db().get().await {
            Ok(mut conn) => {
                Event::list_after(
                    &mut conn,
                    caller.organization_id,
                    current.last_seq,
                    None,
                    CATCH_UP_PAGE,
                )
                .await
            }
            Err(e) => return close(1011, &format!("database unavailable: {e}")),
        };
        let page = match page {
            Ok(page) => page,
            Err(e) => return close(1011, &format!("database error: {e}")),
        };
        let full = page.len() as i64 == CATCH_UP_PAGE;
        for stored in &page {
            if until.is_some_and(|until| stored.seq > until) {
                return Flow::Continue;
            }
            let event = InboxEvent::from(stored);
            let wanted = current.chat.is_none_or(|chat| stored.chat_id == Some(chat));
            if wanted
                && send(ws, &ServerFrame::Event { event: &event })
                    .await
                    .is_err()
            {
                return close(
                    SLOW_CONSUMER,
                    "slow consumer: reconnect with your last cursor",
                );
            }
            current.last_seq = stored.seq;
        }
        if !full {
            return Flow::Continue;
        }
    }
}
