//! `schedule_followup`: an outbox row of kind `agent.followup` that becomes due `in_hours`
//! from now (the outbox's `next_attempt_at` is its not-before time). The follow-up agent's
//! dispatcher handler wakes the chat then; an opt-out cancels pending ones
//! (`rails::suppress_on_opt_out`).

use chrono::Utc;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::{Value, json};

use super::args::ScheduleFollowupArgs;
use super::{ToolError, ToolScope};
use crate::db::schema::outbox;
use crate::domain::OutboxId;
use crate::rails::suppression::AGENT_FOLLOWUP;

/// `schedule_followup`.
pub async fn schedule_followup(
    conn: &mut AsyncPgConnection,
    scope: &ToolScope,
    args: &ScheduleFollowupArgs,
) -> Result<Value, ToolError> {
    use diesel::ExpressionMethods;
    let id = OutboxId::new();
    let due = Utc::now() + chrono::Duration::hours(i64::from(args.in_hours));
    diesel::insert_into(outbox::table)
        .values((
            outbox::id.eq(id),
            outbox::organization_id.eq(scope.organization_id),
            outbox::kind.eq(AGENT_FOLLOWUP),
            outbox::ordering_key.eq(format!("followup:{}", scope.chat_id)),
            outbox::payload.eq(json!({
                "chat_id": scope.chat_id,
                "contact_id": scope.contact_id,
                "agent_id": scope.agent_id,
                "execution_id": scope.execution_id,
                "note": args.note,
            })),
            outbox::next_attempt_at.eq(due),
        ))
        .execute(conn)
        .await?;
    Ok(json!({ "followup_id": id, "not_before": due }))
}
