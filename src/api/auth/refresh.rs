//! `POST /api/v1/auth/refresh`: trade a refresh token for a new session (the old token dies).

use actix_web::{HttpResponse, post, web};
use diesel_async::AsyncConnection;
use serde::Deserialize;
use utoipa::ToSchema;

use super::session::issue_session;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::AuthError;
use crate::auth::tokens::hash_secret;
use crate::context::AppContext;
use crate::db::models::{Member, RefreshToken, User};

/// Refresh form.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Refresh {
    /// The refresh token from the last session.
    pub refresh_token: String,
}

/// Rotates a session.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = Refresh, responses(
    (status = 200, body = super::SessionResponse),
    (status = 401, body = ErrorResponse, description = "unknown, used or expired refresh token")))]
#[post("/auth/refresh")]
pub async fn refresh_session(
    ctx: web::Data<AppContext>,
    form: web::Json<Refresh>,
) -> ApiResult<HttpResponse> {
    let mut conn = ctx.db().get().await?;
    let hash = hash_secret(&form.refresh_token);
    let ctx2 = ctx.clone();
    let session = conn
        .transaction::<_, ApiError, _>(async move |conn| {
            let old = RefreshToken::consume(conn, &hash)
                .await
                .map_err(|e| match e {
                    diesel::result::Error::NotFound => {
                        ApiError::from(AuthError::InvalidRefreshToken)
                    }
                    other => other.into(),
                })?;
            let member = Member::find_for_user(conn, old.organization_id, old.user_id)
                .await
                .map_err(|_| AuthError::NoMembership)?;
            if User::find(conn, old.user_id).await?.disabled_at.is_some() {
                return Err(AuthError::NoMembership.into());
            }
            issue_session(&ctx2, conn, old.user_id, old.organization_id, member.role).await
        })
        .await?;
    Ok(HttpResponse::Ok().json(session))
}
