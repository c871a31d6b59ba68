//! `/api/v1/agents`: the organisation's AI agents (SDR, follow-up, bizdev) with their model,
//! prompt, tools, guardrails, autonomy, memory and budgets. Reading needs `read`; writing needs
//! `configure`.

mod create;
mod delete;
mod form;
mod get;
mod list;
mod origin;
mod update;

pub use create::*;
pub use delete::*;
pub use form::*;
pub use get::*;
pub use list::*;
pub use origin::{AgentOriginView, AgentSource};
pub use update::*;

use actix_web::web;
use utoipa::OpenApi;

/// Routes of this resource.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_agents)
        .service(create_agent)
        .service(get_agent)
        .service(update_agent)
        .service(delete_agent);
}

/// OpenAPI of this resource.
#[derive(OpenApi)]
#[openapi(
    paths(list_agents, create_agent, get_agent, update_agent, delete_agent),
    components(schemas(crate::db::models::AiAgent, AgentListItem, AgentResponse, AgentOriginView, AgentSource, CreateAgent, UpdateAgent)),
    tags((name = "agents", description = "AI sales agents and their settings"))
)]
pub struct AgentsApi;
