//! The outbox dispatcher: delivers what committed transactions queued in the `outbox` table
//! (an operator's reply, an agent's message, a campaign step) through the sender registered for
//! the row's `kind`. It sits at the far end of the spine: API handlers and actors commit a message
//! together with its outbox row, and this task, one per node, turns rows into channel calls.
//!
//! - Claims rows with `FOR UPDATE SKIP LOCKED` under a lease, so nodes share the work and a
//!   crashed node's rows come back when its lease expires.
//! - Keeps each ordering key (one chat) in order: a row waits until the earlier ones are sent or
//!   dead.
//! - Retries transient failures with capped exponential backoff and jitter (or the channel's own
//!   `retry_after`); dead-letters permanent failures and rows out of attempts.
//! - Delivery is at least once (see `OutboundSender`).

mod dispatcher;
mod sender;

pub use dispatcher::{DispatchError, OutboxDispatcher, OutboxHandle, OutboxWaker};
pub use sender::{Delivery, OutboundSender, SendError, SenderRegistry};

use std::time::Duration;

/// How a node's dispatcher paces itself.
#[derive(Debug, Clone)]
pub struct OutboxConfig {
    /// How often to look for due rows when nobody called `OutboxWaker::notify` (retries that
    /// became due, other nodes' work, expired leases).
    pub poll_interval: Duration,
    /// Rows claimed per round.
    pub batch_size: u32,
    /// Rows of one round sent at the same time (each is a different chat, so order holds).
    pub concurrency: usize,
    /// How long a claim lasts. A send gets at most half of it; the rest is margin to record the
    /// outcome before another node may take the row over.
    pub lease: Duration,
    /// Attempts before a row is dead-lettered.
    pub max_attempts: u32,
    /// Delay before the first retry; doubles with each attempt.
    pub base_backoff: Duration,
    /// Longest delay between attempts.
    pub max_backoff: Duration,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            batch_size: 32,
            concurrency: 8,
            lease: Duration::from_secs(60),
            max_attempts: 8,
            base_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(600),
        }
    }
}

/// The delay before retrying after failed attempt number `attempt` (1-based): `base` doubled per
/// attempt, capped at `max`, with "equal jitter": half of it fixed, the other half scaled by
/// `jitter` (a random number in `[0, 1]`), so retries of many rows that failed together spread
/// out instead of hitting a recovering channel at once.
pub fn backoff(attempt: u32, base: Duration, max: Duration, jitter: f64) -> Duration {
    let doublings = attempt.saturating_sub(1).min(31);
    let full = base.saturating_mul(1u32 << doublings).min(max);
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let half = full / 2;
    let spread = full - half;
    let extra = Duration::try_from_secs_f64(spread.as_secs_f64() * jitter)
        .unwrap_or(spread)
        .min(spread);
    half.saturating_add(extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: Duration = Duration::from_secs(2);
    const MAX: Duration = Duration::from_secs(60);

    #[test]
    fn backoff_doubles_per_attempt_within_jitter_bounds() {
        assert_eq!(backoff(1, BASE, MAX, 1.0), Duration::from_secs(2));
        assert_eq!(backoff(1, BASE, MAX, 0.0), Duration::from_secs(1));
        assert_eq!(backoff(2, BASE, MAX, 1.0), Duration::from_secs(4));
        assert_eq!(backoff(3, BASE, MAX, 1.0), Duration::from_secs(8));
        assert_eq!(backoff(3, BASE, MAX, 0.5), Duration::from_secs(6));
    }

    #[test]
    fn backoff_is_capped_and_never_overflows() {
        assert_eq!(backoff(6, BASE, MAX, 1.0), MAX, "2s * 32 = 64s, capped");
        assert_eq!(backoff(u32::MAX, BASE, MAX, 1.0), MAX);
        assert_eq!(backoff(u32::MAX, BASE, MAX, 0.0), MAX / 2);
        assert_eq!(
            backoff(40, Duration::MAX, Duration::MAX, 1.0),
            Duration::MAX
        );
    }

    #[test]
    fn backoff_tolerates_out_of_range_jitter() {
        assert_eq!(backoff(1, BASE, MAX, 7.0), BASE);
        assert_eq!(backoff(1, BASE, MAX, -1.0), BASE / 2);
        assert_eq!(backoff(1, BASE, MAX, f64::NAN), BASE / 2);
        assert_eq!(
            backoff(0, BASE, MAX, 1.0),
            BASE,
            "attempt 0 counts as the first"
        );
    }
}
