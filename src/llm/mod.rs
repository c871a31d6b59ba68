//! The model server boundary. `LlmClient` speaks Ollama's native API (`/api/chat` streamed as
//! NDJSON, `/api/embed`) or an OpenAI-compatible one (`/v1/chat/completions`, `/v1/embeddings`),
//! chosen by `[llm] api`. Every request goes through the same guard: the circuit breaker, a
//! concurrency limit (so the model server is not flooded), a timeout, and bounded retries with
//! backoff for transient failures only. Wire types stay private to `ollama.rs` / `openai.rs`.

mod breaker;
mod error;
mod health;
mod http;
mod ollama;
mod openai;

pub use breaker::{BreakerState, CircuitBreaker};
pub use error::LlmError;
pub use health::{HealthStatus, ModelHealth};

use backon::{ExponentialBuilder, Retryable};
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

use crate::config::{LlmApi, LlmConfig};
use crate::memory::{EmbedError, Embedder};
use crate::tools::{ToolCall, ToolSpec};

/// Who said a message in a chat request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions.
    System,
    /// The other side (the contact, or the supervisor speaking for them).
    User,
    /// The model.
    Assistant,
    /// A tool's result.
    Tool,
}

/// One message of a chat request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Speaker.
    pub role: Role,
    /// Text.
    pub content: String,
    /// Calls the assistant made in this message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For a tool result: the tool's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
    /// For a tool result: the call it answers (OpenAI-compatible servers need it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl ChatMessage {
    /// A plain message.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_name: None,
            tool_call_id: None,
        }
    }
}

/// A chat request.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    /// Model name as the server knows it.
    pub model: String,
    /// The conversation, system prompt first.
    pub messages: Vec<ChatMessage>,
    /// Tools the model may call (empty: none offered).
    pub tools: Vec<ToolSpec>,
    /// Sampling temperature.
    pub temperature: f32,
    /// Most tokens to generate.
    pub max_tokens: u32,
}

/// A complete reply (never a partial one).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChatResponse {
    /// The text.
    pub content: String,
    /// Tools the model wants called.
    pub tool_calls: Vec<ToolCall>,
    /// Tokens read.
    pub prompt_tokens: u32,
    /// Tokens written.
    pub completion_tokens: u32,
}

/// The model server client; cheap to clone (shares its breaker, limit and connection pool).
#[derive(Clone)]
pub struct LlmClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    config: LlmConfig,
    permits: Semaphore,
    breaker: CircuitBreaker,
    probe: health::ProbeCache,
}

impl std::fmt::Debug for LlmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmClient")
            .field("base_url", &self.inner.config.base_url)
            .field("api", &self.inner.config.api)
            .field("breaker", &self.inner.breaker.state())
            .finish()
    }
}

impl LlmClient {
    /// Builds the client; makes no request.
    pub fn new(config: &LlmConfig) -> Result<Self, LlmError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(config.connect_timeout_ms.max(1)))
            .timeout(Duration::from_secs(config.timeout_secs.max(1)))
            .build()
            .map_err(|e| LlmError::Protocol(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                permits: Semaphore::new(config.max_concurrency.max(1)),
                breaker: CircuitBreaker::new(
                    config.breaker_failures,
                    Duration::from_millis(config.breaker_cooldown_ms),
                ),
                config: config.clone(),
                probe: health::ProbeCache::default(),
            }),
        })
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &LlmConfig {
        &self.inner.config
    }

    /// The breaker's state: `Open` means agents are degraded and turns hand off.
    pub fn breaker_state(&self) -> BreakerState {
        self.inner.breaker.state()
    }

    /// Dimension of the vectors `embed` returns (the configured one; replies are checked).
    pub fn embedding_dimensions(&self) -> usize {
        self.inner.config.embedding_dimensions
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.inner.config.base_url.trim_end_matches('/'))
    }

    /// One complete chat reply. A stream cut before its final frame is an error, so no partial
    /// text ever comes back.
    pub async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        self.guarded(|| async {
            match self.inner.config.api {
                LlmApi::Ollama => {
                    ollama::chat(&self.inner.http, &self.url("/api/chat"), request).await
                }
                LlmApi::Openai => {
                    openai::chat(&self.inner.http, &self.url("/v1/chat/completions"), request).await
                }
            }
        })
        .await
    }

    /// Embeddings of `inputs` with the configured embedding model, each of the configured
    /// dimension (a reply of another dimension is refused, so rows never mix dimensions).
    pub async fn embed(&self, inputs: &[String]) -> Result<Vec<Vec<f32>>, LlmError> {
        let model = &self.inner.config.embedding_model;
        let vectors = self
            .guarded(|| async {
                match self.inner.config.api {
                    LlmApi::Ollama => {
                        ollama::embed(&self.inner.http, &self.url("/api/embed"), model, inputs)
                            .await
                    }
                    LlmApi::Openai => {
                        openai::embed(&self.inner.http, &self.url("/v1/embeddings"), model, inputs)
                            .await
                    }
                }
            })
            .await?;
        let expected = self.inner.config.embedding_dimensions;
        if vectors.len() != inputs.len() {
            return Err(LlmError::Protocol(format!(
                "asked for {} embeddings, got {}",
                inputs.len(),
                vectors.len()
            )));
        }
        if let Some(bad) = vectors.iter().find(|v| v.len() != expected) {
            return Err(LlmError::Protocol(format!(
                "embedding model {model:?} returned {} dimensions, the configuration says {expected}",
                bad.len()
            )));
        }
        Ok(vectors)
    }

    /// Breaker, concurrency limit and retries around one request.
    async fn guarded<T, F, Fut>(&self, op: F) -> Result<T, LlmError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, LlmError>>,
    {
        let config = &self.inner.config;
        let backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(config.retry_min_delay_ms))
            .with_max_delay(Duration::from_secs(5))
            .with_max_times(config.max_retries)
            .with_jitter();
        let op = &op;
        (move || self.attempt(op))
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .when(LlmError::is_transient)
            .notify(|error, after| {
                tracing::warn!(
                    llm.error = error.code(),
                    retry_in_ms = after.as_millis() as u64,
                    "model call failed; retrying"
                );
            })
            .await
    }

    async fn attempt<T, F, Fut>(&self, op: &F) -> Result<T, LlmError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, LlmError>>,
    {
        self.inner.breaker.admit()?;
        let _permit = self
            .inner
            .permits
            .acquire()
            .await
            .map_err(|_| LlmError::Unreachable("the client is shutting down".into()))?;
        let result = op().await;
        match &result {
            Err(error) if error.is_transient() => self.inner.breaker.record_failure(),
            // The server answered (even if with a permanent error): it is alive.
            _ => self.inner.breaker.record_success(),
        }
        result
    }
}

impl Embedder for LlmClient {
    fn embed(&self, inputs: Vec<String>) -> BoxFuture<'static, Result<Vec<Vec<f32>>, EmbedError>> {
        let client = self.clone();
        Box::pin(async move {
            LlmClient::embed(&client, &inputs)
                .await
                .map_err(|e| match e {
                    e if e.is_transient() || e == LlmError::CircuitOpen => {
                        EmbedError::Unavailable(e.to_string())
                    }
                    e => EmbedError::Failed(e.to_string()),
                })
        })
    }

    fn dimensions(&self) -> Option<usize> {
        Some(self.embedding_dimensions())
    }
}
