//! `POST /api/v1/templates/preview`: renders a saved or inline template, strictly, for a real
//! contact of the organisation or a built-in sample one, so a person sees exactly what would be
//! sent (or exactly which variable is missing) before a campaign sends it.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, post, web};
use diesel_async::AsyncPgConnection;
use handlebars::RenderErrorReason;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use validator::Validate;

use super::form::json_object;
use super::get::not_found;
use super::validate::{check_size, template_invalid};
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{Company, Contact, Template};
use crate::domain::{ContactId, OrganizationId, Scope, TemplateId};
use crate::prompts::context::{ContactContext, MessageContext, merge_json};
use crate::prompts::{engine, validate_template};

/// What to render, and for whom.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewTemplate {
    /// An inline body (instead of `template_id`).
    pub body: Option<String>,
    /// An inline subject (with `body`).
    pub subject: Option<String>,
    /// A saved template (instead of `body`).
    pub template_id: Option<TemplateId>,
    /// Render for this contact; without it, a sample contact.
    pub contact_id: Option<ContactId>,
    /// Values merged over the context, e.g. `{"sender": {"name": "Sam"}}`.
    #[schema(value_type = Option<Object>)]
    #[validate(custom(function = "json_object"))]
    pub sample: Option<serde_json::Value>,
}

/// The rendered text.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TemplatePreview {
    /// Rendered subject, when the template has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Rendered body.
    pub body: String,
}

/// Renders a template; 422 `template_render_failed` names a variable the context lacks, 404 when
/// the contact or template is not the organisation's.
#[utoipa::path(post, path = "/api/v1/templates/preview", tag = "templates", security(("bearer" = [])),
    request_body = PreviewTemplate,
    responses((status = 200, body = TemplatePreview), (status = 404, body = ErrorResponse),
              (status = 422, body = ErrorResponse)))]
#[post("/templates/preview")]
pub async fn preview_template(
    ctx: web::Data<AppContext>,
    caller: Caller,
    body: web::Json<PreviewTemplate>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Read)?;
    body.validate()?;
    let request = body.into_inner();
    let org = caller.organization_id;
    let mut conn = ctx.db().get().await?;
    let (subject, text) = match (request.template_id, request.body) {
        (Some(id), None) if request.subject.is_none() => {
            let template = Template::find(&mut conn, org, id)
                .await
                .map_err(not_found)?;
            (template.subject, template.body)
        }
        (None, Some(body)) => (request.subject, body),
        _ => {
            return Err(ApiError::invalid_field(
                "body",
                "give either body (and optionally subject) or template_id",
            ));
        }
    };
    let mut context = contact_context(&mut conn, org, request.contact_id).await?;
    if let Some(sample) = request.sample {
        merge_json(&mut context, sample);
    }
    let preview = TemplatePreview {
        subject: subject
            .map(|s| render("subject", &s, &context))
            .transpose()?,
        body: render("body", &text, &context)?,
    };
    Ok(HttpResponse::Ok().json(preview))
}

/// `{"contact": ...}` for the organisation's contact, or for the sample contact.
async fn contact_context(
    conn: &mut AsyncPgConnection,
    org: OrganizationId,
    contact_id: Option<ContactId>,
) -> ApiResult<serde_json::Value> {
    let contact = match contact_id {
        None => ContactContext::sample(),
        Some(id) => {
            let contact = Contact::find(conn, org, id).await.map_err(|e| match e {
                diesel::result::Error::NotFound => ApiError::not_found("contact"),
                other => other.into(),
            })?;
            let company = match contact.company_id {
                Some(company_id) => match Company::find(conn, org, company_id).await {
                    Ok(company) => Some(company),
                    Err(diesel::result::Error::NotFound) => None,
                    Err(e) => return Err(e.into()),
                },
                None => None,
            };
            ContactContext::new(&contact, company.as_ref())
        }
    };
    serde_json::to_value(MessageContext { contact }).map_err(ApiError::internal)
}

/// Renders one field strictly.
fn render(field: &str, source: &str, context: &serde_json::Value) -> ApiResult<String> {
    check_size(field, source)?;
    validate_template(source).map_err(|p| template_invalid(field, &p))?;
    let mut handlebars = engine();
    handlebars
        .register_template_string(field, source)
        .map_err(ApiError::internal)?;
    handlebars.render(field, context).map_err(|e| {
        let (variable, reason) = match e.reason() {
            RenderErrorReason::MissingVariable(Some(path)) => (
                Some(path.clone()),
                format!("variable `{path}` is missing from the context"),
            ),
            other => (None, other.to_string()),
        };
        let place = match (e.line_no, e.column_no) {
            (Some(l), Some(c)) => format!(" (line {l}, column {c})"),
            _ => String::new(),
        };
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "template_render_failed",
            format!("{field}: {reason}{place}"),
        )
        .with_details(json!({
            "field": field,
            "variable": variable,
            "line": e.line_no,
            "column": e.column_no,
        }))
    })
}
