//! `/api/v1/pipelines`: the sales processes deals move through, and their ordered stages
//! (`/pipelines/{id}/stages`). They are configuration: reading needs `read`, writing needs
//! `configure`.

mod create;
mod delete;
mod form;
mod get;
mod list;
mod response;
mod stages;
mod update;

pub use create::*;
pub use delete::*;
pub use form::*;
pub use get::*;
pub use list::*;
pub use response::PipelineResponse;
pub use stages::*;
pub use update::*;

use actix_web::web;
use utoipa::OpenApi;

/// Routes of this resource.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_pipelines)
        .service(create_pipeline)
        .service(get_pipeline)
        .service(update_pipeline)
        .service(delete_pipeline)
        .service(create_stage)
        .service(update_stage)
        .service(delete_stage);
}

/// OpenAPI of this resource.
#[derive(OpenApi)]
#[openapi(
    paths(list_pipelines, create_pipeline, get_pipeline, update_pipeline, delete_pipeline,
          create_stage, update_stage, delete_stage),
    components(schemas(PipelineResponse, crate::db::models::Pipeline,
                       crate::db::models::PipelineStage, crate::domain::StageOutcome,
                       CreatePipeline, StageSpec, UpdatePipeline, CreateStage, UpdateStage)),
    tags((name = "pipelines", description = "Sales pipelines and their stages"))
)]
pub struct PipelinesApi;
