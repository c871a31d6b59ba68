//! `DELETE /api/v1/contacts/{id}`: removes the contact with their chats and memories.

use actix_web::{HttpResponse, delete, web};
use diesel_async::AsyncConnection;

use super::get::not_found;
use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::Contact;
use crate::domain::{ContactId, Scope};

/// Deletes a contact.
#[utoipa::path(delete, path = "/api/v1/contacts/{id}", tag = "contacts", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    responses((status = 204, description = "deleted"), (status = 404, body = ErrorResponse)))]
#[delete("/contacts/{id}")]
pub async fn delete_contact(
    ctx: web::Data<AppContext>,
    caller: Caller,
    id: web::Path<ContactId>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Write)?;
    let id = *id;
    let mut conn = ctx.db().get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let before = Contact::find(conn, caller.organization_id, id)
            .await
            .map_err(not_found)?;
        Contact::delete(conn, caller.organization_id, id).await?;
        audit::deleted(conn, &caller, "contact", id, &before).await?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
