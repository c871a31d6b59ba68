//! `DELETE /api/v1/api-keys/{id}`: revokes a key at once. The row stays, for the audit trail.

use actix_web::{HttpResponse, delete, web};
use diesel_async::AsyncConnection;

use super::not_found;
use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::ApiKey;
use crate::domain::{ApiKeyId, Scope};

/// Revokes a key (idempotent).
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "api_keys", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = ApiKey), (status = 404, body = ErrorResponse)))]
#[delete("/api-keys/{id}")]
pub async fn revoke_api_key(
    ctx: web::Data<AppContext>,
    caller: Caller,
    id: web::Path<ApiKeyId>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Admin)?;
    let id = *id;
    let mut conn = ctx.db().get().await?;
    let key = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let before = ApiKey::find(conn, caller.organization_id, id)
                .await
                .map_err(not_found)?;
            let after = ApiKey::revoke(conn, caller.organization_id, id).await?;
            audit::acted(
                conn,
                &caller,
                "revoke",
                "api_key",
                id,
                serde_json::to_value(&before).ok(),
                serde_json::to_value(&after).ok(),
            )
            .await?;
            Ok(after)
        })
        .await?;
    Ok(HttpResponse::Ok().json(key))
}
