//! `DELETE /api/v1/campaigns/{id}`: removes a campaign with its steps and recipients, unless it
//! is running (pause or cancel it first, so nothing is sent mid-delete).

use actix_web::{HttpResponse, delete, web};
use diesel_async::AsyncConnection;

use super::get::{CampaignResponse, not_found};
use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::Campaign;
use crate::domain::{CampaignId, CampaignStatus, Scope};

/// Deletes a campaign; 409 `campaign_running` while it runs.
#[utoipa::path(delete, path = "/api/v1/campaigns/{id}", tag = "campaigns", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    responses((status = 204, description = "deleted"), (status = 404, body = ErrorResponse),
              (status = 409, body = ErrorResponse)))]
#[delete("/campaigns/{id}")]
pub async fn delete_campaign(
    ctx: web::Data<AppContext>,
    caller: Caller,
    id: web::Path<CampaignId>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Configure)?;
    let (id, org) = (*id, caller.organization_id);
    let mut conn = ctx.db().get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let campaign = Campaign::find_for_update(conn, org, id)
            .await
            .map_err(not_found)?;
        if campaign.status == CampaignStatus::Running {
            return Err(ApiError::conflict(
                "campaign_running",
                "the campaign is running; pause or cancel it before deleting it",
            ));
        }
        let before = CampaignResponse::load(conn, campaign).await?;
        Campaign::delete(conn, org, id).await?;
        audit::deleted(conn, &caller, "campaign", id, &before).await?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
