//! `POST /api/v1/templates/validate`: compiles a template without saving it and lists the
//! top-level variables it reads, so an editor can show problems and required data as you type.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, post, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::form::MAX_TEMPLATE_BYTES;
use super::variables::top_level_variables;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::domain::Scope;
use crate::prompts::{TemplateProblem, validate_template};

/// A template to check.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateTemplate {
    /// Body, Handlebars.
    pub body: String,
    /// Subject line, Handlebars.
    pub subject: Option<String>,
}

/// A template that compiles.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TemplateValidation {
    /// Always `true` (an invalid template is a 422 `template_invalid`).
    pub valid: bool,
    /// Top-level context variables the body and subject read, sorted (`contact` for
    /// `{{contact.name}}`).
    pub variables: Vec<String>,
}

/// Checks a template; 422 `template_invalid` with `details: {field, line, column, message}`.
#[utoipa::path(post, path = "/api/v1/templates/validate", tag = "templates", security(("bearer" = [])),
    request_body = ValidateTemplate,
    responses((status = 200, body = TemplateValidation), (status = 422, body = ErrorResponse)))]
#[post("/templates/validate")]
pub async fn validate_template_source(
    caller: Caller,
    body: web::Json<ValidateTemplate>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Read)?;
    let body = body.into_inner();
    let mut variables = Vec::new();
    for (field, source) in [
        ("subject", body.subject.as_deref()),
        ("body", Some(&body.body)),
    ] {
        if let Some(source) = source {
            variables.extend(variables_of(field, source)?);
        }
    }
    variables.sort();
    variables.dedup();
    Ok(HttpResponse::Ok().json(TemplateValidation {
        valid: true,
        variables,
    }))
}

/// Compiles `source` and lists its top-level variables, or says where it is broken.
pub(super) fn variables_of(field: &str, source: &str) -> ApiResult<Vec<String>> {
    check_size(field, source)?;
    validate_template(source).map_err(|p| template_invalid(field, &p))?;
    let parsed = handlebars::Template::compile(source).map_err(|e| {
        template_invalid(
            field,
            &TemplateProblem {
                location: "template".into(),
                message: e.reason().to_string(),
                line: e.pos().map(|(l, _)| l),
                column: e.pos().map(|(_, c)| c),
            },
        )
    })?;
    Ok(top_level_variables(&parsed))
}

/// Refuses sources larger than a stored template may be.
pub(super) fn check_size(field: &str, source: &str) -> ApiResult<()> {
    if source.len() > MAX_TEMPLATE_BYTES {
        return Err(ApiError::invalid_field(
            field,
            format!("at most {MAX_TEMPLATE_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// 422 `template_invalid` locating the problem.
pub(super) fn template_invalid(field: &str, problem: &TemplateProblem) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "template_invalid",
        format!("{field} does not compile: {problem}"),
    )
    .with_details(json!({
        "field": field,
        "line": problem.line,
        "column": problem.column,
        "message": problem.message,
    }))
}
