//! `LlmError`: every way a model call can fail, split into transient failures (retried with
//! backoff, counted by the circuit breaker) and permanent ones (a missing model, a model without
//! tool support, a refused request), which retrying cannot fix.

/// Why a model call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmError {
    /// No connection could be made (server down, wrong URL).
    #[error("model server unreachable: {0}")]
    Unreachable(String),
    /// The server did not answer within the configured timeout.
    #[error("model server timed out")]
    Timeout,
    /// The server said 429.
    #[error("model server is overloaded (429)")]
    RateLimited,
    /// The server failed (5xx, or an error frame in the middle of a stream).
    #[error("model server error ({status}): {message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The server's error text.
        message: String,
    },
    /// The model is not on the server (Ollama's 404 "model ... not found, try pulling it first").
    #[error("model {0:?} is not on the model server (pull it first)")]
    ModelNotFound(String),
    /// The model cannot call tools (Ollama's 400 "... does not support tools").
    #[error("model {0:?} does not support tools")]
    ToolsUnsupported(String),
    /// Any other refusal (4xx): the request itself is wrong.
    #[error("model server refused the request ({status}): {message}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// The server's error text.
        message: String,
    },
    /// A streamed reply ended before its final (`done: true`) frame; nothing of it is used.
    #[error("the reply stream ended before its final frame")]
    StreamCut,
    /// The reply could not be understood.
    #[error("unreadable reply from the model server: {0}")]
    Protocol(String),
    /// The circuit breaker is open after repeated failures; no request was made.
    #[error("model server degraded: circuit breaker open after repeated failures")]
    CircuitOpen,
}

impl LlmError {
    /// Worth another attempt: connection problems, timeouts, 429, 5xx and cut streams.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Unreachable(_)
                | Self::Timeout
                | Self::RateLimited
                | Self::Server { .. }
                | Self::StreamCut
        )
    }

    /// Stable snake_case code, for logs, `agent_executions.error` and API errors.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unreachable(_) => "llm_unreachable",
            Self::Timeout => "llm_timeout",
            Self::RateLimited => "llm_rate_limited",
            Self::Server { .. } => "llm_server_error",
            Self::ModelNotFound(_) => "llm_model_not_found",
            Self::ToolsUnsupported(_) => "llm_tools_unsupported",
            Self::Rejected { .. } => "llm_rejected",
            Self::StreamCut => "llm_stream_cut",
            Self::Protocol(_) => "llm_protocol",
            Self::CircuitOpen => "llm_circuit_open",
        }
    }

    /// Classifies an HTTP error reply by status and the server's `{"error": "..."}` text.
    pub(crate) fn from_status(status: u16, message: String, model: &str) -> Self {
        let lower = message.to_ascii_lowercase();
        if lower.contains("does not support tools") {
            Self::ToolsUnsupported(model.to_owned())
        } else if status == 404 && lower.contains("not found") {
            Self::ModelNotFound(model.to_owned())
        } else if status == 429 {
            Self::RateLimited
        } else if status >= 500 {
            Self::Server { status, message }
        } else {
            Self::Rejected { status, message }
        }
    }

    /// Classifies a transport error.
    pub(crate) fn from_reqwest(error: &reqwest::Error, streaming: bool) -> Self {
        if error.is_timeout() {
            Self::Timeout
        } else if error.is_connect() {
            Self::Unreachable(error.to_string())
        } else if streaming || error.is_body() {
            Self::StreamCut
        } else if error.is_decode() {
            Self::Protocol(error.to_string())
        } else {
            Self::Unreachable(error.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ollama_error_bodies_are_classified() {
        let missing = LlmError::from_status(
            404,
            "model \"x\" not found, try pulling it first".into(),
            "x",
        );
        assert_eq!(missing, LlmError::ModelNotFound("x".into()));
        assert!(!missing.is_transient());
        let tools = LlmError::from_status(
            400,
            "registry.ollama.ai/library/x does not support tools".into(),
            "x",
        );
        assert_eq!(tools, LlmError::ToolsUnsupported("x".into()));
        assert!(!tools.is_transient());
        assert!(LlmError::from_status(500, "boom".into(), "x").is_transient());
        assert!(LlmError::from_status(429, "slow down".into(), "x").is_transient());
        assert!(!LlmError::from_status(400, "bad".into(), "x").is_transient());
    }
}
