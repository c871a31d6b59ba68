//! `audit_logs`: every write through the API, with who did it and the record before and after.
//! Written in the same transaction as the change it describes.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::after_cursor;
use crate::db::pagination::{Cursor, Page, PageRequest};
use crate::db::schema::audit_logs;
use crate::domain::{ActorKind, AuditLogId, OrganizationId};

/// One recorded change.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize, ToSchema)]
#[diesel(table_name = audit_logs, check_for_backend(diesel::pg::Pg))]
pub struct AuditLog {
    /// Id.
    pub id: AuditLogId,
    /// Organisation.
    #[serde(skip)]
    pub organization_id: OrganizationId,
    /// A user, an API key or the system.
    pub actor_kind: ActorKind,
    /// The user's or the key's id.
    pub actor_id: Option<Uuid>,
    /// `create`, `update`, `delete`, `revoke`, ...
    pub action: String,
    /// `contact`, `deal`, `api_key`, ...
    pub resource_type: String,
    /// The record's id.
    pub resource_id: Option<Uuid>,
    /// The record before the change.
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    /// The record after the change.
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
    /// The `x-request-id` of the request that made the change.
    pub request_id: Option<String>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A change to record.
#[derive(Debug, Insertable)]
#[diesel(table_name = audit_logs)]
pub struct AuditLogInsertForm {
    /// Id.
    pub id: AuditLogId,
    /// Organisation.
    pub organization_id: OrganizationId,
    /// Actor kind.
    pub actor_kind: ActorKind,
    /// Actor id.
    pub actor_id: Option<Uuid>,
    /// Action.
    pub action: String,
    /// Resource type.
    pub resource_type: String,
    /// Resource id.
    pub resource_id: Option<Uuid>,
    /// Before.
    pub before: Option<serde_json::Value>,
    /// After.
    pub after: Option<serde_json::Value>,
    /// Request id.
    pub request_id: Option<String>,
}

/// Filters of the audit log list.
#[derive(Debug, Default, Clone)]
pub struct AuditLogFilter {
    /// Only this resource type.
    pub resource_type: Option<String>,
    /// Only this record.
    pub resource_id: Option<Uuid>,
    /// Only this action.
    pub action: Option<String>,
}

impl AuditLog {
    /// Records a change.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        form: &AuditLogInsertForm,
    ) -> QueryResult<usize> {
        diesel::insert_into(audit_logs::table)
            .values(form)
            .execute(conn)
            .await
    }

    /// A page of the organisation's log, newest first.
    pub async fn list(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        filter: &AuditLogFilter,
        page: PageRequest,
    ) -> QueryResult<Page<Self>> {
        let mut query = after_cursor!(
            audit_logs::table.filter(audit_logs::organization_id.eq(org)),
            audit_logs,
            page
        );
        if let Some(t) = &filter.resource_type {
            query = query.filter(audit_logs::resource_type.eq(t.clone()));
        }
        if let Some(id) = filter.resource_id {
            query = query.filter(audit_logs::resource_id.eq(id));
        }
        if let Some(a) = &filter.action {
            query = query.filter(audit_logs::action.eq(a.clone()));
        }
        let rows = query.select(Self::as_select()).load(conn).await?;
        Ok(page.finish(rows, |r: &Self| Cursor {
            created_at: r.created_at,
            id: r.id.0,
        }))
    }
}
