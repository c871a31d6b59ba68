//! Where an agent came from, as the agents API shows it: a file of `agents/` (provisioned into
//! every organisation and following the file until the organisation edits it) or the
//! organisation itself (created through the API).

use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;

use crate::db::models::AgentOrigin;
use crate::domain::{AgentId, OrganizationId};

/// Who defines an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgentSource {
    /// Provisioned from `agents/<file>`.
    File,
    /// Created through the API by the organisation.
    Organization,
}

/// An agent's origin.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgentOriginView {
    /// `file` or `organization`.
    pub source: AgentSource,
    /// The file in `agents/` (`sdr.toml`) for file agents.
    pub file: Option<String>,
    /// A file agent the organisation has edited through the API: the file no longer changes it.
    pub overridden: bool,
}

impl AgentOriginView {
    /// An agent the organisation created.
    pub fn organization() -> Self {
        Self {
            source: AgentSource::Organization,
            file: None,
            overridden: false,
        }
    }
}

/// The origin of each of these agents.
pub async fn origins(
    conn: &mut diesel_async::AsyncPgConnection,
    org: OrganizationId,
    agents: &[AgentId],
) -> diesel::QueryResult<HashMap<AgentId, AgentOriginView>> {
    let rows = AgentOrigin::for_agents(conn, org, agents).await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let id = row.agent_id?;
            Some((
                id,
                AgentOriginView {
                    source: AgentSource::File,
                    file: Some(row.source_file),
                    overridden: row.overridden_at.is_some(),
                },
            ))
        })
        .collect())
}

/// The origin of one agent.
pub async fn origin_of(
    conn: &mut diesel_async::AsyncPgConnection,
    org: OrganizationId,
    agent: AgentId,
) -> diesel::QueryResult<AgentOriginView> {
    Ok(origins(conn, org, &[agent])
        .await?
        .remove(&agent)
        .unwrap_or_else(AgentOriginView::organization))
}
