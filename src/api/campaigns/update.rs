//! `PATCH /api/v1/campaigns/{id}`: only while the campaign is `draft` or `scheduled`.

use actix_web::{HttpResponse, patch, web};
use diesel_async::AsyncConnection;

use super::create::check_audience_company;
use super::form::{UpdateCampaign, refuse_status};
use super::get::{CampaignResponse, editable};
use super::shape::{audience_json, settings_json};
use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{Campaign, CampaignUpdateForm};
use crate::db::or_unchanged;
use crate::domain::{CampaignId, Scope};

impl UpdateCampaign {
    fn into_form(self) -> CampaignUpdateForm {
        CampaignUpdateForm {
            name: self.name.map(|n| n.trim().to_owned()),
            description: self.description,
            channel_id: self.channel_id,
            agent_id: self.agent_id,
            audience: self.audience.as_ref().map(|a| audience_json(Some(a))),
            settings: self.settings.as_ref().map(|s| settings_json(Some(s))),
            starts_at: self.starts_at,
        }
    }
}

/// Changes a campaign; 409 `campaign_not_editable` once it has started.
#[utoipa::path(patch, path = "/api/v1/campaigns/{id}", tag = "campaigns", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)), request_body = UpdateCampaign,
    responses((status = 200, body = CampaignResponse), (status = 404, body = ErrorResponse),
              (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[patch("/campaigns/{id}")]
pub async fn update_campaign(
    ctx: web::Data<AppContext>,
    caller: Caller,
    id: web::Path<CampaignId>,
    body: web::Json<UpdateCampaign>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Configure)?;
    refuse_status(&body.status)?;
    validator::Validate::validate(&*body)?;
    let form = body.into_inner().into_form();
    let (id, org) = (*id, caller.organization_id);
    let mut conn = ctx.db().get().await?;
    let updated = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let before = editable(conn, org, id).await?;
            check_audience_company(conn, org, form.audience.as_ref()).await?;
            let after = or_unchanged(Campaign::update(conn, org, id, &form).await, &before)?;
            audit::updated(conn, &caller, "campaign", id, &before, &after).await?;
            CampaignResponse::load(conn, after).await
        })
        .await?;
    Ok(HttpResponse::Ok().json(updated))
}
