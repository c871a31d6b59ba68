//! Delivers due `agent.followup` outbox rows (written by the `schedule_followup` tool): a due
//! follow-up asks the chat's actor for one agent turn carrying the scheduling agent's note.
//! A follow-up exists to break a silence, so it is dropped, not retried, when the contact wrote
//! after it was scheduled, and when the contact opted out or any of their addresses is
//! suppressed (the opt-out path also cancels pending rows; this re-check covers a row already
//! claimed, or a suppression added by other means).

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use futures_util::future::BoxFuture;
use serde::Deserialize;

use super::chat::FollowUpTrigger;
use super::outbox::{Delivery, OutboundSender, SendError};
use super::router::ChatRouter;
use crate::db::DbPool;
use crate::db::models::{Contact, OutboxEntry};
use crate::db::schema::messages;
use crate::domain::{AgentId, ChatId, ContactId, Direction};
use crate::rails::suppression::entries_for;

/// The payload `schedule_followup` writes.
#[derive(Debug, Deserialize)]
struct FollowUpPayload {
    chat_id: ChatId,
    contact_id: ContactId,
    agent_id: Option<AgentId>,
    #[serde(default)]
    note: String,
}

/// The `agent.followup` sender; registered by the node, which owns the chat router.
pub struct FollowUpSender {
    db: DbPool,
    router: ChatRouter,
}

impl FollowUpSender {
    /// A sender waking chats through `router`.
    pub fn new(db: DbPool, router: ChatRouter) -> Self {
        Self { db, router }
    }

    async fn deliver(&self, entry: &OutboxEntry) -> Result<Delivery, SendError> {
        let payload: FollowUpPayload = serde_json::from_value(entry.payload.clone())
            .map_err(|e| SendError::permanent(format!("bad follow-up payload: {e}")))?;
        let org = entry.organization_id;
        let mut conn = self
            .db
            .get()
            .await
            .map_err(|e| SendError::transient(format!("database: {e}")))?;
        let contact = Contact::find(&mut conn, org, payload.contact_id)
            .await
            .map_err(|e| SendError::permanent(format!("follow-up contact: {e}")))?;
        if contact.unsubscribed_at.is_some() {
            metrics::counter!("followups_skipped_total", "reason" => "opted_out").increment(1);
            return Ok(Delivery::default());
        }
        let suppressed = entries_for(&mut conn, &contact)
            .await
            .map_err(|e| SendError::transient(format!("suppression list: {e}")))?;
        if !suppressed.is_empty() {
            metrics::counter!("followups_skipped_total", "reason" => "suppressed").increment(1);
            return Ok(Delivery::default());
        }
        let replied: bool = diesel::select(diesel::dsl::exists(
            messages::table
                .filter(messages::organization_id.eq(org))
                .filter(messages::chat_id.eq(payload.chat_id))
                .filter(messages::direction.eq(Direction::Inbound.as_str()))
                .filter(messages::created_at.gt(entry.created_at)),
        ))
        .get_result(&mut conn)
        .await
        .map_err(|e| SendError::transient(format!("chat messages: {e}")))?;
        if replied {
            metrics::counter!("followups_skipped_total", "reason" => "replied").increment(1);
            return Ok(Delivery::default());
        }
        drop(conn);
        let trigger = FollowUpTrigger {
            note: payload.note,
            agent_id: payload.agent_id,
        };
        self.router
            .followup_due(org, payload.chat_id, trigger)
            .map_err(|e| SendError::transient(e.to_string()))?;
        metrics::counter!("followups_fired_total").increment(1);
        Ok(Delivery::default())
    }
}

impl OutboundSender for FollowUpSender {
    fn send<'a>(&'a self, entry: &'a OutboxEntry) -> BoxFuture<'a, Result<Delivery, SendError>> {
        Box::pin(self.deliver(entry))
    }
}
