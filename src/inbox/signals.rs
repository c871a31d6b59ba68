//! Ephemeral inbox signals: who is typing, which operators are online, how far a background job
//! got. Unlike events they are not stored and carry no cursor — a client that misses one loses
//! nothing worth recovering (the next signal, or the job's status endpoint, tells the truth) —
//! so they travel the same hub and Redis pub/sub as events but never touch PostgreSQL.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::PROTOCOL_VERSION;
use crate::domain::{AgentId, ChatId, OrganizationId, UserId};

/// Who a `typing` signal is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Typist {
    /// The contact, as reported by the channel (Telegram sends no such thing; the web does).
    Contact,
    /// An operator in the inbox.
    Operator {
        /// Who.
        user_id: UserId,
    },
    /// An AI agent running a turn.
    Agent {
        /// Which agent row, when it has one.
        agent_id: Option<AgentId>,
    },
}

/// One signal as clients (and other nodes) see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// Protocol version.
    pub v: u32,
    /// `typing`, `presence` or `job.progress`.
    #[serde(rename = "type")]
    pub signal_type: String,
    /// The chat concerned, if any (chat-filtered subscriptions only get their chat's).
    pub chat_id: Option<ChatId>,
    /// The signal's data.
    pub data: serde_json::Value,
    /// When.
    pub at: DateTime<Utc>,
    /// Routing only; not sent to clients.
    #[serde(skip_serializing, default)]
    pub organization_id: Option<OrganizationId>,
}

impl Signal {
    fn new(
        org: OrganizationId,
        signal_type: &str,
        chat_id: Option<ChatId>,
        data: serde_json::Value,
    ) -> Self {
        Self {
            v: PROTOCOL_VERSION,
            signal_type: signal_type.to_owned(),
            chat_id,
            data,
            at: Utc::now(),
            organization_id: Some(org),
        }
    }

    /// Someone started (`active`) or stopped typing in a chat.
    pub fn typing(org: OrganizationId, chat: ChatId, typist: Typist, active: bool) -> Self {
        Self::new(
            org,
            "typing",
            Some(chat),
            serde_json::json!({ "typist": typist, "active": active }),
        )
    }

    /// An operator came online or went offline (their last inbox connection closed).
    pub fn presence(org: OrganizationId, user: UserId, online: bool) -> Self {
        Self::new(
            org,
            "presence",
            None,
            serde_json::json!({
                "user_id": user,
                "status": if online { "online" } else { "offline" },
            }),
        )
    }

    /// A background job's progress (`done` of `total`, `failed` of those done).
    pub fn job_progress(
        org: OrganizationId,
        job_id: &str,
        job_kind: &str,
        done: u64,
        failed: u64,
        total: u64,
    ) -> Self {
        Self::new(
            org,
            "job.progress",
            None,
            serde_json::json!({
                "job_id": job_id,
                "kind": job_kind,
                "done": done,
                "failed": failed,
                "total": total,
                "finished": done >= total,
            }),
        )
    }
}
