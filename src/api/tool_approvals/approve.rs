//! `POST /api/v1/tool-approvals/{id}/approve`: a human approves a waiting tool call, which
//! runs now. Approving twice runs it once: the second answer is 409 `approval_not_pending`.

use actix_web::{HttpResponse, post, web};

use crate::api::audit;
use crate::api::error::{ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::ToolApproval;
use crate::domain::{Scope, ToolApprovalId};
use crate::tools::ToolRegistry;

/// Approves and runs the call. 200 with the row: `executed` with the tool's result, or
/// `failed` with the error the tool gave (e.g. the deal moved to another contact meanwhile).
#[utoipa::path(post, path = "/api/v1/tool-approvals/{id}/approve", tag = "tool-approvals",
    security(("bearer" = [])), params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = ToolApproval), (status = 404, body = ErrorResponse),
              (status = 409, body = ErrorResponse)))]
#[post("/tool-approvals/{id}/approve")]
pub async fn approve_tool_approval(
    ctx: web::Data<AppContext>,
    caller: Caller,
    tools: web::Data<ToolRegistry>,
    id: web::Path<ToolApprovalId>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Write)?;
    let row = tools
        .approve(caller.organization_id, *id, caller.user_id())
        .await?;
    let mut conn = ctx.db().get().await?;
    audit::acted(
        &mut conn,
        &caller,
        "approve",
        "tool_approval",
        row.id,
        None,
        Some(serde_json::json!({ "tool": row.tool, "status": row.status, "chat_id": row.chat_id })),
    )
    .await?;
    Ok(HttpResponse::Ok().json(row))
}
