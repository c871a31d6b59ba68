//! Short-lived, single-use tickets for browsers, which cannot set an `Authorization` header on a
//! WebSocket: `POST /api/v1/inbox/tickets` with the usual credential returns a ticket; the
//! browser opens `/ws/inbox?ticket=...` within a minute. Tickets live in Redis and are deleted
//! on use.

use actix_web::{HttpResponse, post, web};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::error::{ApiResult, ErrorResponse};
use crate::auth::{Actor, AuthError, Caller};
use crate::context::AppContext;
use crate::db::models::{ApiKey, Member, User};
use crate::domain::{ApiKeyId, OrganizationId, UserId};

/// Seconds a ticket stays valid.
pub const TICKET_TTL_SECS: u64 = 60;

/// A ticket.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketResponse {
    /// Pass as `?ticket=` to `/ws/inbox`.
    pub ticket: String,
    /// Seconds left.
    pub expires_in: u64,
}

/// Whom a ticket stands for (never the credential itself), re-checked at redemption.
#[derive(Debug, Serialize, Deserialize)]
struct TicketClaim {
    organization_id: OrganizationId,
    user_id: Option<UserId>,
    api_key_id: Option<ApiKeyId>,
}

fn key(ctx: &AppContext, ticket: &str) -> String {
    ctx.redis_key(&format!("ws-ticket:{ticket}"))
}

/// Issues a WebSocket ticket.
#[utoipa::path(post, path = "/api/v1/inbox/tickets", tag = "inbox", security(("bearer" = [])),
    responses((status = 201, body = TicketResponse), (status = 401, body = ErrorResponse)))]
#[post("/inbox/tickets")]
pub async fn create_ticket(ctx: web::Data<AppContext>, caller: Caller) -> ApiResult<HttpResponse> {
    let (user_id, api_key_id) = match caller.actor {
        Actor::User { user_id, .. } => (Some(user_id), None),
        Actor::ApiKey { key_id } => (None, Some(key_id)),
    };
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let ticket = hex::encode(bytes);
    let claim = serde_json::to_string(&TicketClaim {
        organization_id: caller.organization_id,
        user_id,
        api_key_id,
    })
    .map_err(crate::api::error::ApiError::internal)?;
    let mut redis = ctx.redis();
    let _: () = redis::cmd("SET")
        .arg(key(&ctx, &ticket))
        .arg(claim)
        .arg("EX")
        .arg(TICKET_TTL_SECS)
        .query_async(&mut redis)
        .await?;
    Ok(HttpResponse::Created().json(TicketResponse {
        ticket,
        expires_in: TICKET_TTL_SECS,
    }))
}

/// Redeems a ticket once, returning the caller it was issued to (re-authenticated now, so a
/// credential revoked in between does not get in).
pub async fn redeem(ctx: &AppContext, ticket: &str) -> Result<Caller, AuthError> {
    let mut redis = ctx.redis();
    let claim: Option<String> = redis::cmd("GETDEL")
        .arg(key(ctx, ticket))
        .query_async(&mut redis)
        .await
        .map_err(|e| AuthError::Internal(e.to_string()))?;
    let claim: TicketClaim = claim
        .and_then(|c| serde_json::from_str(&c).ok())
        .ok_or(AuthError::InvalidToken)?;
    let mut conn = ctx.db().get().await?;
    match (claim.user_id, claim.api_key_id) {
        (Some(user_id), _) => {
            let member = Member::find_for_user(&mut conn, claim.organization_id, user_id)
                .await
                .map_err(|_| AuthError::NoMembership)?;
            if User::find(&mut conn, user_id).await?.disabled_at.is_some() {
                return Err(AuthError::NoMembership);
            }
            Ok(Caller {
                organization_id: claim.organization_id,
                actor: Actor::User {
                    user_id,
                    role: member.role,
                },
                scopes: member.role.scopes().to_vec(),
                request_id: None,
            })
        }
        (None, Some(key_id)) => {
            let key = ApiKey::find(&mut conn, claim.organization_id, key_id)
                .await
                .map_err(|_| AuthError::InvalidApiKey)?;
            if !key.is_usable(chrono::Utc::now()) {
                return Err(AuthError::ApiKeyRevoked);
            }
            Ok(Caller {
                organization_id: claim.organization_id,
                actor: Actor::ApiKey { key_id },
                scopes: key.scopes.iter().filter_map(|s| s.parse().ok()).collect(),
                request_id: None,
            })
        }
        (None, None) => Err(AuthError::InvalidToken),
    }
}
