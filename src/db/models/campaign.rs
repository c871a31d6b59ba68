//! `campaigns`: outreach sequences an organisation configures; the campaign actor runs them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;

use crate::after_cursor;
use crate::db::pagination::{Cursor, Page, PageRequest};
use crate::db::schema::campaigns;
use crate::domain::{AgentId, CampaignId, CampaignStatus, ChannelId, OrganizationId, UserId};

/// A campaign (without its steps; see `CampaignStep`).
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize, ToSchema)]
#[diesel(table_name = campaigns, check_for_backend(diesel::pg::Pg))]
pub struct Campaign {
    /// Id.
    pub id: CampaignId,
    /// Organisation.
    #[serde(skip)]
    pub organization_id: OrganizationId,
    /// Name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Lifecycle state; changed by start/pause, not by editing.
    pub status: CampaignStatus,
    /// The channel it sends on.
    pub channel_id: Option<ChannelId>,
    /// The agent that answers replies.
    pub agent_id: Option<AgentId>,
    /// Who receives it: `{tags?, company_id?}`.
    #[schema(value_type = Object)]
    pub audience: serde_json::Value,
    /// Throttling and stop rules: `{max_per_hour?, quiet_hours?, stop_on_reply?}`.
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    /// When it should start.
    pub starts_at: Option<DateTime<Utc>>,
    /// The user who created it.
    pub created_by: Option<UserId>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A new campaign.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = campaigns)]
pub struct CampaignInsertForm {
    /// Id.
    pub id: CampaignId,
    /// Organisation.
    pub organization_id: OrganizationId,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Channel.
    pub channel_id: Option<ChannelId>,
    /// Agent.
    pub agent_id: Option<AgentId>,
    /// Audience filter.
    pub audience: serde_json::Value,
    /// Settings.
    pub settings: serde_json::Value,
    /// Start time.
    pub starts_at: Option<DateTime<Utc>>,
    /// Creator.
    pub created_by: Option<UserId>,
}

/// Changes to a campaign; `Some(None)` clears a column. Status is not here on purpose.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = campaigns)]
pub struct CampaignUpdateForm {
    /// Name.
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Channel.
    pub channel_id: Option<Option<ChannelId>>,
    /// Agent.
    pub agent_id: Option<Option<AgentId>>,
    /// Audience filter.
    pub audience: Option<serde_json::Value>,
    /// Settings.
    pub settings: Option<serde_json::Value>,
    /// Start time.
    pub starts_at: Option<Option<DateTime<Utc>>>,
}

/// List filters.
#[derive(Debug, Clone, Default)]
pub struct CampaignFilter {
    /// Only this status.
    pub status: Option<CampaignStatus>,
}

impl Campaign {
    /// Whether its configuration may still change (nothing has been sent yet).
    pub fn is_editable(&self) -> bool {
        matches!(
            self.status,
            CampaignStatus::Draft | CampaignStatus::Scheduled
        )
    }

    /// Inserts a campaign.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        form: &CampaignInsertForm,
    ) -> QueryResult<Self> {
        diesel::insert_into(campaigns::table)
            .values(form)
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }

    /// One campaign of the organisation.
    pub async fn find(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: CampaignId,
    ) -> QueryResult<Self> {
        campaigns::table
            .filter(campaigns::organization_id.eq(org))
            .filter(campaigns::id.eq(id))
            .select(Self::as_select())
            .first(conn)
            .await
    }

    /// One campaign, locked until the transaction ends, so its status cannot change between the
    /// editability check and the edit.
    pub async fn find_for_update(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: CampaignId,
    ) -> QueryResult<Self> {
        campaigns::table
            .filter(campaigns::organization_id.eq(org))
            .filter(campaigns::id.eq(id))
            .select(Self::as_select())
            .for_update()
            .first(conn)
            .await
    }

    /// A filtered page, newest first.
    pub async fn list(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        filter: &CampaignFilter,
        page: PageRequest,
    ) -> QueryResult<Page<Self>> {
        let mut query = after_cursor!(
            campaigns::table.filter(campaigns::organization_id.eq(org)),
            campaigns,
            page
        );
        if let Some(status) = filter.status {
            query = query.filter(campaigns::status.eq(status));
        }
        let rows = query.select(Self::as_select()).load(conn).await?;
        Ok(page.finish(rows, |c: &Self| Cursor {
            created_at: c.created_at,
            id: c.id.0,
        }))
    }

    /// Applies changes.
    pub async fn update(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: CampaignId,
        form: &CampaignUpdateForm,
    ) -> QueryResult<Self> {
        diesel::update(
            campaigns::table
                .filter(campaigns::organization_id.eq(org))
                .filter(campaigns::id.eq(id)),
        )
        .set(form)
        .returning(Self::as_returning())
        .get_result(conn)
        .await
    }

    /// Marks the campaign as touched (its steps changed), so `updated_at` moves.
    pub async fn touch(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: CampaignId,
    ) -> QueryResult<Self> {
        diesel::update(
            campaigns::table
                .filter(campaigns::organization_id.eq(org))
                .filter(campaigns::id.eq(id)),
        )
        .set(campaigns::updated_at.eq(diesel::dsl::now))
        .returning(Self::as_returning())
        .get_result(conn)
        .await
    }

    /// Deletes a campaign with its steps and recipients.
    pub async fn delete(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: CampaignId,
    ) -> QueryResult<usize> {
        diesel::delete(
            campaigns::table
                .filter(campaigns::organization_id.eq(org))
                .filter(campaigns::id.eq(id)),
        )
        .execute(conn)
        .await
    }
}
