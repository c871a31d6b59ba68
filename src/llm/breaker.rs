//! A circuit breaker in front of the model server. After `threshold` consecutive failed requests
//! it opens: calls fail at once with `CircuitOpen` (turns become hand-offs, the inbox shows the
//! agent as degraded) instead of piling onto a dead server. After the cooldown it is half-open:
//! one probe goes through; its success closes the breaker, its failure opens it again.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::LlmError;

/// What the breaker currently does with calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// Calls are refused until the cooldown has passed.
    Open,
    /// The cooldown has passed; the next call is a probe.
    HalfOpen,
}

/// Counts consecutive failures; shared by every call of one client.
#[derive(Debug)]
pub struct CircuitBreaker {
    threshold: u32,
    cooldown: Duration,
    state: Mutex<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    failures: u32,
    opened_at: Option<Instant>,
    /// A probe is in flight since then; another is allowed only after a further cooldown
    /// (a probe whose caller was cancelled never reports back).
    probing_since: Option<Instant>,
}

impl CircuitBreaker {
    /// A closed breaker opening after `threshold` (at least 1) consecutive failures.
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            cooldown,
            state: Mutex::new(Counters::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counters> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Lets a call through, or refuses it with `CircuitOpen`.
    pub fn admit(&self) -> Result<(), LlmError> {
        let mut state = self.lock();
        let Some(opened_at) = state.opened_at else {
            return Ok(());
        };
        if opened_at.elapsed() < self.cooldown {
            return Err(LlmError::CircuitOpen);
        }
        match state.probing_since {
            Some(since) if since.elapsed() < self.cooldown => Err(LlmError::CircuitOpen),
            _ => {
                state.probing_since = Some(Instant::now());
                Ok(())
            }
        }
    }

    /// The server answered: close.
    pub fn record_success(&self) {
        *self.lock() = Counters::default();
    }

    /// The call failed in a way that says the server is unwell.
    pub fn record_failure(&self) {
        let mut state = self.lock();
        state.failures = state.failures.saturating_add(1);
        if state.probing_since.take().is_some() || state.failures >= self.threshold {
            state.opened_at = Some(Instant::now());
        }
    }

    /// The current state, for health reporting.
    pub fn state(&self) -> BreakerState {
        let state = self.lock();
        match state.opened_at {
            None => BreakerState::Closed,
            Some(at) if at.elapsed() < self.cooldown => BreakerState::Open,
            Some(_) => BreakerState::HalfOpen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_the_threshold_and_a_successful_probe_closes_it() {
        let breaker = CircuitBreaker::new(2, Duration::ZERO);
        breaker.record_failure();
        assert_eq!(breaker.state(), BreakerState::Closed);
        breaker.record_failure();
        assert_ne!(breaker.state(), BreakerState::Closed);
        // Zero cooldown: half-open at once; one probe allowed, a second refused.
        assert!(breaker.admit().is_ok());
        breaker.record_success();
        assert_eq!(breaker.state(), BreakerState::Closed);
    }

    #[test]
    fn an_open_breaker_refuses_calls_during_the_cooldown() {
        let breaker = CircuitBreaker::new(1, Duration::from_secs(3600));
        breaker.record_failure();
        assert_eq!(breaker.state(), BreakerState::Open);
        assert_eq!(breaker.admit(), Err(LlmError::CircuitOpen));
    }

    #[test]
    fn a_failed_probe_opens_it_again() {
        let breaker = CircuitBreaker::new(5, Duration::ZERO);
        for _ in 0..5 {
            breaker.record_failure();
        }
        assert!(breaker.admit().is_ok());
        breaker.record_failure();
        assert_ne!(breaker.state(), BreakerState::Closed);
    }
}
