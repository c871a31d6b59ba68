//! `PATCH /api/v1/deals/{id}`: edits a deal; moving it to another stage is a change of
//! `stage_id`, recorded in the audit log like any other change.

use actix_web::{HttpResponse, patch, web};
use diesel_async::AsyncConnection;

use super::form::{UpdateDeal, normalise_currency, parse_date};
use super::get::not_found;
use super::references::{check_owner, check_pipeline, first_stage, write_error};
use crate::api::audit;
use crate::api::error::{ApiError, ApiResult, ErrorResponse};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::db::models::{Deal, DealUpdateForm};
use crate::db::or_unchanged;
use crate::domain::{DealId, Scope};

impl UpdateDeal {
    fn into_form(self) -> Result<DealUpdateForm, ApiError> {
        let expected_close_on = match self.expected_close_on {
            Some(Some(d)) => Some(Some(parse_date("expected_close_on", &d)?)),
            Some(None) => Some(None),
            None => None,
        };
        Ok(DealUpdateForm {
            pipeline_id: self.pipeline_id,
            stage_id: self.stage_id,
            contact_id: self.contact_id,
            company_id: self.company_id,
            owner_user_id: self.owner_user_id,
            name: self.name.map(|n| n.trim().to_owned()),
            value_cents: self.value_cents,
            currency: self.currency.as_deref().map(normalise_currency),
            expected_close_on,
            notes: self.notes,
            attributes: self.attributes,
        })
    }
}

/// Changes or moves a deal.
#[utoipa::path(patch, path = "/api/v1/deals/{id}", tag = "deals", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)), request_body = UpdateDeal,
    responses((status = 200, body = Deal), (status = 404, body = ErrorResponse),
              (status = 422, body = ErrorResponse)))]
#[patch("/deals/{id}")]
pub async fn update_deal(
    ctx: web::Data<AppContext>,
    caller: Caller,
    id: web::Path<DealId>,
    body: web::Json<UpdateDeal>,
) -> ApiResult<HttpResponse> {
    caller.require(Scope::Write)?;
    body.validate_all()?;
    let mut form = body.into_inner().into_form()?;
    let id = *id;
    let org = caller.organization_id;
    let mut conn = ctx.db().get().await?;
    let deal = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let before = Deal::find(conn, org, id).await.map_err(not_found)?;
            if let Some(pipeline) = form.pipeline_id.filter(|p| *p != before.pipeline_id) {
                check_pipeline(conn, org, pipeline).await?;
                if form.stage_id.is_none() {
                    form.stage_id = Some(first_stage(conn, org, pipeline).await?);
                }
            }
            if let Some(Some(owner)) = form.owner_user_id {
                check_owner(conn, org, owner).await?;
            }
            let after = or_unchanged(Deal::update(conn, org, id, &form).await, &before)
                .map_err(write_error)?;
            audit::updated(conn, &caller, "deal", id, &before, &after).await?;
            Ok(after)
        })
        .await?;
    Ok(HttpResponse::Ok().json(deal))
}
