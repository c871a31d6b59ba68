//! `GET /api/v1/tool-approvals/{id}`: one tool approval.

use actix_web::{HttpResponse, get, web};

use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::ToolApproval;
use crate::domain::{Scope, ToolApprovalId};

/// One tool approval with its arguments and, once run, its result.
#[utoipa::path(get, path = "/api/v1/tool-approvals/{id}", tag = "tool-approvals",
    security(("bearer" = [])), params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = ToolApproval), (status = 404, body = ErrorResponse)))]
#[get("/tool-approvals/{id}")]
pub async fn get_tool_approval(
    ctx: web::Data<AppContext>,
    caller: Caller,
    id: web::Path<ToolApprovalId>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Read)?;
    let mut conn = ctx.db().get().await?;
    let row = ToolApproval::find(&mut conn, caller.organization_id, *id)
        .await
        .map_err(|e| match e {
            diesel::result::Error::NotFound => ApiError::not_found("tool approval"),
            other => other.into(),
        })?;
    Ok(HttpResponse::Ok().json(row))
}
