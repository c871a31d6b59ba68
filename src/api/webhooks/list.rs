//! `GET /api/v1/webhooks`: a page of webhooks (never with their secrets).

use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::error::{ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{Webhook, WebhookFilter};
use crate::db::pagination::{PageParams, PageRequest};
use crate::domain::Scope;

/// Filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WebhookQuery {
    /// Only active (`true`) or inactive (`false`) webhooks.
    pub active: Option<bool>,
    /// Only webhooks subscribed to this event type.
    pub event: Option<String>,
}

/// Lists webhooks, newest first.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", security(("bearer" = [])),
    params(WebhookQuery, PageParams),
    responses((status = 200, description = "a page of webhooks", body = inline(crate::db::pagination::Page<Webhook>)),
              (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse)))]
#[get("/webhooks")]
pub async fn list_webhooks(
    ctx: web::Data<AppContext>,
    caller: Caller,
    filter: web::Query<WebhookQuery>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Read)?;
    let page = PageRequest::from_params(&page)?;
    let filter = filter.into_inner();
    let filter = WebhookFilter {
        active: filter.active,
        event: filter.event,
    };
    let mut conn = ctx.db().get().await?;
    let webhooks = Webhook::list(&mut conn, caller.organization_id, &filter, page).await?;
    Ok(HttpResponse::Ok().json(webhooks))
}
