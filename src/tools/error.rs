//! Why a tool call did not produce a result. `Rejected` is for the model (a stable code and a
//! message it can act on); everything else is an operator problem, logged in full and shown to
//! the model only as `tool_failed`.

use super::ToolOutcome;

/// A tool call's failure.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// Refused: the call itself is wrong (not allowed, bad arguments, an id of another
    /// organisation or contact, a suppressed contact).
    #[error("{code}: {message}")]
    Rejected {
        /// Stable code, e.g. `invalid_arguments`, `unknown_id`.
        code: &'static str,
        /// What was wrong, for the model.
        message: String,
    },
    /// PostgreSQL failed.
    #[error("database: {0}")]
    Db(#[from] diesel::result::Error),
    /// No database connection.
    #[error("database pool: {0}")]
    Pool(String),
    /// Another dependency failed (Redis, the embedder).
    #[error("{0}")]
    Dependency(String),
}

impl ToolError {
    /// A refusal with a code and message for the model.
    pub fn rejected(code: &'static str, message: impl Into<String>) -> Self {
        Self::Rejected {
            code,
            message: message.into(),
        }
    }

    /// The model-visible outcome (operator detail is logged, not shown).
    pub fn into_outcome(self, tool: &str) -> ToolOutcome {
        match self {
            Self::Rejected { code, message } => ToolOutcome::Rejected {
                code: code.to_owned(),
                message,
            },
            other => {
                tracing::error!(tool, error = %other, "tool failed");
                ToolOutcome::Rejected {
                    code: "tool_failed".into(),
                    message: "the tool failed for an internal reason; do not retry it now, hand off to a human if it matters".into(),
                }
            }
        }
    }
}
