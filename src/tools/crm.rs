//! The CRM tools: `lookup_contact`, `update_contact`, `move_deal_stage`. Each acts only on the
//! chat's own contact, inside the caller's organisation.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::{Value, json};

use super::args::{LookupContactArgs, MoveDealStageArgs, UpdateContactArgs};
use super::{ToolError, ToolScope};
use crate::db::models::{Company, Contact, ContactUpdateForm, Deal, DealUpdateForm, PipelineStage};
use crate::db::schema::deals;
use crate::domain::{DealId, StageId};

/// The chat's contact, or a refusal if it is gone.
async fn chat_contact(
    conn: &mut AsyncPgConnection,
    scope: &ToolScope,
) -> Result<Contact, ToolError> {
    Contact::find(conn, scope.organization_id, scope.contact_id)
        .await
        .optional()?
        .ok_or_else(|| ToolError::rejected("unknown_id", "the chat's contact no longer exists"))
}

/// `lookup_contact`.
pub async fn lookup_contact(
    conn: &mut AsyncPgConnection,
    scope: &ToolScope,
    args: &LookupContactArgs,
) -> Result<Value, ToolError> {
    let contact = chat_contact(conn, scope).await?;
    let company = match contact.company_id {
        Some(id) => Company::find(conn, scope.organization_id, id)
            .await
            .optional()?
            .map(|c| c.name),
        None => None,
    };
    let mut out = json!({
        "name": contact.name,
        "email": contact.email,
        "phone": contact.phone,
        "title": contact.title,
        "company": company,
        "tags": contact.tags,
        "attributes": contact.attributes,
        "timezone": contact.timezone,
        "opted_out": contact.unsubscribed_at.is_some(),
    });
    if args.include_deals {
        let deals: Vec<Deal> = deals::table
            .filter(deals::organization_id.eq(scope.organization_id))
            .filter(deals::contact_id.eq(scope.contact_id))
            .order(deals::created_at.desc())
            .limit(20)
            .select(Deal::as_select())
            .load(conn)
            .await?;
        let pipelines: Vec<_> = deals.iter().map(|d| d.pipeline_id).collect();
        let stages = PipelineStage::for_pipelines(conn, scope.organization_id, &pipelines).await?;
        out["deals"] = deals
            .iter()
            .map(|d| {
                let stage_list: Vec<Value> = stages
                    .iter()
                    .filter(|s| s.pipeline_id == d.pipeline_id)
                    .map(|s| json!({"id": s.id, "name": s.name}))
                    .collect();
                json!({
                    "id": d.id,
                    "name": d.name,
                    "stage_id": d.stage_id,
                    "value_cents": d.value_cents,
                    "currency": d.currency,
                    "stages": stage_list,
                })
            })
            .collect();
    }
    Ok(out)
}

/// `update_contact`.
pub async fn update_contact(
    conn: &mut AsyncPgConnection,
    scope: &ToolScope,
    args: &UpdateContactArgs,
) -> Result<Value, ToolError> {
    let before = chat_contact(conn, scope).await?;
    let mut tags = before.tags.clone();
    for tag in &args.add_tags {
        let tag = tag.trim().to_owned();
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    tags.retain(|t| !args.remove_tags.iter().any(|r| r.trim() == t));
    let attributes = args.attributes.as_ref().map(|changes| {
        let mut merged = before.attributes.as_object().cloned().unwrap_or_default();
        for (key, value) in changes {
            if value.is_null() {
                merged.remove(key);
            } else {
                merged.insert(key.clone(), value.clone());
            }
        }
        Value::Object(merged)
    });
    let form = ContactUpdateForm {
        name: args.name.as_ref().map(|n| n.trim().to_owned()),
        title: args.title.as_ref().map(|t| Some(t.trim().to_owned())),
        phone: args.phone.as_ref().map(|p| Some(p.trim().to_owned())),
        timezone: args.timezone.as_ref().map(|t| Some(t.trim().to_owned())),
        tags: (tags != before.tags).then_some(tags),
        attributes,
        ..ContactUpdateForm::default()
    };
    let after = match Contact::update(conn, scope.organization_id, scope.contact_id, &form).await {
        Ok(after) => after,
        // Nothing to change: diesel refuses an empty SET.
        Err(diesel::result::Error::QueryBuilderError(_)) => before,
        Err(e) => return Err(e.into()),
    };
    Ok(json!({
        "updated": true,
        "name": after.name,
        "title": after.title,
        "phone": after.phone,
        "timezone": after.timezone,
        "tags": after.tags,
        "attributes": after.attributes,
    }))
}

/// Checks the deal and stage belong to this organisation, the deal to this contact and the
/// stage to the deal's pipeline (before an approval is stored, and again before running).
pub async fn check_move(
    conn: &mut AsyncPgConnection,
    scope: &ToolScope,
    args: &MoveDealStageArgs,
) -> Result<(Deal, PipelineStage), ToolError> {
    let deal = Deal::find(conn, scope.organization_id, DealId(args.deal_id))
        .await
        .optional()?
        .ok_or_else(|| {
            ToolError::rejected(
                "unknown_id",
                "deal_id does not name a deal of this organisation",
            )
        })?;
    if deal.contact_id != Some(scope.contact_id) {
        return Err(ToolError::rejected(
            "not_this_contact",
            "deal_id names a deal of another contact; only this chat's contact's deals can move",
        ));
    }
    let stage = PipelineStage::find(
        conn,
        scope.organization_id,
        deal.pipeline_id,
        StageId(args.stage_id),
    )
    .await
    .optional()?
    .ok_or_else(|| {
        ToolError::rejected(
            "unknown_id",
            "stage_id does not name a stage of the deal's pipeline",
        )
    })?;
    Ok((deal, stage))
}

/// `move_deal_stage`.
pub async fn move_deal_stage(
    conn: &mut AsyncPgConnection,
    scope: &ToolScope,
    args: &MoveDealStageArgs,
) -> Result<Value, ToolError> {
    let (deal, stage) = check_move(conn, scope, args).await?;
    let form = DealUpdateForm {
        stage_id: Some(stage.id),
        ..DealUpdateForm::default()
    };
    let after = Deal::update(conn, scope.organization_id, deal.id, &form).await?;
    Ok(json!({
        "deal_id": after.id,
        "from_stage_id": deal.stage_id,
        "stage_id": after.stage_id,
        "stage": stage.name,
    }))
}
