//! `GET /api/v1/contacts/{id}`.

use actix_web::{HttpResponse, get, web};

use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::Contact;
use crate::domain::{ContactId, Scope};

/// One contact.
#[utoipa::path(get, path = "/api/v1/contacts/{id}", tag = "contacts", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = Contact), (status = 404, body = ErrorResponse)))]
#[get("/contacts/{id}")]
pub async fn get_contact(
    ctx: web::Data<AppContext>,
    caller: Caller,
    id: web::Path<ContactId>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Read)?;
    let mut conn = ctx.db().get().await?;
    let contact = Contact::find(&mut conn, caller.organization_id, *id)
        .await
        .map_err(not_found)?;
    Ok(HttpResponse::Ok().json(contact))
}

/// Maps a missing row to this resource's 404.
pub(super) fn not_found(error: diesel::result::Error) -> ApiError {
    match error {
        diesel::result::Error::NotFound => ApiError::not_found("contact"),
        other => other.into(),
    }
}
