//! `POST /api/v1/auth/login`: email + password for a session in one organisation.

use actix_web::{HttpResponse, post, web};
use chrono::Utc;
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use super::session::issue_session;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::AuthError;
use crate::auth::password::{dummy_hash, verify_password};
use crate::context::AppContext;
use crate::db::models::{Member, Organization, User, UserUpdateForm};

/// Login form.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct Login {
    /// Account email.
    #[validate(length(min = 3, max = 320))]
    pub email: String,
    /// Password.
    #[validate(length(min = 1, max = 1024))]
    pub password: String,
    /// Organisation slug; needed only when the user belongs to several.
    pub organization: Option<String>,
}

/// Logs a person in.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = Login, responses(
    (status = 200, body = super::SessionResponse),
    (status = 401, body = ErrorResponse, description = "wrong email or password"),
    (status = 422, body = ErrorResponse)))]
#[post("/auth/login")]
pub async fn log_in(ctx: web::Data<AppContext>, form: web::Json<Login>) -> ApiResult<HttpResponse> {
    form.validate()?;
    let mut conn = ctx.db().get().await?;
    let user = match User::find_by_email(&mut conn, &form.email).await {
        Ok(user) => Some(user),
        Err(diesel::result::Error::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    let password = form.password.clone();
    let stored = user
        .as_ref()
        .and_then(|u| u.password_hash.clone())
        .unwrap_or_else(|| dummy_hash().to_owned());
    // argon2 is CPU-heavy by design: keep it off the async workers.
    let matches = web::block(move || verify_password(&password, &stored))
        .await
        .map_err(ApiError::internal)?;
    let user = match user {
        Some(user) if matches && user.disabled_at.is_none() => user,
        _ => return Err(AuthError::InvalidLogin.into()),
    };

    let memberships = Member::list_for_user(&mut conn, user.id).await?;
    let member = match &form.organization {
        Some(slug) => {
            let org = Organization::find_by_slug(&mut conn, slug)
                .await
                .map_err(|_| AuthError::NoMembership)?;
            memberships
                .into_iter()
                .find(|m| m.organization_id == org.id)
                .ok_or(AuthError::NoMembership)?
        }
        None if memberships.len() == 1 => memberships
            .into_iter()
            .next()
            .ok_or(AuthError::NoMembership)?,
        None if memberships.is_empty() => return Err(AuthError::NoMembership.into()),
        None => {
            return Err(ApiError::invalid_field(
                "organization",
                "you belong to several organisations; name one by its slug",
            ));
        }
    };
    User::update(
        &mut conn,
        user.id,
        &UserUpdateForm {
            last_login_at: Some(Some(Utc::now())),
            ..Default::default()
        },
    )
    .await?;
    let session = issue_session(
        &ctx,
        &mut conn,
        user.id,
        member.organization_id,
        member.role,
    )
    .await?;
    tracing::info!(user.id = %user.id, organization.id = %member.organization_id, "login");
    Ok(HttpResponse::Ok().json(session))
}
