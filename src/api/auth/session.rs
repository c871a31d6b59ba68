//! Issuing a session (access + refresh token) after a login or a refresh.

use chrono::{Duration, Utc};
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::error::ApiResult;
use crate::auth::tokens::new_refresh_token;
use crate::context::AppContext;
use crate::db::models::{RefreshToken, RefreshTokenInsertForm};
use crate::domain::{OrganizationId, RefreshTokenId, Role, UserId};

/// A logged-in session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionResponse {
    /// Send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Exchange at `/api/v1/auth/refresh` for a new session; works once.
    pub refresh_token: String,
    /// The organisation the session is for.
    pub organization_id: OrganizationId,
    /// The user.
    pub user_id: UserId,
    /// The user's role there.
    pub role: Role,
}

/// Stores a new refresh token and signs an access token.
pub async fn issue_session(
    ctx: &AppContext,
    conn: &mut AsyncPgConnection,
    user_id: UserId,
    organization_id: OrganizationId,
    role: Role,
) -> ApiResult<SessionResponse> {
    let (refresh_token, token_hash) = new_refresh_token();
    let form = RefreshTokenInsertForm {
        id: RefreshTokenId::new(),
        organization_id,
        user_id,
        token_hash,
        expires_at: Utc::now() + Duration::seconds(ctx.config().auth.refresh_token_ttl_secs),
    };
    RefreshToken::create(conn, &form).await?;
    let access_token = ctx.tokens().issue(user_id, organization_id)?;
    Ok(SessionResponse {
        access_token,
        token_type: "Bearer",
        expires_in: ctx.tokens().ttl_secs(),
        refresh_token,
        organization_id,
        user_id,
        role,
    })
}
