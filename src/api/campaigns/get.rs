//! `GET /api/v1/campaigns/{id}`: the campaign with its steps in sending order.

use actix_web::{HttpResponse, get, web};
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{Campaign, CampaignStep};
use crate::domain::{CampaignId, OrganizationId, Scope};

/// A campaign and its sequence.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CampaignResponse {
    /// The campaign.
    #[serde(flatten)]
    pub campaign: Campaign,
    /// Its steps, by position.
    pub steps: Vec<CampaignStep>,
}

impl CampaignResponse {
    /// Loads the steps of `campaign`.
    pub async fn load(conn: &mut AsyncPgConnection, campaign: Campaign) -> ApiResult<Self> {
        let steps = CampaignStep::for_campaign(conn, campaign.organization_id, campaign.id).await?;
        Ok(Self { campaign, steps })
    }
}

/// One campaign with its steps.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}", tag = "campaigns", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = CampaignResponse), (status = 404, body = ErrorResponse)))]
#[get("/campaigns/{id}")]
pub async fn get_campaign(
    ctx: web::Data<AppContext>,
    caller: Caller,
    id: web::Path<CampaignId>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Read)?;
    let mut conn = ctx.db().get().await?;
    let campaign = Campaign::find(&mut conn, caller.organization_id, *id)
        .await
        .map_err(not_found)?;
    Ok(HttpResponse::Ok().json(CampaignResponse::load(&mut conn, campaign).await?))
}

/// Maps a missing row to this resource's 404.
pub(super) fn not_found(error: diesel::result::Error) -> ApiError {
    match error {
        diesel::result::Error::NotFound => ApiError::not_found("campaign"),
        other => other.into(),
    }
}

/// Locks the campaign for an edit; 409 `campaign_not_editable` once it has started.
pub(super) async fn editable(
    conn: &mut AsyncPgConnection,
    org: OrganizationId,
    id: CampaignId,
) -> ApiResult<Campaign> {
    let campaign = Campaign::find_for_update(conn, org, id)
        .await
        .map_err(not_found)?;
    if !campaign.is_editable() {
        return Err(ApiError::conflict(
            "campaign_not_editable",
            format!(
                "the campaign is {}; only draft and scheduled campaigns can be edited",
                campaign.status
            ),
        )
        .with_details(serde_json::json!({ "status": campaign.status })));
    }
    Ok(campaign)
}
