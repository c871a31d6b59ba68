//! `campaign_steps`: the ordered messages of a campaign's sequence, each sent a delay after the
//! previous one. The sequence is always replaced as a whole, inside one transaction.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::campaign_steps;
use crate::domain::{CampaignId, CampaignStepId, OrganizationId, TemplateId};

/// One step of a sequence.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize, ToSchema)]
#[diesel(table_name = campaign_steps, check_for_backend(diesel::pg::Pg))]
pub struct CampaignStep {
    /// Id.
    pub id: CampaignStepId,
    /// Organisation.
    #[serde(skip)]
    pub organization_id: OrganizationId,
    /// Campaign.
    #[serde(skip)]
    pub campaign_id: CampaignId,
    /// 0-based place in the sequence.
    pub position: i32,
    /// Seconds to wait after the previous step (or the start) before sending.
    pub delay_seconds: i64,
    /// The template to render, when not inline.
    pub template_id: Option<TemplateId>,
    /// Inline subject (email), Handlebars.
    pub subject: Option<String>,
    /// Inline body, Handlebars.
    pub body: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A new step.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = campaign_steps)]
pub struct CampaignStepInsertForm {
    /// Id.
    pub id: CampaignStepId,
    /// Organisation.
    pub organization_id: OrganizationId,
    /// Campaign.
    pub campaign_id: CampaignId,
    /// Position.
    pub position: i32,
    /// Delay.
    pub delay_seconds: i64,
    /// Template.
    pub template_id: Option<TemplateId>,
    /// Subject.
    pub subject: Option<String>,
    /// Body.
    pub body: Option<String>,
}

impl CampaignStep {
    /// The campaign's steps in sending order.
    pub async fn for_campaign(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        campaign: CampaignId,
    ) -> QueryResult<Vec<Self>> {
        campaign_steps::table
            .filter(campaign_steps::organization_id.eq(org))
            .filter(campaign_steps::campaign_id.eq(campaign))
            .order(campaign_steps::position.asc())
            .select(Self::as_select())
            .load(conn)
            .await
    }

    /// Replaces the whole sequence; call inside the transaction that locked the campaign.
    pub async fn replace_all(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        campaign: CampaignId,
        steps: &[CampaignStepInsertForm],
    ) -> QueryResult<Vec<Self>> {
        diesel::delete(
            campaign_steps::table
                .filter(campaign_steps::organization_id.eq(org))
                .filter(campaign_steps::campaign_id.eq(campaign)),
        )
        .execute(conn)
        .await?;
        if steps.is_empty() {
            return Ok(Vec::new());
        }
        let mut inserted = diesel::insert_into(campaign_steps::table)
            .values(steps)
            .returning(Self::as_returning())
            .get_results(conn)
            .await?;
        inserted.sort_by_key(|s| s.position);
        Ok(inserted)
    }
}
