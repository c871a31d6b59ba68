//! `PitchError`: why a pitch could not be produced. The API maps each to a status and a stable
//! code once, in `crate::api::error`; the batch worker retries only the transient ones.

use crate::llm::LlmError;

/// Why a pitch could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum PitchError {
    /// The contact does not exist in the organisation.
    #[error("contact not found")]
    ContactNotFound,
    /// The template does not exist in the organisation.
    #[error("template not found")]
    TemplateNotFound,
    /// The template is a message or email template.
    #[error("template {0} is not a pitch template")]
    TemplateNotPitch(String),
    /// The organisation has no active bizdev agent to write pitches.
    #[error("the organisation has no active bizdev agent to write pitches")]
    NoAgent,
    /// `prompts/pitch.hbs` is missing or does not render.
    #[error("the pitch prompt does not render: {0}")]
    Prompt(String),
    /// The pitch template does not render for this contact.
    #[error("the pitch template does not render for this contact: {0}")]
    Template(String),
    /// The agent's guardrails are invalid.
    #[error("the agent's guardrails are invalid: {0}")]
    Guardrails(String),
    /// The model call failed.
    #[error(transparent)]
    Llm(#[from] LlmError),
    /// The model answered with nothing.
    #[error("the model returned an empty pitch")]
    EmptyReply,
    /// An output rail blocked the pitch; nothing was stored.
    #[error("blocked by {rail}: {reason}")]
    Blocked {
        /// The rail's name, e.g. `output.forbidden_phrases`.
        rail: String,
        /// Why.
        reason: String,
    },
    /// The bizdev agent spent its `tokens_per_day` today; the model was not asked.
    #[error("agent {agent} has spent its budget of {tokens_per_day} tokens for today")]
    BudgetExhausted {
        /// The agent's name.
        agent: String,
        /// Its daily token budget.
        tokens_per_day: u64,
    },
    /// The budget counters (Redis) could not be read.
    #[error("budget counters unavailable: {0}")]
    BudgetUnavailable(String),
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] diesel::result::Error),
    /// No database connection.
    #[error("database pool: {0}")]
    Pool(#[from] diesel_async::pooled_connection::deadpool::PoolError),
}

impl PitchError {
    /// Worth another attempt later: the model server or the database being briefly away.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Llm(e) => e.is_transient() || *e == LlmError::CircuitOpen,
            Self::Pool(_) | Self::BudgetUnavailable(_) => true,
            _ => false,
        }
    }
}
