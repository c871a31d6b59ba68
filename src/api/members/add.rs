//! `POST /api/v1/members`: adds a person by email, creating their user when new.

use actix_web::{HttpResponse, post, web};
use diesel_async::AsyncConnection;
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use super::require_owner_for;
use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::auth::password::{MIN_PASSWORD_LEN, hash_password};
use crate::context::AppContext;
use crate::db::models::{Member, MemberInsertForm, User, UserInsertForm};
use crate::domain::{MemberId, Role, Scope, UserId};

/// A person to add.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMember {
    /// Their email; an existing user with it is added as is.
    #[validate(email(message = "must be an email address"), length(max = 320))]
    pub email: String,
    /// Display name for a new user.
    #[validate(length(max = 200))]
    pub name: Option<String>,
    /// Role in this organisation.
    pub role: Role,
    /// Initial password for a new user (at least 10 characters); ignored for existing users.
    #[validate(length(min = 10, max = 1024, message = "must be 10 to 1024 characters"))]
    pub password: Option<String>,
}

/// Adds a member; 409 when they already belong.
#[utoipa::path(post, path = "/api/v1/members", tag = "members", security(("bearer" = [])), request_body = AddMember,
    responses((status = 201, body = crate::db::models::MemberView), (status = 403, body = ErrorResponse),
              (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[post("/members")]
pub async fn add_member(
    ctx: web::Data<AppContext>,
    caller: Caller,
    body: web::Json<AddMember>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Admin)?;
    body.validate()?;
    require_owner_for(&caller, body.role)?;
    let body = body.into_inner();
    let password_hash = match body.password.clone() {
        Some(password) if password.len() >= MIN_PASSWORD_LEN => Some(
            web::block(move || hash_password(&password))
                .await
                .map_err(ApiError::internal)?
                .map_err(ApiError::internal)?,
        ),
        _ => None,
    };
    let mut conn = ctx.db().get().await?;
    let view = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let user = match User::find_by_email(conn, &body.email).await {
                Ok(user) => user,
                Err(diesel::result::Error::NotFound) => {
                    let name = body.name.clone().unwrap_or_else(|| {
                        body.email.split('@').next().unwrap_or_default().to_owned()
                    });
                    User::create(
                        conn,
                        &UserInsertForm {
                            id: UserId::new(),
                            email: body.email.trim().to_owned(),
                            name,
                            password_hash,
                        },
                    )
                    .await?
                }
                Err(e) => return Err(e.into()),
            };
            let member = Member::create(
                conn,
                &MemberInsertForm {
                    id: MemberId::new(),
                    organization_id: caller.organization_id,
                    user_id: user.id,
                    role: body.role,
                },
            )
            .await
            .map_err(|e| match e {
                diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                ) => ApiError::conflict("already_member", "this person is already a member"),
                other => other.into(),
            })?;
            let view = Member::find_view(conn, caller.organization_id, member.id).await?;
            audit::created(conn, &caller, "member", member.id, &view).await?;
            Ok(view)
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}
