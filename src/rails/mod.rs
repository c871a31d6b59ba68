//! Guardrails, enforced in code rather than asked for in the prompt. Every rail is a pure
//! function from its policy and what it inspects to a [`RailDecision`]; the supervisor runs the
//! input rails before the model sees a turn, the output rails before anything reaches a contact,
//! and the action rails before a send or a side-effecting tool. Each verdict is recorded in
//! `agent_executions` with the rail's name and reason, so an operator can see why.

use serde::{Deserialize, Serialize};

pub mod action;
pub mod input;
pub mod opt_out;
pub mod output;
pub mod pii;
pub mod policy;
pub mod suppression;

pub use action::{ActionRails, RailError};
pub use input::check_input;
pub use opt_out::is_opt_out;
pub use output::{OutputFacts, check_output};
pub use pii::redact_pii;
pub use policy::{QuietHours, RailConfigError, RailPolicy};
pub use suppression::{OptOutOutcome, suppress_on_opt_out};

/// What one rail decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum RailDecision {
    /// Nothing to object to.
    Allow,
    /// Allowed after a change (redaction, trimming); `text` replaces what was inspected.
    Rewrite {
        /// The replacement text.
        text: String,
        /// Why it was changed.
        reason: String,
    },
    /// May go ahead only after a human approves it in the inbox.
    NeedsApproval {
        /// Why a human must look.
        reason: String,
    },
    /// Must not go ahead.
    Block {
        /// Why not.
        reason: String,
    },
}

impl RailDecision {
    /// Orders decisions by how much they restrict: block > needs approval > rewrite > allow.
    pub fn severity(&self) -> u8 {
        match self {
            Self::Allow => 0,
            Self::Rewrite { .. } => 1,
            Self::NeedsApproval { .. } => 2,
            Self::Block { .. } => 3,
        }
    }
}

/// One rail's decision, named so it can be logged and shown next to the draft it affected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RailVerdict {
    /// The rail's stable name, e.g. `output.forbidden_phrases`.
    pub rail: String,
    /// What it decided.
    #[serde(flatten)]
    pub decision: RailDecision,
}

impl RailVerdict {
    /// A named verdict.
    pub fn new(rail: impl Into<String>, decision: RailDecision) -> Self {
        Self {
            rail: rail.into(),
            decision,
        }
    }
}

/// The most restrictive of several verdicts (`Allow` when there are none).
pub fn most_severe(verdicts: &[RailVerdict]) -> RailDecision {
    verdicts
        .iter()
        .map(|v| &v.decision)
        .max_by_key(|d| d.severity())
        .cloned()
        .unwrap_or(RailDecision::Allow)
}
