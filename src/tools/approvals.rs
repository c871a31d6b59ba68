//! Deciding a tool call that waits for a human. Approving claims the row (`pending` →
//! `executed`) and runs the call in the same transaction, so a second approval finds nothing
//! pending and the call runs once; if the run fails the claim rolls back and the row is marked
//! `failed` with the error instead.

use diesel_async::AsyncConnection;
use serde_json::json;

use super::registry::{admit, run_checked};
use super::{ToolCall, ToolError, ToolRegistry, ToolScope};
use crate::db::models::{Event, ToolApproval};
use crate::domain::{OrganizationId, ToolApprovalId, ToolApprovalStatus, UserId};

/// Why a decision could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    /// No such approval in this organisation.
    #[error("tool approval not found")]
    NotFound,
    /// Already decided.
    #[error("tool approval is already {0}")]
    NotPending(ToolApprovalStatus),
    /// PostgreSQL failed.
    #[error("database: {0}")]
    Db(#[from] diesel::result::Error),
    /// No connection.
    #[error("database pool: {0}")]
    Pool(String),
}

fn scope_of(row: &ToolApproval) -> ToolScope {
    ToolScope {
        organization_id: row.organization_id,
        chat_id: row.chat_id,
        contact_id: row.contact_id,
        agent_id: row.agent_id,
        execution_id: row.execution_id,
        allowed: vec![row.tool.clone()],
        approval_required: Vec::new(),
    }
}

impl ToolRegistry {
    async fn not_pending(
        &self,
        org: OrganizationId,
        id: ToolApprovalId,
    ) -> Result<ApprovalError, ApprovalError> {
        let mut conn = self.conn().await?;
        match ToolApproval::find(&mut conn, org, id).await {
            Ok(row) => Ok(ApprovalError::NotPending(row.status)),
            Err(diesel::result::Error::NotFound) => Ok(ApprovalError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    async fn conn(&self) -> Result<crate::db::DbConn, ApprovalError> {
        self.ctx_ref()
            .db()
            .get()
            .await
            .map_err(|e| ApprovalError::Pool(e.to_string()))
    }

    /// A human approves: the call runs now, at most once. Returns the row as it ends up
    /// (`executed` with the result, or `failed` with the error the tool gave).
    pub async fn approve(
        &self,
        org: OrganizationId,
        id: ToolApprovalId,
        by: Option<UserId>,
    ) -> Result<ToolApproval, ApprovalError> {
        let mut conn = self.conn().await?;
        let attempt = conn
            .transaction::<_, Failure, _>(async |conn| {
                let row = ToolApproval::decide(
                    conn,
                    org,
                    id,
                    ToolApprovalStatus::Executed,
                    by,
                    None,
                    None,
                )
                .await?
                .ok_or(Failure::NotPending)?;
                let scope = scope_of(&row);
                let call = ToolCall {
                    id: None,
                    name: row.tool.clone(),
                    arguments: row.arguments.clone(),
                };
                let parsed = admit(&scope, &call).map_err(Failure::Tool)?;
                let executed = run_checked(conn, self.memory(), &scope, &parsed)
                    .await
                    .map_err(Failure::Tool)?;
                let row = ToolApproval::set_result(conn, org, id, &executed.result).await?;
                let event = decided_event(conn, &row).await?;
                Ok((row, scope, executed, event))
            })
            .await;
        match attempt {
            Ok((row, scope, mut executed, event)) => {
                executed.events.push(event);
                self.after_commit(&scope, &executed).await;
                Ok(row)
            }
            Err(Failure::NotPending) => Err(self.not_pending(org, id).await?),
            Err(Failure::Db(e)) => Err(ApprovalError::Db(e)),
            Err(Failure::Tool(e)) => {
                let result = match e {
                    ToolError::Rejected { code, message } => {
                        json!({ "error": { "code": code, "message": message } })
                    }
                    other => {
                        tracing::error!(tool_approval.id = %id, error = %other, "approved tool failed");
                        json!({ "error": { "code": "tool_failed", "message": "the tool failed for an internal reason" } })
                    }
                };
                let decided = conn
                    .transaction::<_, ApprovalError, _>(async |conn| {
                        let Some(row) = ToolApproval::decide(
                            conn,
                            org,
                            id,
                            ToolApprovalStatus::Failed,
                            by,
                            None,
                            Some(&result),
                        )
                        .await?
                        else {
                            return Ok(None);
                        };
                        let event = decided_event(conn, &row).await?;
                        Ok(Some((row, event)))
                    })
                    .await?;
                match decided {
                    Some((row, event)) => {
                        self.ctx_ref().publisher().publish(&[event]);
                        Ok(row)
                    }
                    None => Err(self.not_pending(org, id).await?),
                }
            }
        }
    }

    /// A human refuses: the call never runs.
    pub async fn reject(
        &self,
        org: OrganizationId,
        id: ToolApprovalId,
        by: Option<UserId>,
        note: Option<&str>,
    ) -> Result<ToolApproval, ApprovalError> {
        let mut conn = self.conn().await?;
        let decided = conn
            .transaction::<_, ApprovalError, _>(async |conn| {
                let Some(row) = ToolApproval::decide(
                    conn,
                    org,
                    id,
                    ToolApprovalStatus::Rejected,
                    by,
                    note,
                    None,
                )
                .await?
                else {
                    return Ok(None);
                };
                let event = decided_event(conn, &row).await?;
                Ok(Some((row, event)))
            })
            .await?;
        match decided {
            Some((row, event)) => {
                self.ctx_ref().publisher().publish(&[event]);
                Ok(row)
            }
            None => Err(self.not_pending(org, id).await?),
        }
    }
}

/// Inside the approve transaction: why it rolled back.
enum Failure {
    NotPending,
    Tool(ToolError),
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for Failure {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(e)
    }
}

impl From<ApprovalError> for Failure {
    fn from(e: ApprovalError) -> Self {
        match e {
            ApprovalError::Db(e) => Self::Db(e),
            other => Self::Tool(ToolError::Dependency(other.to_string())),
        }
    }
}

async fn decided_event(
    conn: &mut diesel_async::AsyncPgConnection,
    row: &ToolApproval,
) -> Result<Event, ApprovalError> {
    Ok(Event::append(
        conn,
        row.organization_id,
        "tool_approval.updated",
        Some(row.chat_id),
        &json!({ "tool_approval": row }),
    )
    .await?)
}
