//! `PATCH /api/v1/channels/{id}`.

use actix_web::{HttpResponse, patch, web};
use diesel_async::AsyncConnection;
use validator::Validate;

use super::form::{UpdateChannel, check_settings};
use super::get::{ChannelResponse, not_found};
use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::channels::polling::PollerRegistry;
use crate::context::AppContext;
use crate::db::models::{Channel, ChannelUpdateForm};
use crate::db::or_unchanged;
use crate::domain::{ChannelId, Scope};

/// Changes a channel. The kind cannot change (422); new settings or secret references are
/// checked against the kind's rules as a whole, as on creation.
#[utoipa::path(patch, path = "/api/v1/channels/{id}", tag = "channels", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)), request_body = UpdateChannel,
    responses((status = 200, body = ChannelResponse), (status = 404, body = ErrorResponse),
              (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[patch("/channels/{id}")]
pub async fn update_channel(
    ctx: web::Data<AppContext>,
    pollers: web::Data<PollerRegistry>,
    caller: Caller,
    id: web::Path<ChannelId>,
    body: web::Json<UpdateChannel>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Configure)?;
    body.validate()?;
    let body = body.into_inner();
    let id = *id;
    let mut conn = ctx.db().get().await?;
    let channel = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let before = Channel::find(conn, caller.organization_id, id)
                .await
                .map_err(not_found)?;
            if body.kind.is_some_and(|kind| kind != before.kind) {
                return Err(ApiError::invalid_field(
                    "kind",
                    "cannot change after creation; create a new channel instead",
                ));
            }
            if body.settings.is_some() || body.secret_refs.is_some() {
                let settings = body.settings.as_ref().unwrap_or(&before.settings);
                let secret_refs = body.secret_refs.as_ref().unwrap_or(&before.secret_refs);
                let problems = check_settings(before.kind, settings, secret_refs);
                if !problems.is_empty() {
                    return Err(ApiError::invalid_fields(problems));
                }
            }
            let form = ChannelUpdateForm {
                name: body.name.as_deref().map(|n| n.trim().to_owned()),
                settings: body.settings.clone(),
                secret_refs: body.secret_refs.clone(),
                active: body.active,
            };
            let after = or_unchanged(
                Channel::update(conn, caller.organization_id, id, &form).await,
                &before,
            )?;
            audit::updated(conn, &caller, "channel", id, &before, &after).await?;
            Ok(after)
        })
        .await?;
    // Start, restart or stop this node's poller for the channel now; other nodes follow
    // within their periodic reconcile.
    pollers.reconcile_or_log().await;
    Ok(HttpResponse::Ok().json(ChannelResponse::from(channel)))
}
