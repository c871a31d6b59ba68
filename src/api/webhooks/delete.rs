//! `DELETE /api/v1/webhooks/{id}`: removes the subscription with its delivery history.

use actix_web::{HttpResponse, delete, web};
use diesel_async::AsyncConnection;

use super::get::not_found;
use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::Webhook;
use crate::domain::{Scope, WebhookId};

/// Deletes a webhook.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    responses((status = 204, description = "deleted"), (status = 404, body = ErrorResponse)))]
#[delete("/webhooks/{id}")]
pub async fn delete_webhook(
    ctx: web::Data<AppContext>,
    caller: Caller,
    id: web::Path<WebhookId>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Configure)?;
    let id = *id;
    let mut conn = ctx.db().get().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let before = Webhook::find(conn, caller.organization_id, id)
            .await
            .map_err(not_found)?;
        Webhook::delete(conn, caller.organization_id, id).await?;
        audit::deleted(conn, &caller, "webhook", id, &before).await?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
