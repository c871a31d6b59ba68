//! `POST /api/v1/tool-approvals/{id}/reject`: a human refuses a waiting tool call; it never
//! runs.

use actix_web::{HttpResponse, post, web};
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use crate::api::audit;
use crate::api::error::{ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::ToolApproval;
use crate::domain::{Scope, ToolApprovalId};
use crate::tools::ToolRegistry;

/// Why the call was refused (optional).
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectToolApproval {
    /// A note for the team and the audit log.
    #[validate(length(max = 1000))]
    pub note: Option<String>,
}

/// Rejects the call. 409 `approval_not_pending` when it was already decided.
#[utoipa::path(post, path = "/api/v1/tool-approvals/{id}/reject", tag = "tool-approvals",
    security(("bearer" = [])), params(("id" = String, Path, format = Uuid)),
    request_body = RejectToolApproval,
    responses((status = 200, body = ToolApproval), (status = 404, body = ErrorResponse),
              (status = 409, body = ErrorResponse)))]
#[post("/tool-approvals/{id}/reject")]
pub async fn reject_tool_approval(
    ctx: web::Data<AppContext>,
    caller: Caller,
    tools: web::Data<ToolRegistry>,
    id: web::Path<ToolApprovalId>,
    body: Option<web::Json<RejectToolApproval>>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Write)?;
    let body = body.map(web::Json::into_inner).unwrap_or_default();
    body.validate()?;
    let row = tools
        .reject(
            caller.organization_id,
            *id,
            caller.user_id(),
            body.note.as_deref(),
        )
        .await?;
    let mut conn = ctx.db().get().await?;
    audit::acted(
        &mut conn,
        &caller,
        "reject",
        "tool_approval",
        row.id,
        None,
        Some(serde_json::json!({ "tool": row.tool, "status": row.status, "chat_id": row.chat_id })),
    )
    .await?;
    Ok(HttpResponse::Ok().json(row))
}
