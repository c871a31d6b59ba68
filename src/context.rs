//! `AppContext`: the one cloneable bundle of shared handles (config, database pool, Redis, token
//! signer, metrics, the model client) that handlers, actors and tests receive. Built once at
//! start-up.

use redis::aio::ConnectionManager;
use std::sync::Arc;

use crate::auth::tokens::TokenSigner;
use crate::config::Config;
use crate::db::{DbPool, build_pool};
use crate::inbox::{EventPublisher, InboxHub};
use crate::llm::LlmClient;
use crate::telemetry::Metrics;

/// Shared handles; cloning is cheap (everything inside is reference counted).
#[derive(Clone)]
pub struct AppContext {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    db: DbPool,
    redis: ConnectionManager,
    tokens: TokenSigner,
    metrics: Metrics,
    hub: InboxHub,
    publisher: EventPublisher,
    llm: LlmClient,
    agents: crate::agents::catalog::AgentCatalog,
}

impl AppContext {
    /// Connects to Redis (eagerly, so a wrong `REDIS_URL` fails at start-up) and builds the pool.
    pub async fn connect(config: Config) -> anyhow::Result<Self> {
        config.require_runtime()?;
        let db = build_pool(&config.database)?;
        let client = redis::Client::open(config.redis.url.expose().as_str())
            .map_err(|e| anyhow::anyhow!("REDIS_URL is not a valid Redis URL: {e}"))?;
        let redis = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            ConnectionManager::new(client),
        )
        .await
        .map_err(|_| anyhow::anyhow!("Redis at REDIS_URL did not answer within 5s"))?
        .map_err(|e| anyhow::anyhow!("cannot connect to Redis at REDIS_URL: {e}"))?;
        let tokens = TokenSigner::new(
            config.auth.jwt_secret.expose(),
            config.auth.access_token_ttl_secs,
        );
        let metrics = Metrics::install();
        let hub = InboxHub::new();
        let publisher =
            EventPublisher::new(redis.clone(), config.redis.key_prefix.clone(), hub.clone());
        let llm = LlmClient::new(&config.llm)
            .map_err(|e| anyhow::anyhow!("cannot build the model client: {e}"))?;
        let agents = crate::agents::catalog::AgentCatalog::load(&config.paths);
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                db,
                redis,
                tokens,
                metrics,
                hub,
                publisher,
                llm,
                agents,
            }),
        })
    }

    /// The configuration this process started with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The PostgreSQL pool.
    pub fn db(&self) -> &DbPool {
        &self.inner.db
    }

    /// A Redis handle (multiplexed and auto-reconnecting; clone per use).
    pub fn redis(&self) -> ConnectionManager {
        self.inner.redis.clone()
    }

    /// Prefixes a Redis key with this deployment's namespace.
    pub fn redis_key(&self, key: &str) -> String {
        format!("{}{key}", self.inner.config.redis.key_prefix)
    }

    /// Signs and verifies access tokens.
    pub fn tokens(&self) -> &TokenSigner {
        &self.inner.tokens
    }

    /// The Prometheus registry handle.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// This node's inbox fan-out.
    pub fn hub(&self) -> &InboxHub {
        &self.inner.hub
    }

    /// Announces committed inbox events to every node.
    pub fn publisher(&self) -> &EventPublisher {
        &self.inner.publisher
    }

    /// The one model client of this process: agent turns, tools, the memories API, follow-ups
    /// and summaries share its circuit breaker and concurrency limit, so the model server sees
    /// one bounded client and the breaker's state is the agents' health.
    pub fn llm(&self) -> &LlmClient {
        &self.inner.llm
    }

    /// `agents/*.toml` with their prompts as read at start-up: what every organisation's file
    /// agents are provisioned from (`crate::agents::provision`).
    pub fn agent_catalog(&self) -> &crate::agents::catalog::AgentCatalog {
        &self.inner.agents
    }

    /// Long-term memory embedding with the shared model client (cheap: shares the pool).
    pub fn long_term(&self) -> crate::memory::LongTermMemory {
        crate::memory::LongTermMemory::new(
            self.db().clone(),
            std::sync::Arc::new(self.llm().clone()),
        )
    }

    /// Starts this node's background work: the Redis listener that brings other nodes' inbox
    /// events to local sessions. Call once per process that serves clients.
    pub fn start_background(&self) -> anyhow::Result<()> {
        let client = redis::Client::open(self.config().redis.url.expose().as_str())?;
        self.hub()
            .spawn_redis_listener(client, self.config().redis.key_prefix.clone());
        Ok(())
    }

    /// Each chat's recent window in Redis (cheap: shares the Redis connection).
    pub fn short_term(&self) -> crate::memory::ShortTermMemory {
        crate::memory::ShortTermMemory::new(
            self.redis(),
            self.config().redis.key_prefix.clone(),
            crate::actors::chat::WINDOW_MESSAGES,
            crate::memory::ShortTermMemory::DEFAULT_TTL,
        )
    }

    /// Adds a committed message to its chat's short-term window; a failure only means the next
    /// read rebuilds the window from PostgreSQL.
    pub async fn remember_message(&self, message: &crate::db::models::Message) {
        if let Err(e) = self.short_term().append(message.chat_id, message).await {
            tracing::warn!(chat.id = %message.chat_id, error = %e, "appending to the short-term window failed");
        }
    }
}
