//! The `Caller` extractor: authenticates the `Authorization` header (API key or access JWT),
//! loads the caller's organisation and scopes, applies the rate limit, and hands handlers a
//! value they can ask `require(scope)` of. Handlers never parse credentials themselves.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use chrono::Utc;
use futures_util::future::LocalBoxFuture;
use uuid::Uuid;

use super::AuthError;
use super::api_keys::API_KEY_MARKER;
use super::rate_limit::{self, CheckError};
use super::tokens::hash_secret;
use crate::api::error::ApiError;
use crate::api::request_id::RequestId;
use crate::context::AppContext;
use crate::db::models::{ApiKey, Member, User};
use crate::domain::{ActorKind, ApiKeyId, OrganizationId, Role, Scope, UserId};

/// Who is acting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A person, through an access token.
    User {
        /// The user.
        user_id: UserId,
        /// Their role in the organisation.
        role: Role,
    },
    /// A machine, through an API key.
    ApiKey {
        /// The key.
        key_id: ApiKeyId,
    },
}

/// An authenticated request: one organisation, one actor, a set of scopes.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Every query the request makes is scoped to this organisation.
    pub organization_id: OrganizationId,
    /// The person or key.
    pub actor: Actor,
    /// What the caller may do.
    pub scopes: Vec<Scope>,
    /// The request's id, recorded in the audit log.
    pub request_id: Option<String>,
}

impl Caller {
    /// Refuses with 403 unless the caller holds `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), AuthError> {
        if self.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(AuthError::Forbidden { needed: scope })
        }
    }

    /// For the audit log.
    pub fn actor_kind(&self) -> ActorKind {
        match self.actor {
            Actor::User { .. } => ActorKind::User,
            Actor::ApiKey { .. } => ActorKind::ApiKey,
        }
    }

    /// For the audit log.
    pub fn actor_id(&self) -> Uuid {
        match self.actor {
            Actor::User { user_id, .. } => user_id.0,
            Actor::ApiKey { key_id } => key_id.0,
        }
    }

    /// The user behind the request, when it is a person.
    pub fn user_id(&self) -> Option<UserId> {
        match self.actor {
            Actor::User { user_id, .. } => Some(user_id),
            Actor::ApiKey { .. } => None,
        }
    }

    /// Authenticates a bearer credential.
    pub async fn authenticate(ctx: &AppContext, credential: &str) -> Result<Self, AuthError> {
        let mut conn = ctx.db().get().await?;
        if credential.starts_with(API_KEY_MARKER) {
            let key = match ApiKey::find_by_hash(&mut conn, &hash_secret(credential)).await {
                Ok(key) => key,
                Err(diesel::result::Error::NotFound) => return Err(AuthError::InvalidApiKey),
                Err(e) => return Err(e.into()),
            };
            if !key.is_usable(Utc::now()) {
                return Err(AuthError::ApiKeyRevoked);
            }
            ApiKey::touch(&mut conn, key.id).await?;
            let scopes = key.scopes.iter().filter_map(|s| s.parse().ok()).collect();
            Ok(Self {
                organization_id: key.organization_id,
                actor: Actor::ApiKey { key_id: key.id },
                scopes,
                request_id: None,
            })
        } else {
            let claims = ctx.tokens().verify(credential)?;
            // Membership is checked on every request so a removed or demoted member loses access
            // at once, not when the token expires.
            let member = match Member::find_for_user(&mut conn, claims.org, claims.sub).await {
                Ok(member) => member,
                Err(diesel::result::Error::NotFound) => return Err(AuthError::NoMembership),
                Err(e) => return Err(e.into()),
            };
            let user = User::find(&mut conn, claims.sub).await?;
            if user.disabled_at.is_some() {
                return Err(AuthError::NoMembership);
            }
            Ok(Self {
                organization_id: claims.org,
                actor: Actor::User {
                    user_id: claims.sub,
                    role: member.role,
                },
                scopes: member.role.scopes().to_vec(),
                request_id: None,
            })
        }
    }
}

/// The credential in `Authorization: Bearer <credential>`.
pub fn bearer_credential(req: &HttpRequest) -> Option<String> {
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, value) = header.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| value.trim().to_owned())
        .filter(|v| !v.is_empty())
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // A middleware (idempotency) may already have authenticated this request.
        if let Some(caller) = req.extensions().get::<Caller>() {
            let caller = caller.clone();
            return Box::pin(async move { Ok(caller) });
        }
        let ctx = req
            .app_data::<web::Data<AppContext>>()
            .map(|d| d.get_ref().clone());
        let credential = bearer_credential(req);
        let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
        let req = req.clone();
        Box::pin(async move {
            let ctx = ctx.ok_or_else(|| ApiError::internal("AppContext missing from app data"))?;
            let credential = credential.ok_or(AuthError::MissingCredentials)?;
            let mut caller = Caller::authenticate(&ctx, &credential).await?;
            caller.request_id = request_id;
            match rate_limit::check(&ctx, &caller.actor_id().to_string()).await {
                Ok(()) => {}
                Err(CheckError::Limited(limited)) => {
                    return Err(ApiError::new(
                        actix_web::http::StatusCode::TOO_MANY_REQUESTS,
                        "rate_limited",
                        limited.to_string(),
                    )
                    .with_details(
                        serde_json::json!({ "retry_after_secs": limited.retry_after_secs }),
                    ));
                }
                Err(CheckError::Redis(e)) => return Err(e.into()),
            }
            req.extensions_mut().insert(caller.clone());
            Ok(caller)
        })
    }
}
