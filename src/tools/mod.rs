//! Tools the model may call, as Rust types with derived JSON schemas. Deny by default: the
//! supervisor only offers an agent the tools on its allow-list, and an unknown name, a tool not
//! allowed, arguments that fail the schema or are oversize, or an id from another organisation
//! are refused before anything runs, with a structured error the model can read. Side-effecting
//! tools marked `requires_approval` wait for a human in the inbox.

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

pub mod approvals;
pub mod args;
mod crm;
mod email;
mod error;
mod followup;
mod memory;
pub mod registry;

pub use approvals::ApprovalError;
pub use error::ToolError;
pub use registry::{Executed, MAX_ARGUMENT_BYTES, ToolRegistry};

use crate::domain::{AgentId, ChatId, ContactId, ExecutionId, OrganizationId};

/// One call the model asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The model's own id for the call, when its API gives one.
    pub id: Option<String>,
    /// The tool's name as offered.
    pub name: String,
    /// The arguments, unchecked.
    pub arguments: serde_json::Value,
}

/// How a tool is offered to the model (the `tools` array of a chat request).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// Name.
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// JSON schema of the arguments, derived from the Rust type.
    pub parameters: serde_json::Value,
}

/// Who is calling: every id a tool touches must belong to this organisation, and contact-bound
/// tools act on this chat's contact only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolScope {
    /// The tenant.
    pub organization_id: OrganizationId,
    /// The chat the turn belongs to.
    pub chat_id: ChatId,
    /// The chat's contact.
    pub contact_id: ContactId,
    /// The agent row, when the agent has one.
    pub agent_id: Option<AgentId>,
    /// The execution this call is part of (for approvals and logs).
    pub execution_id: ExecutionId,
    /// The agent's allow-list.
    pub allowed: Vec<String>,
    /// Tools that wait for a human before they run (the agent's
    /// `guardrails.approval_required_tools`, see `RailPolicy::approval_required_tools`).
    pub approval_required: Vec<String>,
}

/// What came of a call; every variant is fed back to the model as the tool's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ToolOutcome {
    /// It ran; this is its result.
    Done {
        /// The tool's output.
        result: serde_json::Value,
    },
    /// Refused before running (stable `code`, e.g. `tool_not_allowed`, `invalid_arguments`).
    Rejected {
        /// Stable error code.
        code: String,
        /// What was wrong, for the model.
        message: String,
    },
    /// Waiting for a human to approve it in the inbox; runs at most once when approved.
    AwaitingApproval {
        /// The pending approval's id.
        approval_id: String,
    },
    /// The tool asked to hand the chat to a human.
    Handoff {
        /// Why.
        reason: String,
    },
}

/// Runs tool calls for the supervisor.
pub trait ToolExecutor: Send + Sync + 'static {
    /// The specs of the tools in `allowed` that exist, for the model request.
    fn specs(&self, allowed: &[String]) -> Vec<ToolSpec>;

    /// Checks and runs one call within `scope`.
    fn execute(&self, scope: ToolScope, call: ToolCall) -> BoxFuture<'static, ToolOutcome>;
}
