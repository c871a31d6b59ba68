//! Provisioning: every organisation gets the agents of `agents/*.toml` as `ai_agents` rows, so
//! chats can be assigned to them and turns find them like any other agent. Runs for every
//! organisation at start-up (`serve`) and for one organisation when it is created. Each file's
//! agent is tracked in `ai_agent_origins`:
//! - no origin yet: the agent is inserted, unless the organisation already has an agent of that
//!   name (its own definition wins);
//! - the file changed and the organisation has not edited the agent: the row follows the file;
//! - edited through the API (`overridden_at`) or deleted (`agent_id` NULL): left alone.
//!
//! Idempotent, and safe with several nodes starting at once: the origin row is locked while a
//! changed file is applied, and a first insert races on the `(organization_id, name)` unique
//! constraint with `ON CONFLICT DO NOTHING`.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::catalog::{AgentCatalog, FileAgent};
use crate::context::AppContext;
use crate::db::models::{AgentOrigin, AiAgent};
use crate::db::schema::organizations;
use crate::domain::OrganizationId;

/// What provisioning did with one file in one organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provisioned {
    /// The agent was created from the file.
    Created,
    /// The file changed and the agent follows it.
    Updated,
    /// The agent already matches the file.
    Unchanged,
    /// The organisation edited the agent through the API; the file no longer changes it.
    Overridden,
    /// The organisation deleted the agent; the file does not bring it back.
    Deleted,
    /// The organisation has an agent of its own with the file's name.
    NameTaken,
}

/// Brings one organisation's file agents in line with the catalog, one transaction per file.
pub async fn provision_organization(
    conn: &mut AsyncPgConnection,
    org: OrganizationId,
    catalog: &AgentCatalog,
) -> QueryResult<Vec<(String, Provisioned)>> {
    let mut done = Vec::with_capacity(catalog.agents.len());
    for agent in &catalog.agents {
        let outcome = conn
            .transaction(async |conn| provision_one(conn, org, agent).await)
            .await?;
        done.push((agent.file.clone(), outcome));
    }
    Ok(done)
}

async fn provision_one(
    conn: &mut AsyncPgConnection,
    org: OrganizationId,
    agent: &FileAgent,
) -> QueryResult<Provisioned> {
    let Some(origin) = AgentOrigin::lock(conn, org, &agent.file).await? else {
        let created =
            AgentOrigin::provision(conn, &agent.insert_form(org), &agent.file, &agent.hash).await?;
        return Ok(match created {
            Some(_) => Provisioned::Created,
            None => Provisioned::NameTaken,
        });
    };
    let Some(agent_id) = origin.agent_id else {
        return Ok(Provisioned::Deleted);
    };
    if origin.overridden_at.is_some() {
        return Ok(Provisioned::Overridden);
    }
    if origin.definition_hash == agent.hash {
        return Ok(Provisioned::Unchanged);
    }
    AiAgent::update(conn, org, agent_id, &agent.update_form()).await?;
    AgentOrigin::set_hash(conn, org, &agent.file, &agent.hash).await?;
    Ok(Provisioned::Updated)
}

/// Start-up: provisions every organisation from the context's catalog. A failure in one
/// organisation is logged and the others go on; returns how many organisations failed.
pub async fn provision_all(ctx: &AppContext) -> anyhow::Result<usize> {
    let catalog = ctx.agent_catalog();
    for problem in &catalog.problems {
        tracing::error!(problem = %problem, "agent definition left out (run `switchboard check`)");
    }
    if catalog.agents.is_empty() {
        return Ok(0);
    }
    let mut conn = ctx.db().get().await?;
    let orgs: Vec<OrganizationId> = organizations::table
        .select(organizations::id)
        .order(organizations::id)
        .load(&mut conn)
        .await?;
    let mut failed = 0;
    for org in orgs {
        match provision_organization(&mut conn, org, catalog).await {
            Ok(done) => {
                for (file, outcome) in done {
                    if matches!(outcome, Provisioned::Created | Provisioned::Updated) {
                        tracing::info!(organization.id = %org, agent.file = %file, outcome = ?outcome, "agent provisioned");
                    }
                }
            }
            Err(e) => {
                failed += 1;
                tracing::error!(organization.id = %org, error = %e, "provisioning file agents failed");
            }
        }
    }
    Ok(failed)
}
