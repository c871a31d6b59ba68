//! `PUT /api/v1/campaigns/{id}/steps`: replaces the whole sequence in one transaction, so a
//! campaign never has half an old and half a new sequence.

use actix_web::{HttpResponse, put, web};
use diesel_async::AsyncConnection;

use super::create::step_forms;
use super::form::{ReplaceSteps, check_steps};
use super::get::{CampaignResponse, editable};
use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{Campaign, CampaignStep};
use crate::domain::{CampaignId, Scope};

/// Replaces a campaign's steps; 409 `campaign_not_editable` once it has started.
#[utoipa::path(put, path = "/api/v1/campaigns/{id}/steps", tag = "campaigns", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)), request_body = ReplaceSteps,
    responses((status = 200, body = CampaignResponse), (status = 404, body = ErrorResponse),
              (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[put("/campaigns/{id}/steps")]
pub async fn replace_campaign_steps(
    ctx: web::Data<AppContext>,
    caller: Caller,
    id: web::Path<CampaignId>,
    body: web::Json<ReplaceSteps>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Configure)?;
    check_steps(&body.steps)?;
    let (id, org) = (*id, caller.organization_id);
    let forms = step_forms(org, id, body.into_inner().steps);
    let mut conn = ctx.db().get().await?;
    let updated = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let campaign = editable(conn, org, id).await?;
            let before = CampaignResponse::load(conn, campaign).await?;
            let steps = CampaignStep::replace_all(conn, org, id, &forms).await?;
            let campaign = Campaign::touch(conn, org, id).await?;
            let after = CampaignResponse { campaign, steps };
            audit::updated(conn, &caller, "campaign", id, &before, &after).await?;
            Ok(after)
        })
        .await?;
    Ok(HttpResponse::Ok().json(updated))
}
