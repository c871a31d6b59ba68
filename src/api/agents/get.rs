//! `GET /api/v1/agents/{id}`.

use actix_web::{HttpResponse, get, web};

use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::AiAgent;
use crate::domain::{AgentId, Scope};

/// An agent with where it came from.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AgentResponse {
    /// The agent.
    #[serde(flatten)]
    pub agent: AiAgent,
    /// A file of `agents/` or the organisation.
    pub origin: super::origin::AgentOriginView,
}

/// One agent.
#[utoipa::path(get, path = "/api/v1/agents/{id}", tag = "agents", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = AgentResponse), (status = 404, body = ErrorResponse)))]
#[get("/agents/{id}")]
pub async fn get_agent(
    ctx: web::Data<AppContext>,
    caller: Caller,
    id: web::Path<AgentId>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Read)?;
    let mut conn = ctx.db().get().await?;
    let agent = AiAgent::find(&mut conn, caller.organization_id, *id)
        .await
        .map_err(not_found)?;
    let origin = super::origin::origin_of(&mut conn, caller.organization_id, agent.id).await?;
    Ok(HttpResponse::Ok().json(AgentResponse { agent, origin }))
}

/// Maps a missing row to this resource's 404.
pub(super) fn not_found(error: diesel::result::Error) -> ApiError {
    match error {
        diesel::result::Error::NotFound => ApiError::not_found("agent"),
        other => other.into(),
    }
}
