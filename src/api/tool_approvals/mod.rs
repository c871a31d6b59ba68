//! `/api/v1/tool-approvals`: agent tool calls waiting for a human (tools an agent lists in
//! `approval_required_tools`). Reading needs `read`; approving (which runs the call, once) and
//! rejecting need `write`.

mod approve;
mod get;
mod list;
mod reject;

pub use approve::*;
pub use get::*;
pub use list::*;
pub use reject::*;

use actix_web::web;
use utoipa::OpenApi;

use crate::api::error::ApiError;
use crate::tools::ApprovalError;

/// Routes of this resource.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_tool_approvals)
        .service(get_tool_approval)
        .service(approve_tool_approval)
        .service(reject_tool_approval);
}

/// OpenAPI of this resource.
#[derive(OpenApi)]
#[openapi(
    paths(list_tool_approvals, get_tool_approval, approve_tool_approval, reject_tool_approval),
    components(schemas(crate::db::models::ToolApproval, ToolApprovalsResponse, RejectToolApproval)),
    tags((name = "tool-approvals", description = "Agent tool calls waiting for a human"))
)]
pub struct ToolApprovalsApi;

impl From<ApprovalError> for ApiError {
    fn from(e: ApprovalError) -> Self {
        match e {
            ApprovalError::NotFound => ApiError::not_found("tool approval"),
            ApprovalError::NotPending(status) => ApiError::conflict(
                "approval_not_pending",
                format!("this tool call was already decided ({status})"),
            )
            .with_details(serde_json::json!({ "status": status })),
            ApprovalError::Db(e) => e.into(),
            ApprovalError::Pool(e) => ApiError::unavailable(e),
        }
    }
}
