//! `PATCH /api/v1/contacts/{id}`.

use actix_web::{HttpResponse, patch, web};
use chrono::Utc;
use diesel_async::AsyncConnection;

use super::form::{UpdateContact, normalise_tags};
use super::get::not_found;
use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{Contact, ContactUpdateForm};
use crate::db::or_unchanged;
use crate::domain::{ContactId, Scope};

impl UpdateContact {
    fn into_form(self) -> ContactUpdateForm {
        ContactUpdateForm {
            company_id: self.company_id,
            name: self.name.map(|n| n.trim().to_owned()),
            email: self.email.map(|e| e.map(|e| e.trim().to_owned())),
            phone: self.phone,
            telegram_user_id: self.telegram_user_id,
            telegram_chat_id: self.telegram_chat_id,
            telegram_username: self.telegram_username,
            title: self.title,
            tags: self.tags.map(normalise_tags),
            attributes: self.attributes,
            timezone: self.timezone,
            source: self.source,
            unsubscribed_at: self.unsubscribed.map(|u| u.then(Utc::now)),
        }
    }
}

/// Changes a contact.
#[utoipa::path(patch, path = "/api/v1/contacts/{id}", tag = "contacts", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)), request_body = UpdateContact,
    responses((status = 200, body = Contact), (status = 404, body = ErrorResponse),
              (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[patch("/contacts/{id}")]
pub async fn update_contact(
    ctx: web::Data<AppContext>,
    caller: Caller,
    id: web::Path<ContactId>,
    body: web::Json<UpdateContact>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Write)?;
    body.validate_all()?;
    let form = body.into_inner().into_form();
    let id = *id;
    let mut conn = ctx.db().get().await?;
    let contact = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let before = Contact::find(conn, caller.organization_id, id)
                .await
                .map_err(not_found)?;
            let after = or_unchanged(
                Contact::update(conn, caller.organization_id, id, &form).await,
                &before,
            )?;
            audit::updated(conn, &caller, "contact", id, &before, &after).await?;
            Ok(after)
        })
        .await?;
    Ok(HttpResponse::Ok().json(contact))
}
