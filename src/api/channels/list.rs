//! `GET /api/v1/channels`: a page of channels, newest first.

use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::get::ChannelResponse;
use crate::api::error::{ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{Channel, ChannelFilter};
use crate::db::pagination::{PageParams, PageRequest};
use crate::domain::{ChannelKind, Scope};

/// Filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChannelQuery {
    /// Of this kind.
    pub kind: Option<ChannelKind>,
    /// Active (`true`) or stopped (`false`) only.
    pub active: Option<bool>,
}

/// Lists channels, newest first.
#[utoipa::path(get, path = "/api/v1/channels", tag = "channels", security(("bearer" = [])),
    params(ChannelQuery, PageParams),
    responses((status = 200, description = "a page of channels", body = inline(crate::db::pagination::Page<ChannelResponse>)),
              (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse)))]
#[get("/channels")]
pub async fn list_channels(
    ctx: web::Data<AppContext>,
    caller: Caller,
    filter: web::Query<ChannelQuery>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Read)?;
    let page = PageRequest::from_params(&page)?;
    let filter = ChannelFilter {
        kind: filter.kind,
        active: filter.active,
    };
    let mut conn = ctx.db().get().await?;
    let channels = Channel::list(&mut conn, caller.organization_id, &filter, page).await?;
    Ok(HttpResponse::Ok().json(channels.map(ChannelResponse::from)))
}
