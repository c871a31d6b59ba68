//! `DELETE /api/v1/templates/{id}`: refused while a campaign step uses the template.

use actix_web::{HttpResponse, delete, web};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::AsyncConnection;

use super::get::not_found;
use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::Template;
use crate::domain::{Scope, TemplateId};

/// Deletes a template; 409 `template_in_use` while a campaign step renders it.
#[utoipa::path(delete, path = "/api/v1/templates/{id}", tag = "templates", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    responses((status = 204, description = "deleted"), (status = 404, body = ErrorResponse),
              (status = 409, body = ErrorResponse)))]
#[delete("/templates/{id}")]
pub async fn delete_template(
    ctx: web::Data<AppContext>,
    caller: Caller,
    id: web::Path<TemplateId>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Configure)?;
    let id = *id;
    let mut conn = ctx.db().get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let before = Template::find(conn, caller.organization_id, id)
            .await
            .map_err(not_found)?;
        Template::delete(conn, caller.organization_id, id)
            .await
            .map_err(in_use)?;
        audit::deleted(conn, &caller, "template", id, &before).await?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

fn in_use(error: DieselError) -> ApiError {
    match error {
        DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
            ApiError::conflict(
                "template_in_use",
                "a campaign step uses this template; change the campaign first",
            )
        }
        other => other.into(),
    }
}
