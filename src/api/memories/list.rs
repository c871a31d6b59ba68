//! `GET /api/v1/contacts/{id}/memories`: a page of a contact's memories, newest first.

use actix_web::{HttpResponse, get, web};

use super::contact_of_org;
use crate::api::error::{ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::AgentMemory;
use crate::db::pagination::{PageParams, PageRequest};
use crate::domain::{ContactId, Scope};

/// Lists a contact's memories, newest first.
#[utoipa::path(get, path = "/api/v1/contacts/{id}/memories", tag = "memories",
    security(("bearer" = [])), params(("id" = String, Path, format = Uuid), PageParams),
    responses((status = 200, description = "a page of memories", body = inline(crate::db::pagination::Page<AgentMemory>)),
              (status = 400, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
#[get("/contacts/{id}/memories")]
pub async fn list_memories(
    ctx: web::Data<AppContext>,
    caller: Caller,
    id: web::Path<ContactId>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Read)?;
    let page = PageRequest::from_params(&page)?;
    let mut conn = ctx.db().get().await?;
    contact_of_org(&mut conn, caller.organization_id, *id).await?;
    let memories = AgentMemory::list(&mut conn, caller.organization_id, *id, page).await?;
    Ok(HttpResponse::Ok().json(memories))
}
