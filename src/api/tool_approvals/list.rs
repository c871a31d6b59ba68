//! `GET /api/v1/tool-approvals`: the organisation's tool approvals, newest first.

use actix_web::{HttpResponse, get, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{ToolApproval, ToolApprovalFilter};
use crate::domain::{ChatId, Scope, ToolApprovalStatus};

/// Filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ToolApprovalQuery {
    /// Only in this state, e.g. `pending`.
    pub status: Option<ToolApprovalStatus>,
    /// Only of this chat.
    #[param(value_type = Option<String>, format = Uuid)]
    pub chat_id: Option<ChatId>,
    /// At most this many (1 to 200, default 50).
    pub limit: Option<i64>,
}

/// A list of tool approvals.
#[derive(Debug, Serialize, ToSchema)]
pub struct ToolApprovalsResponse {
    /// Newest first.
    pub items: Vec<ToolApproval>,
}

/// Lists tool approvals (the inbox shows the pending ones next to their chat).
#[utoipa::path(get, path = "/api/v1/tool-approvals", tag = "tool-approvals",
    security(("bearer" = [])), params(ToolApprovalQuery),
    responses((status = 200, body = ToolApprovalsResponse), (status = 422, body = ErrorResponse)))]
#[get("/tool-approvals")]
pub async fn list_tool_approvals(
    ctx: web::Data<AppContext>,
    caller: Caller,
    query: web::Query<ToolApprovalQuery>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Read)?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::invalid_field(
            "limit",
            "must be between 1 and 200",
        ));
    }
    let filter = ToolApprovalFilter {
        status: query.status,
        chat_id: query.chat_id,
    };
    let mut conn = ctx.db().get().await?;
    let items = ToolApproval::list(&mut conn, caller.organization_id, &filter, limit).await?;
    Ok(HttpResponse::Ok().json(ToolApprovalsResponse { items }))
}
