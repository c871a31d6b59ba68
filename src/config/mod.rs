//! Typed configuration, loaded once at start-up and passed down; never a global.
//!
//! Sources, later ones winning: built-in defaults, `switchboard.toml` (or the file named by
//! `SWITCHBOARD_CONFIG`), then environment variables `SWITCHBOARD_<SECTION>__<KEY>` (for example
//! `SWITCHBOARD_SERVER__BIND`). The well-known `DATABASE_URL`, `REDIS_URL`,
//! `SWITCHBOARD_JWT_SECRET` and `SWITCHBOARD_OLLAMA_URL` are honoured as shortcuts.
//! Secrets are accepted only from the environment.

mod sensitive;

pub use sensitive::Sensitive;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// Everything the process needs to know about its surroundings.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Config {
    /// HTTP listener and public address.
    pub server: ServerConfig,
    /// PostgreSQL.
    pub database: DatabaseConfig,
    /// Redis.
    pub redis: RedisConfig,
    /// Login tokens.
    pub auth: AuthConfig,
    /// The model server.
    pub llm: LlmConfig,
    /// Where the declarative folders live.
    pub paths: PathsConfig,
    /// The email edge (unsubscribe key, inbound limits).
    pub email: crate::channels::email::EmailConfig,
    /// The pitch generator and its batch jobs.
    pub pitches: crate::pitches::PitchesConfig,
}

/// `[server]`: where the HTTP API listens.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerConfig {
    /// `SWITCHBOARD_SERVER__BIND`, default `127.0.0.1:8080`.
    pub bind: String,
    /// The URL people and webhooks reach us at (links in emails, unsubscribe URLs).
    pub public_url: String,
    /// Origins allowed to open the WebSocket inbox.
    pub allowed_origins: Vec<String>,
    /// Seconds in-flight requests get to finish on SIGTERM.
    pub shutdown_timeout_secs: u64,
    /// Requests per minute per credential before 429; 0 disables the limit.
    pub rate_limit_per_minute: u32,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// Open connections (HTTP and inbox WebSockets) each worker accepts before it stops
    /// accepting; raise it with the process's file descriptor limit.
    pub max_connections_per_worker: usize,
    /// Events queued for one inbox connection before it counts as a slow consumer and is cut
    /// off (it resumes by cursor).
    pub inbox_queue_capacity: usize,
    /// Messages and operator actions queued for one chat's actor before senders are refused
    /// (HTTP 429 `chat_busy` / a WS error frame) rather than queued without bound.
    pub chat_mailbox_capacity: usize,
    /// Whether this node delivers queued chat messages through the channels (Telegram, SMTP,
    /// the web). Turn it off on nodes that should only serve the API; another node delivers.
    pub deliver_messages: bool,
    /// Whether this node runs the pollers of polling channels (Telegram long polling). Each bot
    /// is polled by one node at a time whatever this says (a Redis lease); turn it off on nodes
    /// that should only serve the API.
    pub poll_channels: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            public_url: "http://127.0.0.1:8080".into(),
            allowed_origins: vec![
                "http://127.0.0.1:8080".into(),
                "http://localhost:8080".into(),
            ],
            shutdown_timeout_secs: 30,
            rate_limit_per_minute: 1200,
            workers: 0,
            max_connections_per_worker: 50_000,
            inbox_queue_capacity: 512,
            chat_mailbox_capacity: 64,
            deliver_messages: true,
            poll_channels: true,
        }
    }
}

/// `[database]`: the PostgreSQL every node shares.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DatabaseConfig {
    /// `DATABASE_URL`; it may hold a password, so it is never logged.
    pub url: Sensitive<String>,
    /// Connections in this node's pool.
    pub pool_size: usize,
    /// How long a request waits for a pooled connection before failing with 503.
    pub pool_timeout_ms: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: Sensitive::default(),
            pool_size: 16,
            pool_timeout_ms: 5_000,
        }
    }
}

impl DatabaseConfig {
    /// The wait for a pooled connection.
    pub fn pool_timeout(&self) -> Duration {
        Duration::from_millis(self.pool_timeout_ms)
    }
}

/// `[redis]`: short-term memory, rate limits, pub/sub and leases.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RedisConfig {
    /// `REDIS_URL`.
    pub url: Sensitive<String>,
    /// Prepended to every key, so several deployments (or test runs) can share one Redis.
    pub key_prefix: String,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            url: Sensitive::default(),
            key_prefix: "sb:".into(),
        }
    }
}

/// `[auth]`: tokens for people (API keys need no configuration).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthConfig {
    /// `SWITCHBOARD_JWT_SECRET`: signs access tokens; at least 32 bytes.
    pub jwt_secret: Sensitive<String>,
    /// Lifetime of an access token.
    pub access_token_ttl_secs: i64,
    /// Lifetime of a refresh token.
    pub refresh_token_ttl_secs: i64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            jwt_secret: Sensitive::default(),
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_secs: 30 * 24 * 3600,
        }
    }
}

