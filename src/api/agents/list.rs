//! `GET /api/v1/agents`: a page of agents, filtered by kind and state, each with its health
//! (degraded while the model server is unreachable or the circuit breaker is open).

use actix_web::{HttpResponse, get, web};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;
use utoipa::ToSchema;

use crate::api::error::{ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{AiAgent, AiAgentFilter};
use crate::db::pagination::{PageParams, PageRequest};
use crate::domain::{AgentKind, Scope};
use crate::llm::HealthStatus;

/// An agent as lists show it: the row and whether it can work right now.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentListItem {
    /// The agent.
    #[serde(flatten)]
    pub agent: AiAgent,
    /// `ok`, or `degraded` while turns hand off to humans.
    pub status: HealthStatus,
    /// Why degraded; `null` when ok.
    pub status_reason: Option<String>,
    /// A file of `agents/` or the organisation.
    pub origin: super::origin::AgentOriginView,
}

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
    responses((status = 200, description = "a page of agents", body = inline(crate::db::pagination::Page<AgentListItem>)),
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
    let ids: Vec<_> = agents.items.iter().map(|a| a.id).collect();
    let mut origins = super::origin::origins(&mut conn, caller.organization_id, &ids).await?;
    drop(conn);
    // Every agent of this process talks to the one model server through the one client.
    let health = ctx.llm().health().await;
    let agents = agents.map(|agent| AgentListItem {
        origin: origins
            .remove(&agent.id)
            .unwrap_or_else(super::origin::AgentOriginView::organization),
        agent,
        status: health.status,
        status_reason: health.reason.clone(),
    });
    Ok(HttpResponse::Ok().json(agents))
}
