//! `PATCH /api/v1/me`: a person changes their own name or password. Changing the password needs
//! the current one and ends every other session (refresh tokens are revoked).

use actix_web::{HttpResponse, patch, web};
use diesel_async::AsyncConnection;
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::password::{hash_password, verify_password};
use crate::auth::{AuthError, Caller};
use crate::context::AppContext;
use crate::db::models::{RefreshToken, User, UserUpdateForm};

/// Changes to one's own account.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMe {
    /// Display name.
    #[validate(length(min = 1, max = 200))]
    pub name: Option<String>,
    /// The current password; required to set a new one.
    pub current_password: Option<String>,
    /// The new password (10 to 1024 characters).
    #[validate(length(min = 10, max = 1024, message = "must be 10 to 1024 characters"))]
    pub new_password: Option<String>,
}

/// Updates the calling person (API keys have no account to change: 403).
#[utoipa::path(patch, path = "/api/v1/me", tag = "auth", security(("bearer" = [])), request_body = UpdateMe,
    responses((status = 200, body = User), (status = 403, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[patch("/me")]
pub async fn update_me(
    ctx: web::Data<AppContext>,
    caller: Caller,
    body: web::Json<UpdateMe>,
) -> ApiResult<HttpResponse> {
    body.validate()?;
    let user_id = caller.user_id().ok_or_else(|| {
        ApiError::new(
            actix_web::http::StatusCode::FORBIDDEN,
            "not_a_person",
            "API keys have no account to change",
        )
    })?;
    let mut conn = ctx.db().get().await?;
    let before = User::find(&mut conn, user_id).await?;
    let mut form = UserUpdateForm {
        name: body.name.clone(),
        ..Default::default()
    };
    if let Some(new_password) = body.new_password.clone() {
        let current = body.current_password.clone().ok_or_else(|| {
            ApiError::invalid_field(
                "current_password",
                "give your current password to set a new one",
            )
        })?;
        let stored = before.password_hash.clone().unwrap_or_default();
        let hashed = web::block(move || {
            verify_password(&current, &stored).then(|| hash_password(&new_password))
        })
        .await
        .map_err(ApiError::internal)?;
        match hashed {
            Some(Ok(hash)) => form.password_hash = Some(Some(hash)),
            Some(Err(e)) => return Err(ApiError::internal(e)),
            None => return Err(AuthError::InvalidLogin.into()),
        }
    }
    let password_changed = form.password_hash.is_some();
    let after = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let after = crate::db::or_unchanged(User::update(conn, user_id, &form).await, &before)?;
            if password_changed {
                RefreshToken::revoke_all_for_user(conn, user_id).await?;
            }
            audit::updated(conn, &caller, "user", user_id, &before, &after).await?;
            Ok(after)
        })
        .await?;
    Ok(HttpResponse::Ok().json(after))
}
