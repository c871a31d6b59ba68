//! Whether the agents can reach their model right now, as the agents API and the inbox show it:
//! degraded while the circuit breaker is open (the model kept failing) or while the model
//! server does not answer a cheap probe. Probes bypass the breaker and the concurrency limit
//! (they must not count as model calls) and are cached briefly, so listing agents never waits
//! on the model server more than once per [`PROBE_TTL`].

use serde::Serialize;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use utoipa::ToSchema;

use super::{BreakerState, LlmClient};
use crate::config::LlmApi;

/// How long one probe's answer stands.
pub const PROBE_TTL: Duration = Duration::from_secs(10);

/// How long a probe waits for the model server.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Ok or degraded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    /// The model answers.
    Ok,
    /// Turns hand off to humans until the model is back.
    Degraded,
}

/// The agents' health, with the reason when degraded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ModelHealth {
    /// Ok or degraded.
    pub status: HealthStatus,
    /// Why degraded (`null` when ok), e.g. "model server unreachable".
    pub reason: Option<String>,
}

impl ModelHealth {
    fn ok() -> Self {
        Self {
            status: HealthStatus::Ok,
            reason: None,
        }
    }

    fn degraded(reason: impl Into<String>) -> Self {
        Self {
            status: HealthStatus::Degraded,
            reason: Some(reason.into()),
        }
    }
}

/// The last probe's answer and when it was taken.
#[derive(Debug, Default)]
pub(super) struct ProbeCache(Mutex<Option<(Instant, bool)>>);

impl LlmClient {
    /// The agents' health now (see the module docs).
    pub async fn health(&self) -> ModelHealth {
        if self.breaker_state() == BreakerState::Open {
            return ModelHealth::degraded(
                "circuit breaker open: the model server kept failing; turns hand off to a human",
            );
        }
        if self.reachable().await {
            ModelHealth::ok()
        } else {
            ModelHealth::degraded(format!(
                "model server unreachable at {}",
                self.config().base_url
            ))
        }
    }

    async fn reachable(&self) -> bool {
        let cache = &self.inner.probe.0;
        let cached = *cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((at, up)) = cached
            && at.elapsed() < PROBE_TTL
        {
            return up;
        }
        let path = match self.config().api {
            LlmApi::Ollama => "/api/version",
            LlmApi::Openai => "/v1/models",
        };
        // Any HTTP answer (even a 404) means the server is there; only no answer is down.
        let up = self
            .inner
            .http
            .get(self.url(path))
            .timeout(PROBE_TIMEOUT)
            .send()
            .await
            .is_ok();
        *cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((Instant::now(), up));
        up
    }
}
