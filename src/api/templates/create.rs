//! `POST /api/v1/templates`.

use actix_web::{HttpResponse, post, web};
use diesel_async::AsyncConnection;
use validator::Validate;

use super::form::{CreateTemplate, normalise_settings};
use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{Template, TemplateInsertForm};
use crate::domain::{OrganizationId, Scope, TemplateId, TemplateKind};

impl CreateTemplate {
    /// The row to insert for this organisation.
    pub fn into_form(self, organization_id: OrganizationId) -> TemplateInsertForm {
        TemplateInsertForm {
            id: TemplateId::new(),
            organization_id,
            name: self.name.trim().to_owned(),
            kind: self.kind,
            subject: self.subject,
            body: self.body,
            settings: normalise_settings(self.settings),
        }
    }
}

/// Refuses a subject on a template that is not an email.
pub(super) fn subject_fits_kind(kind: TemplateKind, subject: Option<&str>) -> ApiResult<()> {
    if subject.is_some() && kind != TemplateKind::Email {
        return Err(ApiError::invalid_field(
            "subject",
            "only email templates have a subject",
        ));
    }
    Ok(())
}

/// Creates a template; 409 `already_exists` when the name is taken, 422 when the body or the
/// subject does not compile (the message gives line and column).
#[utoipa::path(post, path = "/api/v1/templates", tag = "templates", security(("bearer" = [])),
    request_body = CreateTemplate,
    responses((status = 201, body = Template), (status = 409, body = ErrorResponse),
              (status = 422, body = ErrorResponse)))]
#[post("/templates")]
pub async fn create_template(
    ctx: web::Data<AppContext>,
    caller: Caller,
    body: web::Json<CreateTemplate>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Configure)?;
    body.validate()?;
    subject_fits_kind(body.kind, body.subject.as_deref())?;
    let form = body.into_inner().into_form(caller.organization_id);
    let mut conn = ctx.db().get().await?;
    let template = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let template = Template::create(conn, &form).await?;
            audit::created(conn, &caller, "template", template.id, &template).await?;
            Ok(template)
        })
        .await?;
    Ok(HttpResponse::Created().json(template))
}
