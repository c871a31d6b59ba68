//! `POST /api/v1/channels`.

use actix_web::{HttpResponse, post, web};
use diesel_async::AsyncConnection;
use validator::Validate;

use super::form::{CreateChannel, check_settings};
use super::get::ChannelResponse;
use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::channels::polling::PollerRegistry;
use crate::context::AppContext;
use crate::db::models::{Channel, ChannelInsertForm};
use crate::domain::{ChannelId, Scope};

/// Creates a channel; 422 with per-field details when its settings break the kind's rules
/// (a secret written in `settings`, a `secret_refs` value that is not an environment variable
/// name, a missing required setting); 409 `already_exists` when the name is taken.
#[utoipa::path(post, path = "/api/v1/channels", tag = "channels", security(("bearer" = [])),
    request_body = CreateChannel,
    responses((status = 201, body = ChannelResponse), (status = 409, body = ErrorResponse),
              (status = 422, body = ErrorResponse)))]
#[post("/channels")]
pub async fn create_channel(
    ctx: web::Data<AppContext>,
    pollers: web::Data<PollerRegistry>,
    caller: Caller,
    body: web::Json<CreateChannel>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Configure)?;
    body.validate()?;
    let body = body.into_inner();
    let problems = check_settings(body.kind, &body.settings, &body.secret_refs);
    if !problems.is_empty() {
        return Err(ApiError::invalid_fields(problems));
    }
    let form = ChannelInsertForm {
        id: ChannelId::new(),
        organization_id: caller.organization_id,
        kind: body.kind,
        name: body.name.trim().to_owned(),
        settings: body.settings,
        secret_refs: body.secret_refs,
        active: body.active,
    };
    let mut conn = ctx.db().get().await?;
    let channel = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let channel = Channel::create(conn, &form).await?;
            audit::created(conn, &caller, "channel", channel.id, &channel).await?;
            Ok(channel)
        })
        .await?;
    // Start, restart or stop this node's poller for the channel now; other nodes follow
    // within their periodic reconcile.
    pollers.reconcile_or_log().await;
    Ok(HttpResponse::Created().json(ChannelResponse::from(channel)))
}
