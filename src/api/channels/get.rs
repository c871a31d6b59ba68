//! `GET /api/v1/channels/{id}`, and the response shape every channel endpoint answers with.

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::Channel;
use crate::domain::{ChannelId, Scope};

/// A channel as the API shows it. No secret value is ever stored, so none can leak; what an
/// operator needs to know is whether each referenced environment variable is set.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelResponse {
    /// The channel.
    #[serde(flatten)]
    pub channel: Channel,
    /// For each name in `secret_refs`: whether its environment variable is set (and not empty)
    /// on this server.
    pub secrets_present: BTreeMap<String, bool>,
}

impl From<Channel> for ChannelResponse {
    fn from(channel: Channel) -> Self {
        Self {
            secrets_present: channel.secrets_present(),
            channel,
        }
    }
}

/// One channel.
#[utoipa::path(get, path = "/api/v1/channels/{id}", tag = "channels", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = ChannelResponse), (status = 404, body = ErrorResponse)))]
#[get("/channels/{id}")]
pub async fn get_channel(
    ctx: web::Data<AppContext>,
    caller: Caller,
    id: web::Path<ChannelId>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Read)?;
    let mut conn = ctx.db().get().await?;
    let channel = Channel::find(&mut conn, caller.organization_id, *id)
        .await
        .map_err(not_found)?;
    Ok(HttpResponse::Ok().json(ChannelResponse::from(channel)))
}

/// Maps a missing row to this resource's 404.
pub(super) fn not_found(error: diesel::result::Error) -> ApiError {
    match error {
        diesel::result::Error::NotFound => ApiError::not_found("channel"),
        other => other.into(),
    }
}
