//! `PATCH /api/v1/agents/{id}`.

use actix_web::{HttpResponse, patch, web};
use diesel_async::AsyncConnection;
use validator::Validate;

use super::form::{UpdateAgent, budgets_json, memory_json, normalise_tools};
use super::get::not_found;
use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{AgentOrigin, AiAgent, AiAgentUpdateForm};
use crate::db::or_unchanged;
use crate::domain::{AgentId, Scope};

impl UpdateAgent {
    fn into_form(self) -> AiAgentUpdateForm {
        AiAgentUpdateForm {
            name: self.name.map(|n| n.trim().to_owned()),
            kind: self.kind,
            description: self.description,
            model: self.model.map(|m| m.trim().to_owned()),
            temperature: self.temperature,
            max_tokens: self.max_tokens,
            prompt_template: self.prompt_template,
            tools: self.tools.map(normalise_tools),
            guardrails: self.guardrails,
            autonomy: self.autonomy,
            memory: self.memory.as_ref().map(|m| memory_json(Some(m))),
            budgets: self.budgets.as_ref().map(|b| budgets_json(Some(b))),
            active: self.active,
        }
    }
}

/// Changes an agent; running turns finish with the old settings. An agent provisioned from
/// `agents/*.toml` becomes the organisation's own (`origin.overridden`).
#[utoipa::path(patch, path = "/api/v1/agents/{id}", tag = "agents", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)), request_body = UpdateAgent,
    responses((status = 200, body = AiAgent), (status = 404, body = ErrorResponse),
              (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[patch("/agents/{id}")]
pub async fn update_agent(
    ctx: web::Data<AppContext>,
    caller: Caller,
    id: web::Path<AgentId>,
    body: web::Json<UpdateAgent>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Configure)?;
    body.validate()?;
    let form = body.into_inner().into_form();
    let id = *id;
    let mut conn = ctx.db().get().await?;
    let agent = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let before = AiAgent::find(conn, caller.organization_id, id)
                .await
                .map_err(not_found)?;
            let after = or_unchanged(
                AiAgent::update(conn, caller.organization_id, id, &form).await,
                &before,
            )?;
            // A file agent edited here is the organisation's from now on: start-ups with a
            // changed file leave it alone.
            AgentOrigin::mark_overridden(conn, caller.organization_id, id).await?;
            audit::updated(conn, &caller, "agent", id, &before, &after).await?;
            Ok(after)
        })
        .await?;
    Ok(HttpResponse::Ok().json(agent))
}
