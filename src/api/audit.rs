//! Recording a write in `audit_logs`, inside the transaction that makes the write, so the log
//! never claims a change that was rolled back nor misses one that committed.

use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use uuid::Uuid;

use crate::auth::Caller;
use crate::db::models::{AuditLog, AuditLogInsertForm};
use crate::domain::AuditLogId;

async fn record(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    action: &str,
    resource_type: &str,
    resource_id: Uuid,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> QueryResult<()> {
    let form = AuditLogInsertForm {
        id: AuditLogId::new(),
        organization_id: caller.organization_id,
        actor_kind: caller.actor_kind(),
        actor_id: Some(caller.actor_id()),
        action: action.to_owned(),
        resource_type: resource_type.to_owned(),
        resource_id: Some(resource_id),
        before,
        after,
        request_id: caller.request_id.clone(),
    };
    AuditLog::create(conn, &form).await.map(|_| ())
}

fn json(value: &impl Serialize) -> Option<serde_json::Value> {
    serde_json::to_value(value).ok()
}

/// Records that `caller` created a record.
pub async fn created(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    resource_type: &str,
    id: impl Into<Uuid>,
    after: &impl Serialize,
) -> QueryResult<()> {
    record(
        conn,
        caller,
        "create",
        resource_type,
        id.into(),
        None,
        json(after),
    )
    .await
}

/// Records that `caller` changed a record.
pub async fn updated(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    resource_type: &str,
    id: impl Into<Uuid>,
    before: &impl Serialize,
    after: &impl Serialize,
) -> QueryResult<()> {
    record(
        conn,
        caller,
        "update",
        resource_type,
        id.into(),
        json(before),
        json(after),
    )
    .await
}

/// Records that `caller` deleted a record.
pub async fn deleted(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    resource_type: &str,
    id: impl Into<Uuid>,
    before: &impl Serialize,
) -> QueryResult<()> {
    record(
        conn,
        caller,
        "delete",
        resource_type,
        id.into(),
        json(before),
        None,
    )
    .await
}

/// Records any other action (`revoke`, `import`, `assign`, ...) with optional snapshots.
pub async fn acted(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    action: &str,
    resource_type: &str,
    id: impl Into<Uuid>,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> QueryResult<()> {
    record(
        conn,
        caller,
        action,
        resource_type,
        id.into(),
        before,
        after,
    )
    .await
}
