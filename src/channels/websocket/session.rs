//! One inbox connection: a single `select!` loop over client frames, the hub's event queue and
//! the heartbeat. Per-connection state stays small while idle (a subscription, a cursor, a
//! filter). Resume is exact: events after the client's cursor come from PostgreSQL, then the
//! live stream continues from there; a gap in the live stream is filled from PostgreSQL too.

use actix_ws::{CloseCode, CloseReason, Message as WsMessage, MessageStream, Session};
use bytestring::ByteString;
use futures_util::StreamExt;
use std::time::{Duration, Instant};

use super::protocol::ServerFrame;
use crate::actors::router::ChatRouter;
use crate::api::error::ApiError;
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::Event;
use crate::domain::ChatId;
use crate::inbox::{HubMessage, InboxEvent, PROTOCOL_VERSION, Signal};

/// Largest frame a client may send.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// How often the server pings.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(15);
/// Silence after which the client is considered gone.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(45);
/// Longest a single frame may wait to be written before the client counts as a slow consumer.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// Close code for a client that could not keep up; it should reconnect with its cursor.
pub const SLOW_CONSUMER: u16 = 4008;
/// A presence count outlives a node that died without decrementing it by at most this long.
const PRESENCE_TTL_SECS: i64 = 24 * 3600;
/// Events read from PostgreSQL per catch-up query.
const CATCH_UP_PAGE: i64 = 500;

/// A subscribed client's stream: which chats, and the last cursor it was sent.
pub(super) struct Stream {
    pub(super) chat: Option<ChatId>,
    pub(super) last_seq: i64,
}

/// Whether the connection goes on.
pub(super) enum Flow {
    Continue,
    Close(CloseReason),
}

pub(super) fn close(code: u16, text: &str) -> Flow {
    Flow::Close(CloseReason {
        code: CloseCode::Other(code),
        description: Some(text.to_owned()),
    })
}

/// Runs a connection until either side closes it.
pub async fn run(
    ctx: AppContext,
    router: ChatRouter,
    caller: Caller,
    mut ws: Session,
    mut frames: MessageStream,
) {
    // Subscribe before anything else, so no event committed from now on can be missed.
    let mut subscription = ctx.hub().subscribe(
        caller.organization_id,
        ctx.config().server.inbox_queue_capacity,
    );
    let mut stream: Option<Stream> = None;
    let mut last_heard = Instant::now();
    let mut heartbeat = tokio::time::interval(HEARTBEAT_INTERVAL);
    heartbeat.tick().await;

    // Set-up, teardown and delivery are boxed: an async fn's state is as large as its largest
    // await point, and inlined, these (a pool checkout and query, a Redis pipeline, a send with
    // its timer) would make every idle connection's task carry their state for its whole life.
    let cursor = match Box::pin(current_cursor(&ctx, &caller)).await {
        Ok(cursor) => cursor,
        Err(e) => {
            let _ = Box::pin(ws.close(Some(CloseReason {
                code: CloseCode::Error,
                description: Some(e.message),
            })))
            .await;
            return;
        }
    };
    Box::pin(presence(&ctx, &caller, true)).await;
    if Box::pin(send(
        &mut ws,
        &ServerFrame::Hello {
            v: PROTOCOL_VERSION,
            cursor,
        },
    ))
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
                    // Boxed: command handling is rare, and inlined its state would make every idle
                    // connection's task as large as the largest command.
                    Box::pin(super::commands::handle_text(&ctx, &router, &caller, &mut ws, &mut stream, &text)).await
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
                Some(HubMessage::Event(event)) => Box::pin(deliver(&ctx, &caller, &mut ws, &mut stream, &event)).await,
                Some(HubMessage::Resync) => Box::pin(catch_up(&ctx, &caller, &mut ws, &mut stream, None)).await,
                Some(HubMessage::Signal(signal)) => Box::pin(relay(&mut ws, &stream, &signal)).await,
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
    let _ = Box::pin(ws.close(outcome)).await;
    Box::pin(presence(&ctx, &caller, false)).await;
}

/// Sends a signal to a subscribed client whose stream covers its chat.
async fn relay(ws: &mut Session, stream: &Option<Stream>, signal: &Signal) -> Flow {
    let Some(current) = stream else {
        return Flow::Continue;
    };
    if signal.chat_id.is_some()
        && current
            .chat
            .is_some_and(|chat| signal.chat_id != Some(chat))
    {
        return Flow::Continue;
    }
    let Ok(text) = serde_json::to_string(signal) else {
        return Flow::Continue;
    };
    if send_text(ws, text.into()).await.is_err() {
        return close(
            SLOW_CONSUMER,
            "slow consumer: reconnect with your last cursor",
        );
    }
    Flow::Continue
}

/// Counts an operator's open inbox connections (across nodes, in Redis) and signals `presence`
/// when the first opens or the last closes. API keys have no person behind them: no presence.
async fn presence(ctx: &AppContext, caller: &Caller, connected: bool) {
    let Some(user) = caller.user_id() else {
        return;
    };
    let key = ctx.redis_key(&format!("presence:{}:{user}", caller.organization_id));
    let mut redis = ctx.redis();
    let delta: i64 = if connected { 1 } else { -1 };
    let counted: redis::RedisResult<(i64, i64)> = redis::pipe()
        .atomic()
        .incr(&key, delta)
        .expire(&key, PRESENCE_TTL_SECS)
        .query_async(&mut redis)
        .await;
    match counted {
        Ok((1, _)) if connected => {
            ctx.publisher()
                .signal(Signal::presence(caller.organization_id, user, true))
        }
        Ok((n, _)) if !connected && n <= 0 => {
            let _: redis::RedisResult<i64> =
                redis::cmd("DEL").arg(&key).query_async(&mut redis).await;
            ctx.publisher()
                .signal(Signal::presence(caller.organization_id, user, false));
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "presence count unavailable"),
    }
}

pub(super) async fn current_cursor(ctx: &AppContext, caller: &Caller) -> Result<i64, ApiError> {
    let mut conn = ctx.db().get().await?;
    Ok(Event::latest_seq(&mut conn, caller.organization_id).await?)
}

/// Sends a frame; `Err` when the client did not take it within [`SEND_TIMEOUT`] or is gone.
pub(super) async fn send(ws: &mut Session, frame: &ServerFrame<'_>) -> Result<(), ()> {
    let text = serde_json::to_string(frame).map_err(|_| ())?;
    send_text(ws, text.into()).await
}

async fn send_text(ws: &mut Session, text: ByteString) -> Result<(), ()> {
    match tokio::time::timeout(SEND_TIMEOUT, ws.text(text)).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

/// The `error` frame of a failed command (or connection).
pub(super) fn error_frame<'a>(id: Option<&'a str>, error: &'a ApiError) -> ServerFrame<'a> {
    ServerFrame::Error {
        id,
        code: error.code,
        message: error.message.clone(),
    }
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
        metrics::counter!("inbox_gap_catch_ups_total").increment(1);
        return Box::pin(catch_up(ctx, caller, ws, stream, Some(event.seq))).await;
    }
    let wanted = current.chat.is_none_or(|chat| event.chat_id == Some(chat));
    if wanted && send_text(ws, event.wire()).await.is_err() {
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
pub(super) async fn catch_up(
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
            if wanted && send_text(ws, event.wire()).await.is_err() {
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
