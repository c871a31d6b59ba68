//! Recording a write in `audit_logs`, inside the transaction that makes the write, so the log
//! never claims a change that was rolled back nor misses one that committed.

use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use uuid::Uuid;

use crate::auth::Caller;
use crate::db::models::{AuditLog, AuditLogInsertForm};
use crate::domain::AuditLogId;

/// What happened to which record.
pub struct AuditEntry<'a, B: Serialize, A: Serialize> {
    /// `create`, `update`, `delete`, ...
    pub action: &'a str,
    /// `contact`, `deal`, ...
    pub resource_type: &'a str,
    /// The record.
    pub resource_id: Uuid,
    /// The record before, if it existed.
    pub before: Option<&'a B>,
    /// The record after, if it still exists.
    pub after: Option<&'a A>,
}

/// Writes one audit entry for `caller`.
pub async fn record<B: Serialize, A: Serialize>(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    entry: AuditEntry<'_, B, A>,
) -> QueryResult<()> {
    let form = AuditLogInsertForm {
        id: AuditLogId::new(),
        organization_id: caller.organization_id,
        actor_kind: caller.actor_kind(),
        actor_id: Some(caller.actor_id()),
        action: entry.action.to_owned(),
        resource_type: entry.resource_type.to_owned(),
        resource_id: Some(entry.resource_id),
        before: entry.before.and_then(|b| serde_json::to_value(b).ok()),
        after: entry.after.and_then(|a| serde_json::to_value(a).ok()),
        request_id: caller.request_id.clone(),
    };
    AuditLog::create(conn, &form).await.map(|_| ())
}
