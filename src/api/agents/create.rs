//! `POST /api/v1/agents`.

use actix_web::{HttpResponse, post, web};
use diesel_async::AsyncConnection;
use validator::Validate;

use super::form::{CreateAgent, budgets_json, memory_json, normalise_tools};
use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{AiAgent, AiAgentInsertForm};
use crate::domain::{AgentId, Autonomy, OrganizationId, Scope};

/// Temperature when the request does not say (as in `agents/*.toml`).
pub const DEFAULT_TEMPERATURE: f32 = 0.4;
/// Reply length when the request does not say (as in `agents/*.toml`).
pub const DEFAULT_MAX_TOKENS: i32 = 512;

impl CreateAgent {
    /// The row to insert for this organisation.
    pub fn into_form(self, organization_id: OrganizationId) -> AiAgentInsertForm {
        AiAgentInsertForm {
            id: AgentId::new(),
            organization_id,
            name: self.name.trim().to_owned(),
            kind: self.kind,
            description: self.description.unwrap_or_default(),
            model: self.model.trim().to_owned(),
            temperature: self.temperature.unwrap_or(DEFAULT_TEMPERATURE),
            max_tokens: self.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
            prompt_template: self.prompt_template,
            tools: normalise_tools(self.tools),
            guardrails: self.guardrails.unwrap_or_else(|| serde_json::json!({})),
            autonomy: self.autonomy.unwrap_or(Autonomy::Draft),
            memory: memory_json(self.memory.as_ref()),
            budgets: budgets_json(self.budgets.as_ref()),
            active: self.active.unwrap_or(true),
        }
    }
}

/// Creates an agent; 409 `already_exists` when the name is taken, 422 naming an unknown tool or
/// locating a prompt template that does not compile.
#[utoipa::path(post, path = "/api/v1/agents", tag = "agents", security(("bearer" = [])),
    request_body = CreateAgent,
    responses((status = 201, body = AiAgent), (status = 409, body = ErrorResponse),
              (status = 422, body = ErrorResponse)))]
#[post("/agents")]
pub async fn create_agent(
    ctx: web::Data<AppContext>,
    caller: Caller,
    body: web::Json<CreateAgent>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Configure)?;
    body.validate()?;
    let form = body.into_inner().into_form(caller.organization_id);
    let mut conn = ctx.db().get().await?;
    let agent = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let agent = AiAgent::create(conn, &form).await?;
            audit::created(conn, &caller, "agent", agent.id, &agent).await?;
            Ok(agent)
        })
        .await?;
    Ok(HttpResponse::Created().json(agent))
}
