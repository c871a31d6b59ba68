//! Writing a contact's memories: an operator adds a fact or preference, corrects one (it is
//! re-embedded, so recall finds the new wording) or deletes one. Embedding needs the model
//! server; when it is down the answer is 503 `embedding_unavailable` and nothing changes.

use actix_web::{HttpResponse, delete, patch, post, web};
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use super::contact_of_org;
use crate::api::audit;
use crate::api::error::{ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::AgentMemory;
use crate::domain::{ContactId, MemoryId, MemoryKind, Scope};
use crate::memory::LongTermMemory;

/// A memory an operator adds.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMemory {
    /// `fact`, `preference` or `summary`.
    pub kind: MemoryKind,
    /// The memory, 1 to 4000 characters.
    #[validate(length(min = 1, max = 4000))]
    pub content: String,
}

/// A correction of a memory's content.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMemory {
    /// The new content, 1 to 4000 characters; it is re-embedded.
    #[validate(length(min = 1, max = 4000))]
    pub content: String,
}

/// Adds a memory about the contact.
#[utoipa::path(post, path = "/api/v1/contacts/{id}/memories", tag = "memories",
    security(("bearer" = [])), params(("id" = String, Path, format = Uuid)),
    request_body = CreateMemory,
    responses((status = 201, body = AgentMemory), (status = 404, body = ErrorResponse),
              (status = 422, body = ErrorResponse), (status = 503, body = ErrorResponse)))]
#[post("/contacts/{id}/memories")]
pub async fn create_memory(
    ctx: web::Data<AppContext>,
    memory: web::Data<LongTermMemory>,
    caller: Caller,
    id: web::Path<ContactId>,
    body: web::Json<CreateMemory>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Write)?;
    body.validate()?;
    let org = caller.organization_id;
    let mut conn = ctx.db().get().await?;
    contact_of_org(&mut conn, org, *id).await?;
    let row = memory
        .remember(org, *id, None, body.kind, &body.content, None)
        .await?;
    audit::created(&mut conn, &caller, "memory", row.id, &row).await?;
    Ok(HttpResponse::Created().json(row))
}

/// Corrects a memory's content and re-embeds it.
#[utoipa::path(patch, path = "/api/v1/contacts/{id}/memories/{memory_id}", tag = "memories",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid), ("memory_id" = String, Path, format = Uuid)),
    request_body = UpdateMemory,
    responses((status = 200, body = AgentMemory), (status = 404, body = ErrorResponse),
              (status = 422, body = ErrorResponse), (status = 503, body = ErrorResponse)))]
#[patch("/contacts/{id}/memories/{memory_id}")]
pub async fn update_memory(
    ctx: web::Data<AppContext>,
    memory: web::Data<LongTermMemory>,
    caller: Caller,
    path: web::Path<(ContactId, MemoryId)>,
    body: web::Json<UpdateMemory>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Write)?;
    body.validate()?;
    let (contact, id) = *path;
    let org = caller.organization_id;
    let before = memory.get(org, contact, id).await?;
    let after = memory.edit(org, contact, id, &body.content).await?;
    let mut conn = ctx.db().get().await?;
    audit::updated(&mut conn, &caller, "memory", id, &before, &after).await?;
    Ok(HttpResponse::Ok().json(after))
}

/// Deletes a memory.
#[utoipa::path(delete, path = "/api/v1/contacts/{id}/memories/{memory_id}", tag = "memories",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid), ("memory_id" = String, Path, format = Uuid)),
    responses((status = 204, description = "deleted"), (status = 404, body = ErrorResponse)))]
#[delete("/contacts/{id}/memories/{memory_id}")]
pub async fn delete_memory(
    ctx: web::Data<AppContext>,
    memory: web::Data<LongTermMemory>,
    caller: Caller,
    path: web::Path<(ContactId, MemoryId)>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Write)?;
    let (contact, id) = *path;
    let org = caller.organization_id;
    let before = memory.get(org, contact, id).await?;
    memory.forget(org, contact, id).await?;
    let mut conn = ctx.db().get().await?;
    audit::deleted(&mut conn, &caller, "memory", id, &before).await?;
    Ok(HttpResponse::NoContent().finish())
}
