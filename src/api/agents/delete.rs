//! `DELETE /api/v1/agents/{id}`: chats and campaigns that used the agent continue without one.

use actix_web::{HttpResponse, delete, web};
use diesel_async::AsyncConnection;

use super::get::not_found;
use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::AiAgent;
use crate::domain::{AgentId, Scope};

/// Deletes an agent.
#[utoipa::path(delete, path = "/api/v1/agents/{id}", tag = "agents", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    responses((status = 204, description = "deleted"), (status = 404, body = ErrorResponse)))]
#[delete("/agents/{id}")]
pub async fn delete_agent(
    ctx: web::Data<AppContext>,
    caller: Caller,
    id: web::Path<AgentId>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Configure)?;
    let id = *id;
    let mut conn = ctx.db().get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let before = AiAgent::find(conn, caller.organization_id, id)
            .await
            .map_err(not_found)?;
        AiAgent::delete(conn, caller.organization_id, id).await?;
        audit::deleted(conn, &caller, "agent", id, &before).await?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
