//! `POST /api/v1/auth/logout`: ends a session by revoking its refresh token.

use actix_web::{HttpResponse, post, web};

use super::refresh::Refresh;
use crate::api::error::ApiResult;
use crate::auth::tokens::hash_secret;
use crate::context::AppContext;
use crate::db::models::RefreshToken;

/// Revokes the refresh token; unknown or already revoked tokens are fine (idempotent).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = Refresh, responses(
    (status = 204, description = "logged out")))]
#[post("/auth/logout")]
pub async fn log_out(
    ctx: web::Data<AppContext>,
    form: web::Json<Refresh>,
) -> ApiResult<HttpResponse> {
    let mut conn = ctx.db().get().await?;
    match RefreshToken::consume(&mut conn, &hash_secret(&form.refresh_token)).await {
        Ok(_) | Err(diesel::result::Error::NotFound) => Ok(HttpResponse::NoContent().finish()),
        Err(e) => Err(e.into()),
    }
}
