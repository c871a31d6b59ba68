//! `/api/v1/audit-logs`: every write made through the API, newest first. Needs `admin`.

use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};
use uuid::Uuid;

use crate::api::error::{ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{AuditLog, AuditLogFilter};
use crate::db::pagination::{PageParams, PageRequest};
use crate::domain::Scope;

/// Routes of this resource.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_audit_logs);
}

/// OpenAPI of this resource.
#[derive(OpenApi)]
#[openapi(
    paths(list_audit_logs),
    components(schemas(AuditLog)),
    tags((name = "audit_logs", description = "Who changed what, and when"))
)]
pub struct AuditLogsApi;

/// Filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditLogQuery {
    /// e.g. `contact`.
    pub resource_type: Option<String>,
    /// One record's history.
    pub resource_id: Option<Uuid>,
    /// e.g. `delete`.
    pub action: Option<String>,
}

/// Lists audit entries.
#[utoipa::path(get, path = "/api/v1/audit-logs", tag = "audit_logs", security(("bearer" = [])),
    params(AuditLogQuery, PageParams),
    responses((status = 200, body = inline(crate::db::pagination::Page<AuditLog>)), (status = 403, body = ErrorResponse)))]
#[get("/audit-logs")]
pub async fn list_audit_logs(
    ctx: web::Data<AppContext>,
    caller: Caller,
    query: web::Query<AuditLogQuery>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Admin)?;
    let page = PageRequest::from_params(&page)?;
    let query = query.into_inner();
    let filter = AuditLogFilter {
        resource_type: query.resource_type,
        resource_id: query.resource_id,
        action: query.action,
    };
    let mut conn = ctx.db().get().await?;
    Ok(HttpResponse::Ok()
        .json(AuditLog::list(&mut conn, caller.organization_id, &filter, page).await?))
}
