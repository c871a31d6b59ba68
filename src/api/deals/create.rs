//! `POST /api/v1/deals`: a deal lands in the named stage, or the first stage of the named (or
//! default) pipeline.

use actix_web::{HttpResponse, post, web};
use diesel_async::AsyncConnection;
use validator::Validate;

use super::form::{CreateDeal, normalise_currency, parse_date};
use super::references::{check_owner, placement, write_error};
use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{Deal, DealInsertForm};
use crate::domain::{DealId, Scope};

/// Creates a deal.
#[utoipa::path(post, path = "/api/v1/deals", tag = "deals", security(("bearer" = [])),
    request_body = CreateDeal,
    responses((status = 201, body = Deal), (status = 403, body = ErrorResponse),
              (status = 422, description = "invalid field, or a reference to a record that is not this organisation's", body = ErrorResponse)))]
#[post("/deals")]
pub async fn create_deal(
    ctx: web::Data<AppContext>,
    caller: Caller,
    body: web::Json<CreateDeal>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Write)?;
    body.validate()?;
    let body = body.into_inner();
    let expected_close_on = body
        .expected_close_on
        .as_deref()
        .map(|d| parse_date("expected_close_on", d))
        .transpose()?;
    let org = caller.organization_id;
    let mut conn = ctx.db().get().await?;
    let deal = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let (pipeline_id, stage_id) =
                placement(conn, org, body.pipeline_id, body.stage_id).await?;
            if let Some(owner) = body.owner_user_id {
                check_owner(conn, org, owner).await?;
            }
            let form = DealInsertForm {
                id: DealId::new(),
                organization_id: org,
                pipeline_id,
                stage_id,
                contact_id: body.contact_id,
                company_id: body.company_id,
                owner_user_id: body.owner_user_id,
                name: body.name.trim().to_owned(),
                value_cents: body.value_cents,
                currency: body
                    .currency
                    .as_deref()
                    .map_or_else(|| "USD".to_owned(), normalise_currency),
                expected_close_on,
                notes: body.notes,
                attributes: body.attributes.unwrap_or_else(|| serde_json::json!({})),
            };
            let deal = Deal::create(conn, &form).await.map_err(write_error)?;
            audit::created(conn, &caller, "deal", deal.id, &deal).await?;
            Ok(deal)
        })
        .await?;
    Ok(HttpResponse::Created().json(deal))
}
