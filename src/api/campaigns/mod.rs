//! `/api/v1/campaigns`: outreach campaigns and their step sequences (configuration only; the
//! campaign actor runs them). Reading needs `read`; writing needs `configure`. Status is
//! read-only here, and only `draft` or `scheduled` campaigns can be edited.

mod create;
mod delete;
mod form;
mod get;
mod list;
mod shape;
mod steps;
mod update;

pub use create::*;
pub use delete::*;
pub use form::*;
pub use get::*;
pub use list::*;
pub use shape::*;
pub use steps::*;
pub use update::*;

use actix_web::web;
use utoipa::OpenApi;

/// Routes of this resource.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_campaigns)
        .service(create_campaign)
        .service(get_campaign)
        .service(update_campaign)
        .service(delete_campaign)
        .service(replace_campaign_steps);
}

/// OpenAPI of this resource.
#[derive(OpenApi)]
#[openapi(
    paths(list_campaigns, create_campaign, get_campaign, update_campaign, delete_campaign,
          replace_campaign_steps),
    components(schemas(crate::db::models::Campaign, crate::db::models::CampaignStep,
                       CampaignResponse, CreateCampaign, UpdateCampaign, ReplaceSteps, StepInput,
                       Audience, CampaignSettings, QuietHours)),
    tags((name = "campaigns", description = "Outreach campaigns and their sequences"))
)]
pub struct CampaignsApi;
