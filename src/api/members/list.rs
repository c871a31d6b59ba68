//! `GET /api/v1/members`.

use actix_web::{HttpResponse, get, web};

use crate::api::error::{ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{Member, MemberView};
use crate::db::pagination::{PageParams, PageRequest};
use crate::domain::Scope;

/// Lists members, newest first.
#[utoipa::path(get, path = "/api/v1/members", tag = "members", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = inline(crate::db::pagination::Page<MemberView>)), (status = 401, body = ErrorResponse)))]
#[get("/members")]
pub async fn list_members(
    ctx: web::Data<AppContext>,
    caller: Caller,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Read)?;
    let page = PageRequest::from_params(&page)?;
    let mut conn = ctx.db().get().await?;
    Ok(HttpResponse::Ok().json(Member::list(&mut conn, caller.organization_id, page).await?))
}
