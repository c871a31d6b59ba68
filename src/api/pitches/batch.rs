//! `POST /api/v1/pitches/batch`: pitches for many contacts as a background job. Answers 202
//! with the job id at once; the job's progress arrives as `job.progress` signals on the inbox
//! socket, and its results at `GET /api/v1/pitches/jobs/{id}`.

use actix_web::{HttpResponse, post, web};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use utoipa::ToSchema;
use validator::Validate;

use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::api::templates::{PitchLength, Tone};
use crate::auth::Caller;
use crate::db::models::pitch_job::status;
use crate::db::models::{PitchJob, PitchJobInsertForm, PitchJobItem};
use crate::db::schema::contacts;
use crate::domain::{ContactId, PitchJobId, Scope, TemplateId};
use crate::pitches::jobs::{self, BatchSettings};
use crate::pitches::{PitchOptions, PitchService, facts};

/// Which contacts, and how (the same settings for every one).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GeneratePitches {
    /// The contacts, at least one and at most `[pitches] max_batch` (1000 by default);
    /// duplicates count once.
    #[validate(length(min = 1))]
    pub contact_ids: Vec<ContactId>,
    /// A pitch template to start from.
    pub template_id: Option<TemplateId>,
    /// Voice.
    pub tone: Option<Tone>,
    /// Length.
    pub length: Option<PitchLength>,
    /// What to stress, at most 200 characters.
    #[validate(length(max = 200))]
    pub focus: Option<String>,
    /// Write new pitches even where cached ones are still valid.
    #[serde(default)]
    pub regenerate: bool,
}

/// The started job.
#[derive(Debug, Serialize, ToSchema)]
pub struct PitchJobAccepted {
    /// Follow it at `GET /api/v1/pitches/jobs/{job_id}` and in `job.progress` signals.
    pub job_id: PitchJobId,
    /// `queued`.
    pub status: String,
    /// Contacts in the job.
    pub total: i32,
}

/// Starts a batch job.
#[utoipa::path(post, path = "/api/v1/pitches/batch", tag = "pitches", security(("bearer" = [])),
    request_body = GeneratePitches,
    responses((status = 202, body = PitchJobAccepted),
              (status = 404, description = "template not found", body = ErrorResponse),
              (status = 409, description = "no active bizdev agent", body = ErrorResponse),
              (status = 422, description = "invalid input or unknown contacts", body = ErrorResponse)))]
#[post("/pitches/batch")]
pub async fn generate_pitches(
    service: web::Data<PitchService>,
    caller: Caller,
    body: web::Json<GeneratePitches>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Write)?;
    body.validate()?;
    let body = body.into_inner();
    let org = caller.organization_id;
    let max = service.ctx().config().pitches.max_batch;
    let mut seen = HashSet::new();
    let ids: Vec<ContactId> = body
        .contact_ids
        .into_iter()
        .filter(|id| seen.insert(*id))
        .collect();
    if ids.len() > max {
        return Err(ApiError::invalid_field(
            "contact_ids",
            format!("at most {max} contacts per batch"),
        ));
    }
    let mut conn = service.ctx().db().get().await?;
    let known: HashSet<ContactId> = contacts::table
        .filter(contacts::organization_id.eq(org))
        .filter(contacts::id.eq_any(&ids))
        .select(contacts::id)
        .load::<ContactId>(&mut conn)
        .await?
        .into_iter()
        .collect();
    let unknown: Vec<String> = ids
        .iter()
        .filter(|id| !known.contains(id))
        .take(10)
        .map(ToString::to_string)
        .collect();
    if !unknown.is_empty() {
        return Err(ApiError::invalid_field(
            "contact_ids",
            format!("unknown contacts: {}", unknown.join(", ")),
        ));
    }
    // Fail fast on what would fail every item.
    facts::check_setup(&mut conn, org, body.template_id).await?;
    let settings = BatchSettings {
        options: PitchOptions {
            template_id: body.template_id,
            tone: body.tone,
            length: body.length,
            focus: body.focus,
            regenerate: body.regenerate,
        },
    };
    let total = i32::try_from(ids.len()).map_err(ApiError::internal)?;
    let job_id = PitchJobId::new();
    let form = PitchJobInsertForm {
        id: job_id,
        organization_id: org,
        status: status::QUEUED.into(),
        total,
        settings: serde_json::to_value(&settings).map_err(ApiError::internal)?,
        created_by: caller.user_id(),
        lease_until: Some(jobs::initial_lease(&service)),
    };
    let now = chrono::Utc::now();
    let items: Vec<PitchJobItem> = ids
        .iter()
        .zip(0..)
        .map(|(contact, position)| PitchJobItem {
            job_id,
            contact_id: *contact,
            position,
            status: status::QUEUED.into(),
            pitch_id: None,
            cached: false,
            error: None,
            attempts: 0,
            updated_at: now,
        })
        .collect();
    let job = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let job = PitchJob::create(conn, &form, &items).await?;
            audit::created(conn, &caller, "pitch_job", job.id, &job).await?;
            Ok(job)
        })
        .await?;
    drop(conn);
    jobs::spawn(service.get_ref().clone(), org, job.id);
    Ok(HttpResponse::Accepted().json(PitchJobAccepted {
        job_id: job.id,
        status: job.status,
        total: job.total,
    }))
}
