//! `ai_agents`: an organisation's configured AI agents (SDR, follow-up, bizdev). The agent actor
//! reads these rows; the admin API writes them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;

use crate::after_cursor;
use crate::db::pagination::{Cursor, Page, PageRequest};
use crate::db::schema::ai_agents;
use crate::domain::{AgentId, AgentKind, Autonomy, OrganizationId};

/// A configured agent.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize, ToSchema)]
#[diesel(table_name = ai_agents, check_for_backend(diesel::pg::Pg))]
pub struct AiAgent {
    /// Id.
    pub id: AgentId,
    /// Organisation.
    #[serde(skip)]
    pub organization_id: OrganizationId,
    /// Unique name in the organisation.
    pub name: String,
    /// Role: `sdr`, `followup` or `bizdev`.
    pub kind: AgentKind,
    /// What the agent is for, shown to operators.
    pub description: String,
    /// Model name as the model server knows it.
    pub model: String,
    /// Sampling temperature, 0 to 2.
    pub temperature: f32,
    /// Most tokens per reply.
    pub max_tokens: i32,
    /// Handlebars source of the system prompt.
    pub prompt_template: String,
    /// Tools the agent may call (deny by default).
    pub tools: Vec<String>,
    /// Rail settings, passed to the supervisor as they are.
    #[schema(value_type = Object)]
    pub guardrails: serde_json::Value,
    /// `off`, `draft` or `auto`.
    pub autonomy: Autonomy,
    /// `{window, recall_k}`.
    #[schema(value_type = Object)]
    pub memory: serde_json::Value,
    /// `{turns_per_chat_per_day, tokens_per_day}`.
    #[schema(value_type = Object)]
    pub budgets: serde_json::Value,
    /// Inactive agents take no turns.
    pub active: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A new agent.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = ai_agents)]
pub struct AiAgentInsertForm {
    /// Id.
    pub id: AgentId,
    /// Organisation.
    pub organization_id: OrganizationId,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: AgentKind,
    /// Description.
    pub description: String,
    /// Model.
    pub model: String,
    /// Temperature.
    pub temperature: f32,
    /// Max tokens.
    pub max_tokens: i32,
    /// Prompt template source.
    pub prompt_template: String,
    /// Allowed tools.
    pub tools: Vec<String>,
    /// Guardrails.
    pub guardrails: serde_json::Value,
    /// Autonomy.
    pub autonomy: Autonomy,
    /// Memory settings.
    pub memory: serde_json::Value,
    /// Budgets.
    pub budgets: serde_json::Value,
    /// Active.
    pub active: bool,
}

/// Changes to an agent; `None` leaves a column as it is.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = ai_agents)]
pub struct AiAgentUpdateForm {
    /// Name.
    pub name: Option<String>,
    /// Kind.
    pub kind: Option<AgentKind>,
    /// Description.
    pub description: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Temperature.
    pub temperature: Option<f32>,
    /// Max tokens.
    pub max_tokens: Option<i32>,
    /// Prompt template source.
    pub prompt_template: Option<String>,
    /// Allowed tools.
    pub tools: Option<Vec<String>>,
    /// Guardrails.
    pub guardrails: Option<serde_json::Value>,
    /// Autonomy.
    pub autonomy: Option<Autonomy>,
    /// Memory settings.
    pub memory: Option<serde_json::Value>,
    /// Budgets.
    pub budgets: Option<serde_json::Value>,
    /// Active.
    pub active: Option<bool>,
}

/// List filters.
#[derive(Debug, Clone, Default)]
pub struct AiAgentFilter {
    /// Only this kind.
    pub kind: Option<AgentKind>,
    /// Only active (or inactive) agents.
    pub active: Option<bool>,
}

impl AiAgent {
    /// Inserts an agent.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        form: &AiAgentInsertForm,
    ) -> QueryResult<Self> {
        diesel::insert_into(ai_agents::table)
            .values(form)
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }

    /// One agent of the organisation.
    pub async fn find(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: AgentId,
    ) -> QueryResult<Self> {
        ai_agents::table
            .filter(ai_agents::organization_id.eq(org))
            .filter(ai_agents::id.eq(id))
            .select(Self::as_select())
            .first(conn)
            .await
    }

    /// A filtered page, newest first.
    pub async fn list(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        filter: &AiAgentFilter,
        page: PageRequest,
    ) -> QueryResult<Page<Self>> {
        let mut query = after_cursor!(
            ai_agents::table.filter(ai_agents::organization_id.eq(org)),
            ai_agents,
            page
        );
        if let Some(kind) = filter.kind {
            query = query.filter(ai_agents::kind.eq(kind));
        }
        if let Some(active) = filter.active {
            query = query.filter(ai_agents::active.eq(active));
        }
        let rows = query.select(Self::as_select()).load(conn).await?;
        Ok(page.finish(rows, |a: &Self| Cursor {
            created_at: a.created_at,
            id: a.id.0,
        }))
    }

    /// Applies changes.
    pub async fn update(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: AgentId,
        form: &AiAgentUpdateForm,
    ) -> QueryResult<Self> {
        diesel::update(
            ai_agents::table
                .filter(ai_agents::organization_id.eq(org))
                .filter(ai_agents::id.eq(id)),
        )
        .set(form)
        .returning(Self::as_returning())
        .get_result(conn)
        .await
    }

    /// Deletes an agent; chats and campaigns that used it keep going without one.
    pub async fn delete(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: AgentId,
    ) -> QueryResult<usize> {
        diesel::delete(
            ai_agents::table
                .filter(ai_agents::organization_id.eq(org))
                .filter(ai_agents::id.eq(id)),
        )
        .execute(conn)
        .await
    }
}
