//! `GET /api/v1/agents`: a page of agents, filtered by kind and state.

use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::error::{ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{AiAgent, AiAgentFilter};
use crate::db::pagination::{PageParams, PageRequest};
use crate::domain::{AgentKind, Scope};

/// Filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AgentQuery {
    /// Only this kind.
    pub kind: Option<AgentKind>,
    /// Only active (`true`) or inactive (`false`) agents.
    pub active: Option<bool>,
}

/// Lists agents, newest first.
#[utoipa::path(get, path = "/api/v1/agents", tag = "agents", security(("bearer" = [])),
    params(AgentQuery, PageParams),
    responses((status = 200, description = "a page of agents", body = inline(crate::db::pagination::Page<AiAgent>)),
              (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse)))]
#[get("/agents")]
pub async fn list_agents(
    ctx: web::Data<AppContext>,
    caller: Caller,
    filter: web::Query<AgentQuery>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Read)?;
    let page = PageRequest::from_params(&page)?;
    let filter = AiAgentFilter {
        kind: filter.kind,
        active: filter.active,
    };
    let mut conn = ctx.db().get().await?;
    let agents = AiAgent::list(&mut conn, caller.organization_id, &filter, page).await?;
    Ok(HttpResponse::Ok().json(agents))
}