/// `[llm]`: the local model server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LlmConfig {
    /// `SWITCHBOARD_OLLAMA_URL`, default `http://127.0.0.1:11434`.
    pub base_url: String,
    /// Embedding model; its dimension must match the `agent_memories.embedding` column.
    pub embedding_model: String,
    /// Dimension the embedding column was created with.
    pub embedding_dimensions: usize,
    /// Per-request timeout.
    pub timeout_secs: u64,
    /// `ollama` (native `/api/chat`, `/api/embed`) or `openai` (`/v1/chat/completions`,
    /// `/v1/embeddings`, for llama.cpp / vLLM servers). `SWITCHBOARD_LLM__API`.
    pub api: LlmApi,
    /// Chat model for agents whose definition names none. `SWITCHBOARD_LLM__CHAT_MODEL`.
    pub chat_model: String,
    /// Requests in flight to the model server at once, so it is not flooded.
    pub max_concurrency: usize,
    /// Retries of a transient failure (connect, timeout, 5xx, 429); permanent ones never retry.
    pub max_retries: usize,
    /// First retry delay; later ones back off exponentially.
    pub retry_min_delay_ms: u64,
    /// Consecutive failed requests that open the circuit breaker.
    pub breaker_failures: u32,
    /// How long an open breaker refuses calls before letting one probe through (half-open).
    pub breaker_cooldown_ms: u64,
    /// TCP connect timeout.
    pub connect_timeout_ms: u64,
}

/// Which wire protocol the model server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LlmApi {
    /// Ollama's native API.
    #[default]
    Ollama,
    /// The OpenAI-compatible API (llama.cpp server, vLLM, Ollama's `/v1`).
    Openai,
}

impl Default for LlmConfig {
    fn default() -> Self {
        Self {
            base_url: "http://127.0.0.1:11434".into(),
            embedding_model: "all-minilm".into(),
            embedding_dimensions: 384,
            timeout_secs: 60,
            api: LlmApi::Ollama,
            chat_model: "llama3.1:8b".into(),
            max_concurrency: 4,
            max_retries: 2,
            retry_min_delay_ms: 250,
            breaker_failures: 5,
            breaker_cooldown_ms: 30_000,
            connect_timeout_ms: 3_000,
        }
    }
}

/// `[paths]`: the declarative folders, relative to the working directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct PathsConfig {
    /// `agents/*.toml`.
    pub agents_dir: PathBuf,
    /// `channels/*.toml`.
    pub channels_dir: PathBuf,
    /// `prompts/*.hbs`.
    pub prompts_dir: PathBuf,
}

impl Default for PathsConfig {
    fn default() -> Self {
        Self {
            agents_dir: "agents".into(),
            channels_dir: "channels".into(),
            prompts_dir: "prompts".into(),
        }
    }
}

/// Why configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file or an environment variable has the wrong shape.
    #[error("invalid configuration: {0}")]
    Invalid(#[from] Box<figment::Error>),
    /// A required value is missing or unusable.
    #[error("{0}")]
    Missing(String),
}

impl Config {
    /// Loads from the default file location and the process environment.
    pub fn load() -> Result<Self, ConfigError> {
        let file =
            std::env::var("SWITCHBOARD_CONFIG").unwrap_or_else(|_| "switchboard.toml".into());
        Self::from_figment(
            Figment::from(Serialized::defaults(Config::default()))
                .merge(Toml::file(file))
                .merge(Env::prefixed("SWITCHBOARD_").split("__").ignore(&[
                    "CONFIG",
                    "JWT_SECRET",
                    "OLLAMA_URL",
                ]))
                .merge(
                    Env::raw()
                        .only(&["DATABASE_URL"])
                        .map(|_| "database.url".into()),
                )
                .merge(Env::raw().only(&["REDIS_URL"]).map(|_| "redis.url".into()))
                .merge(
                    Env::raw()
                        .only(&["SWITCHBOARD_JWT_SECRET"])
                        .map(|_| "auth.jwt_secret".into()),
                )
                .merge(
                    Env::raw()
                        .only(&["SWITCHBOARD_OLLAMA_URL"])
                        .map(|_| "llm.base_url".into()),
                ),
        )
    }

    fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        figment
            .extract()
            .map_err(|e| ConfigError::Invalid(Box::new(e)))
    }

    /// Checks what `serve` cannot run without, naming the variable to set.
    pub fn require_runtime(&self) -> Result<(), ConfigError> {
        if self.database.url.expose().is_empty() {
            return Err(ConfigError::Missing(
                "DATABASE_URL is not set: set it to a PostgreSQL with the vector extension (pgvector), or run deploy/dev/run".into(),
            ));
        }
        if self.redis.url.expose().is_empty() {
            return Err(ConfigError::Missing(
                "REDIS_URL is not set: set it to a Redis server, e.g. redis://127.0.0.1:6379/"
                    .into(),
            ));
        }
        if self.auth.jwt_secret.expose().len() < 32 {
            return Err(ConfigError::Missing(
                "SWITCHBOARD_JWT_SECRET must be set to at least 32 random bytes (e.g. `openssl rand -base64 48`)".into(),
            ));
        }
        Ok(())
    }
}
