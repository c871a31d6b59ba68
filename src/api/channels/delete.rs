//! `DELETE /api/v1/channels/{id}`: removes the channel with its chats and their messages.

use actix_web::{HttpResponse, delete, web};
use diesel_async::AsyncConnection;

use super::get::not_found;
use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::channels::polling::PollerRegistry;
use crate::context::AppContext;
use crate::db::models::Channel;
use crate::domain::{ChannelId, Scope};

/// Deletes a channel and, with it, every chat on it. To stop a channel but keep its history,
/// set `active: false` instead.
#[utoipa::path(delete, path = "/api/v1/channels/{id}", tag = "channels", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    responses((status = 204, description = "deleted"), (status = 404, body = ErrorResponse)))]
#[delete("/channels/{id}")]
pub async fn delete_channel(
    ctx: web::Data<AppContext>,
    pollers: web::Data<PollerRegistry>,
    caller: Caller,
    id: web::Path<ChannelId>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Configure)?;
    let id = *id;
    let mut conn = ctx.db().get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let before = Channel::find(conn, caller.organization_id, id)
            .await
            .map_err(not_found)?;
        Channel::delete(conn, caller.organization_id, id).await?;
        audit::deleted(conn, &caller, "channel", id, &before).await?;
        Ok(())
    })
    .await?;
    // Start, restart or stop this node's poller for the channel now; other nodes follow
    // within their periodic reconcile.
    pollers.reconcile_or_log().await;
    Ok(HttpResponse::NoContent().finish())
}
