//! `PATCH /api/v1/templates/{id}`.

use actix_web::{HttpResponse, patch, web};
use diesel_async::AsyncConnection;

use super::create::subject_fits_kind;
use super::form::{UpdateTemplate, normalise_settings};
use super::get::not_found;
use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{Template, TemplateUpdateForm};
use crate::db::or_unchanged;
use crate::domain::{Scope, TemplateId};

impl UpdateTemplate {
    fn into_form(self) -> TemplateUpdateForm {
        TemplateUpdateForm {
            name: self.name.map(|n| n.trim().to_owned()),
            kind: self.kind,
            subject: self.subject,
            body: self.body,
            settings: self.settings.map(|s| normalise_settings(Some(s))),
        }
    }
}

/// Changes a template.
#[utoipa::path(patch, path = "/api/v1/templates/{id}", tag = "templates", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)), request_body = UpdateTemplate,
    responses((status = 200, body = Template), (status = 404, body = ErrorResponse),
              (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[patch("/templates/{id}")]
pub async fn update_template(
    ctx: web::Data<AppContext>,
    caller: Caller,
    id: web::Path<TemplateId>,
    body: web::Json<UpdateTemplate>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Configure)?;
    body.validate_all()?;
    let form = body.into_inner().into_form();
    let id = *id;
    let mut conn = ctx.db().get().await?;
    let template = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let before = Template::find(conn, caller.organization_id, id)
                .await
                .map_err(not_found)?;
            let subject = match &form.subject {
                Some(subject) => subject.as_deref(),
                None => before.subject.as_deref(),
            };
            subject_fits_kind(form.kind.unwrap_or(before.kind), subject)?;
            let after = or_unchanged(
                Template::update(conn, caller.organization_id, id, &form).await,
                &before,
            )?;
            audit::updated(conn, &caller, "template", id, &before, &after).await?;
            Ok(after)
        })
        .await?;
    Ok(HttpResponse::Ok().json(template))
}
