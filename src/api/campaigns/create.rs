//! `POST /api/v1/campaigns`: a new `draft` campaign, with its steps, in one transaction.

use actix_web::{HttpResponse, post, web};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use validator::Validate;

use super::form::{CreateCampaign, StepInput, check_steps, refuse_status};
use super::get::CampaignResponse;
use super::shape::{audience_json, parse_audience, settings_json};
use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{Campaign, CampaignInsertForm, CampaignStepInsertForm, Company};
use crate::domain::{CampaignId, CampaignStepId, OrganizationId, Scope};

/// Insert forms for a sequence, positions from 0.
pub(super) fn step_forms(
    org: OrganizationId,
    campaign: CampaignId,
    steps: Vec<StepInput>,
) -> Vec<CampaignStepInsertForm> {
    steps
        .into_iter()
        .zip(0..)
        .map(|(step, position)| CampaignStepInsertForm {
            id: CampaignStepId::new(),
            organization_id: org,
            campaign_id: campaign,
            position,
            delay_seconds: step.delay_seconds,
            template_id: step.template_id,
            subject: step.subject,
            body: step.body,
        })
        .collect()
}

/// Refuses an audience naming a company that is not the organisation's.
pub(super) async fn check_audience_company(
    conn: &mut AsyncPgConnection,
    org: OrganizationId,
    audience: Option<&serde_json::Value>,
) -> ApiResult<()> {
    let Some(company_id) = audience
        .and_then(|a| parse_audience(a).ok())
        .and_then(|a| a.company_id)
    else {
        return Ok(());
    };
    match Company::find(conn, org, company_id).await {
        Ok(_) => Ok(()),
        Err(diesel::result::Error::NotFound) => Err(ApiError::new(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_reference",
            "audience.company_id does not name a company of this organisation",
        )
        .with_details(serde_json::json!({ "field": "audience.company_id" }))),
        Err(e) => Err(e.into()),
    }
}

/// Creates a campaign in `draft`; 422 for a step without content, a body that does not
/// compile, or a channel, agent, template or company that is not the organisation's.
#[utoipa::path(post, path = "/api/v1/campaigns", tag = "campaigns", security(("bearer" = [])),
    request_body = CreateCampaign,
    responses((status = 201, body = CampaignResponse), (status = 422, body = ErrorResponse)))]
#[post("/campaigns")]
pub async fn create_campaign(
    ctx: web::Data<AppContext>,
    caller: Caller,
    body: web::Json<CreateCampaign>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Configure)?;
    refuse_status(&body.status)?;
    body.validate()?;
    check_steps(&body.steps)?;
    let request = body.into_inner();
    let org = caller.organization_id;
    let form = CampaignInsertForm {
        id: CampaignId::new(),
        organization_id: org,
        name: request.name.trim().to_owned(),
        description: request.description.unwrap_or_default(),
        channel_id: request.channel_id,
        agent_id: request.agent_id,
        audience: audience_json(request.audience.as_ref()),
        settings: settings_json(request.settings.as_ref()),
        starts_at: request.starts_at,
        created_by: caller.user_id(),
    };
    let steps = step_forms(org, form.id, request.steps);
    let mut conn = ctx.db().get().await?;
    let created = conn
        .transaction::<_, ApiError, _>(async |conn| {
            check_audience_company(conn, org, Some(&form.audience)).await?;
            let campaign = Campaign::create(conn, &form).await?;
            let steps =
                crate::db::models::CampaignStep::replace_all(conn, org, campaign.id, &steps)
                    .await?;
            let created = CampaignResponse { campaign, steps };
            audit::created(conn, &caller, "campaign", created.campaign.id, &created).await?;
            Ok(created)
        })
        .await?;
    Ok(HttpResponse::Created().json(created))
}
