//! `/api/v1/templates`: Handlebars message, email and pitch templates, with a validator and a
//! strict preview. Reading, validating and previewing need `read`; writing needs `configure`.

mod create;
mod delete;
mod form;
mod get;
mod list;
mod preview;
mod update;
mod validate;
mod variables;

pub use create::*;
pub use delete::*;
pub use form::*;
pub use get::*;
pub use list::*;
pub use preview::*;
pub use update::*;
pub use validate::*;
pub use variables::top_level_variables;

use actix_web::web;
use utoipa::OpenApi;

/// Routes of this resource.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_templates)
        .service(create_template)
        .service(validate_template_source)
        .service(preview_template)
        .service(get_template)
        .service(update_template)
        .service(delete_template);
}

/// OpenAPI of this resource.
#[derive(OpenApi)]
#[openapi(
    paths(list_templates, create_template, validate_template_source, preview_template,
          get_template, update_template, delete_template),
    components(schemas(crate::db::models::Template, CreateTemplate, UpdateTemplate,
                       TemplateSettings, Tone, PitchLength, ValidateTemplate, TemplateValidation,
                       PreviewTemplate, TemplatePreview)),
    tags((name = "templates", description = "Handlebars message, email and pitch templates"))
)]
pub struct TemplatesApi;
