//! `POST /api/v1/api-keys`.

use actix_web::{HttpResponse, post, web};
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::ApiKey;
use crate::domain::Scope;
use crate::seed;

/// A key to create.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    /// What it is for, e.g. "CRM sync".
    #[validate(length(min = 1, max = 200))]
    pub name: String,
    /// Scopes; each must be one the caller holds.
    #[validate(length(min = 1, message = "give at least one scope"))]
    pub scopes: Vec<Scope>,
    /// Optional end of life.
    pub expires_at: Option<DateTime<Utc>>,
}

/// The new key: `key` appears here and nowhere else, ever.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyCreatedResponse {
    /// The stored key.
    #[serde(flatten)]
    pub api_key: ApiKey,
    /// The secret; store it now.
    pub key: String,
}

/// Creates a key.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "api_keys", security(("bearer" = [])), request_body = CreateApiKey,
    responses((status = 201, body = ApiKeyCreatedResponse), (status = 403, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[post("/api-keys")]
pub async fn create_api_key(
    ctx: web::Data<AppContext>,
    caller: Caller,
    body: web::Json<CreateApiKey>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Admin)?;
    body.validate()?;
    if let Some(scope) = body.scopes.iter().find(|s| !caller.scopes.contains(s)) {
        return Err(ApiError::invalid_field(
            "scopes",
            format!("you cannot grant the {scope} scope, which you do not hold"),
        ));
    }
    if body.expires_at.is_some_and(|at| at <= Utc::now()) {
        return Err(ApiError::invalid_field(
            "expires_at",
            "must be in the future",
        ));
    }
    let mut scopes = body.scopes.clone();
    scopes.sort_by_key(|s| Scope::ALL.iter().position(|x| x == s));
    scopes.dedup();
    let mut conn = ctx.db().get().await?;
    let created = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let (mut key, plaintext) = seed::create_api_key(
                conn,
                caller.organization_id,
                &body.name,
                &scopes,
                caller.user_id(),
            )
            .await?;
            if let Some(at) = body.expires_at {
                key = ApiKey::set_expiry(conn, caller.organization_id, key.id, at).await?;
            }
            audit::created(conn, &caller, "api_key", key.id, &key).await?;
            Ok(ApiKeyCreatedResponse {
                api_key: key,
                key: plaintext,
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(created))
}
