//! `POST /api/v1/contacts`.

use actix_web::{HttpResponse, post, web};
use diesel_async::AsyncConnection;
use validator::Validate;

use super::form::{CreateContact, normalise_tags};
use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{Contact, ContactInsertForm};
use crate::domain::{ContactId, Scope};

impl CreateContact {
    /// The row to insert for this organisation.
    pub fn into_form(self, organization_id: crate::domain::OrganizationId) -> ContactInsertForm {
        ContactInsertForm {
            id: ContactId::new(),
            organization_id,
            company_id: self.company_id,
            name: self.name.trim().to_owned(),
            email: self.email.map(|e| e.trim().to_owned()),
            phone: self.phone,
            telegram_user_id: self.telegram_user_id,
            telegram_chat_id: self.telegram_chat_id,
            telegram_username: self
                .telegram_username
                .map(|u| u.trim_start_matches('@').to_owned()),
            title: self.title,
            tags: normalise_tags(self.tags),
            attributes: self.attributes.unwrap_or_else(|| serde_json::json!({})),
            timezone: self.timezone,
            source: self.source,
        }
    }
}

/// Creates a contact; 409 `already_exists` when the email is taken in this organisation.
#[utoipa::path(post, path = "/api/v1/contacts", tag = "contacts", security(("bearer" = [])),
    request_body = CreateContact,
    responses((status = 201, body = Contact), (status = 409, body = ErrorResponse),
              (status = 422, body = ErrorResponse)))]
#[post("/contacts")]
pub async fn create_contact(
    ctx: web::Data<AppContext>,
    caller: Caller,
    body: web::Json<CreateContact>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Write)?;
    body.validate()?;
    let form = body.into_inner().into_form(caller.organization_id);
    let mut conn = ctx.db().get().await?;
    let contact = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let contact = Contact::create(conn, &form).await?;
            audit::created(conn, &caller, "contact", contact.id, &contact).await?;
            Ok(contact)
        })
        .await?;
    Ok(HttpResponse::Created().json(contact))
}
