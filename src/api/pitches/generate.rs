//! `POST /api/v1/pitches`: one contact's pitch, from the cache while the contact's data and
//! the configuration are unchanged, or freshly written (`regenerate: true` forces it).

use actix_web::{HttpResponse, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::api::error::{ApiResult, ErrorResponse};
use crate::api::templates::{PitchLength, Tone};
use crate::auth::Caller;
use crate::db::models::Pitch;
use crate::domain::{ContactId, Scope, TemplateId};
use crate::pitches::{PitchOptions, PitchService};

/// Which contact, and how.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GeneratePitch {
    /// The contact to pitch.
    pub contact_id: ContactId,
    /// A pitch template to start from; its quick settings apply unless overridden here.
    pub template_id: Option<TemplateId>,
    /// Voice (overrides the template's).
    pub tone: Option<Tone>,
    /// Length (overrides the template's).
    pub length: Option<PitchLength>,
    /// What to stress, at most 200 characters (overrides the template's).
    #[validate(length(max = 200))]
    pub focus: Option<String>,
    /// Write a new pitch even when the cached one is still valid.
    #[serde(default)]
    pub regenerate: bool,
}

/// A pitch and whether it came from the cache.
#[derive(Debug, Serialize, ToSchema)]
pub struct PitchResponse {
    /// The pitch.
    pub pitch: Pitch,
    /// `true` when no model call was made.
    pub cached: bool,
}

/// Returns the contact's pitch, cached or new.
#[utoipa::path(post, path = "/api/v1/pitches", tag = "pitches", security(("bearer" = [])),
    request_body = GeneratePitch,
    responses((status = 200, body = PitchResponse),
              (status = 404, description = "contact or template not found", body = ErrorResponse),
              (status = 409, description = "no active bizdev agent (`pitch_agent_missing`)", body = ErrorResponse),
              (status = 422, description = "invalid input, or blocked by a guardrail (`pitch_blocked`)", body = ErrorResponse),
              (status = 502, description = "the model refused (`llm_model_not_found`, ...)", body = ErrorResponse),
              (status = 503, description = "the model server is down or degraded (`llm_unreachable`, `llm_circuit_open`, ...)", body = ErrorResponse)))]
#[post("/pitches")]
pub async fn generate_pitch(
    service: web::Data<PitchService>,
    caller: Caller,
    body: web::Json<GeneratePitch>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Write)?;
    body.validate()?;
    let body = body.into_inner();
    let options = PitchOptions {
        template_id: body.template_id,
        tone: body.tone,
        length: body.length,
        focus: body.focus,
        regenerate: body.regenerate,
    };
    let generated = service
        .generate(caller.organization_id, body.contact_id, &options)
        .await?;
    Ok(HttpResponse::Ok().json(PitchResponse {
        pitch: generated.pitch,
        cached: generated.cached,
    }))
}
