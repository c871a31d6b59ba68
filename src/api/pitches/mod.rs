//! `/api/v1/pitches`: personalised pitches written by the bizdev agent (`crate::pitches`).
//! `POST /pitches` answers one contact (from the cache when nothing changed), `POST
//! /pitches/batch` starts a background job whose progress arrives as `job.progress` signals on
//! the inbox socket and at `GET /pitches/jobs/{id}`. Generating needs `write`, reading `read`;
//! everything is scoped by the caller's organisation.

mod batch;
mod generate;
mod jobs;
mod list;

pub use batch::*;
pub use generate::*;
pub use jobs::*;
pub use list::*;

use actix_web::web;
use utoipa::OpenApi;

/// Routes of this resource.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(generate_pitch)
        .service(generate_pitches)
        .service(get_pitch_job)
        .service(list_pitches);
}

/// OpenAPI of this resource.
#[derive(OpenApi)]
#[openapi(
    paths(generate_pitch, generate_pitches, get_pitch_job, list_pitches),
    components(schemas(crate::db::models::Pitch, crate::db::models::PitchJob,
                       crate::db::models::PitchJobItem, GeneratePitch, PitchResponse,
                       GeneratePitches, PitchJobAccepted, PitchJobResponse)),
    tags((name = "pitches", description = "Personalised pitches by the bizdev agent, cached per contact"))
)]
pub struct PitchesApi;
