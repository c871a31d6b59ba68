//! `ai_agent_origins`: which of an organisation's agents were provisioned from `agents/*.toml`,
//! the definition last applied, and whether the organisation has since taken the agent over
//! (edited it through the API) or deleted it. Written by `crate::agents::provision` and by the
//! agents API; read by the agents API to say where each agent came from.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::models::{AiAgent, AiAgentInsertForm};
use crate::db::schema::{ai_agent_origins, ai_agents};
use crate::domain::{AgentId, OrganizationId};

/// One file's agent in one organisation.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ai_agent_origins, check_for_backend(diesel::pg::Pg))]
pub struct AgentOrigin {
    /// Organisation.
    pub organization_id: OrganizationId,
    /// File name in `agents/` (`sdr.toml`).
    pub source_file: String,
    /// The agent; `None` once the organisation deleted it (the file does not bring it back).
    pub agent_id: Option<AgentId>,
    /// Hash of the definition last applied to the agent.
    pub definition_hash: String,
    /// When the organisation edited the agent through the API; from then on the file no longer
    /// changes it.
    pub overridden_at: Option<DateTime<Utc>>,
    /// Provisioned.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A newly provisioned agent's origin.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = ai_agent_origins)]
pub struct AgentOriginInsertForm {
    /// Organisation.
    pub organization_id: OrganizationId,
    /// File name.
    pub source_file: String,
    /// The agent.
    pub agent_id: Option<AgentId>,
    /// Hash of the definition applied.
    pub definition_hash: String,
}

impl AgentOrigin {
    /// The file's origin row in the organisation, locked until the transaction ends so two
    /// nodes starting at once apply a changed file once.
    pub async fn lock(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        file: &str,
    ) -> QueryResult<Option<Self>> {
        ai_agent_origins::table
            .filter(ai_agent_origins::organization_id.eq(org))
            .filter(ai_agent_origins::source_file.eq(file))
            .select(Self::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()
    }

    /// Inserts the file's agent and its origin. `None` when the organisation already has an
    /// agent of that name (its own, which wins, or another node's insert that just committed)
    /// or the file already has an origin row.
    pub async fn provision(
        conn: &mut AsyncPgConnection,
        agent: &AiAgentInsertForm,
        file: &str,
        hash: &str,
    ) -> QueryResult<Option<AiAgent>> {
        let inserted: Option<AiAgent> = diesel::insert_into(ai_agents::table)
            .values(agent)
            .on_conflict_do_nothing()
            .returning(AiAgent::as_returning())
            .get_result(conn)
            .await
            .optional()?;
        let Some(inserted) = inserted else {
            return Ok(None);
        };
        let origin = diesel::insert_into(ai_agent_origins::table)
            .values(&AgentOriginInsertForm {
                organization_id: agent.organization_id,
                source_file: file.to_owned(),
                agent_id: Some(inserted.id),
                definition_hash: hash.to_owned(),
            })
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        if origin == 0 {
            // Another node provisioned the file under a different name meanwhile: keep theirs.
            diesel::delete(
                ai_agents::table
                    .filter(ai_agents::organization_id.eq(agent.organization_id))
                    .filter(ai_agents::id.eq(inserted.id)),
            )
            .execute(conn)
            .await?;
            return Ok(None);
        }
        Ok(Some(inserted))
    }

    /// Records that the file's definition with this hash was applied.
    pub async fn set_hash(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        file: &str,
        hash: &str,
    ) -> QueryResult<usize> {
        diesel::update(
            ai_agent_origins::table
                .filter(ai_agent_origins::organization_id.eq(org))
                .filter(ai_agent_origins::source_file.eq(file)),
        )
        .set(ai_agent_origins::definition_hash.eq(hash))
        .execute(conn)
        .await
    }

    /// Marks a file's agent as taken over by the organisation (no-op for its own agents and for
    /// agents already taken over).
    pub async fn mark_overridden(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        agent: AgentId,
    ) -> QueryResult<usize> {
        diesel::update(
            ai_agent_origins::table
                .filter(ai_agent_origins::organization_id.eq(org))
                .filter(ai_agent_origins::agent_id.eq(agent))
                .filter(ai_agent_origins::overridden_at.is_null()),
        )
        .set(ai_agent_origins::overridden_at.eq(diesel::dsl::now))
        .execute(conn)
        .await
    }

    /// The origins of these agents (agents created through the API have none).
    pub async fn for_agents(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        agents: &[AgentId],
    ) -> QueryResult<Vec<Self>> {
        if agents.is_empty() {
            return Ok(Vec::new());
        }
        ai_agent_origins::table
            .filter(ai_agent_origins::organization_id.eq(org))
            .filter(ai_agent_origins::agent_id.eq_any(agents))
            .select(Self::as_select())
            .load(conn)
            .await
    }
}
