//! The web inbox's WebSocket edge (`/ws/inbox`, actix-ws): one task per connection. The upgrade
//! checks the Origin against the allow-list and authenticates (an `Authorization` header, or a
//! one-time ticket for browsers) before any frame flows; a tenant only ever receives its own
//! organisation's events.

mod commands;
mod protocol;
mod session;
mod ticket;

pub use protocol::{ClientCommand, ServerFrame};
pub use ticket::{TicketResponse, create_ticket};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::Deserialize;

use crate::actors::router::ChatRouter;
use crate::api::error::ApiError;
use crate::auth::{AuthError, Caller};
use crate::context::AppContext;

/// `?ticket=` for browsers.
#[derive(Debug, Deserialize)]
pub struct InboxQuery {
    /// A ticket from `POST /api/v1/inbox/tickets`.
    pub ticket: Option<String>,
}

/// Upgrades to the inbox WebSocket.
#[get("/ws/inbox")]
pub async fn open_inbox(
    ctx: web::Data<AppContext>,
    router: web::Data<ChatRouter>,
    req: HttpRequest,
    body: web::Payload,
    query: web::Query<InboxQuery>,
) -> Result<HttpResponse, ApiError> {
    check_origin(&ctx, &req)?;
    let caller = match (crate::auth::caller::bearer_credential(&req), &query.ticket) {
        (Some(credential), _) => Caller::authenticate(&ctx, &credential).await?,
        (None, Some(ticket)) => ticket::redeem(&ctx, ticket).await?,
        (None, None) => return Err(AuthError::MissingCredentials.into()),
    };
    caller.require(crate::domain::Scope::Read)?;
    let (response, ws, stream) = actix_ws::handle(&req, body)
        .map_err(|e| ApiError::bad_request("websocket_handshake_failed", e.to_string()))?;
    let stream = stream.max_frame_size(session::MAX_FRAME_BYTES);
    let task = session::run(
        ctx.get_ref().clone(),
        router.get_ref().clone(),
        caller,
        ws,
        stream,
    );
    log_task_size(&task);
    actix_web::rt::spawn(task);
    Ok(response)
}

/// Logs the session task's size once (debug): every idle connection holds one for its whole
/// life, so it counts against the per-connection memory budget (issue 3).
fn log_task_size<T>(task: &T) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        tracing::debug!(
            bytes = std::mem::size_of_val(task),
            "inbox session task size"
        );
    });
}

/// Browsers always send `Origin`; it must be one of ours. Non-browser clients send none.
fn check_origin(ctx: &AppContext, req: &HttpRequest) -> Result<(), ApiError> {
    let Some(origin) = req.headers().get("origin") else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or_default().trim_end_matches('/');
    let server = &ctx.config().server;
    let allowed = server
        .allowed_origins
        .iter()
        .map(|o| o.trim_end_matches('/'))
        .any(|o| o == origin)
        || server.public_url.trim_end_matches('/') == origin;
    if allowed {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
            format!("origin {origin} may not open the inbox"),
        ))
    }
}
