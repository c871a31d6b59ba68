//! `[pitches]`: the pitch generator's cache lifetime and the batch worker's limits.

use serde::{Deserialize, Serialize};

/// `[pitches]` (environment: `SWITCHBOARD_PITCHES__<KEY>`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct PitchesConfig {
    /// Days a generated pitch is served from the cache while nothing it depends on changed.
    pub cache_days: i64,
    /// Most contacts in one batch request.
    pub max_batch: usize,
    /// Pitches one batch job generates at once.
    pub concurrency: usize,
    /// Extra attempts per batch item after a transient model failure (on top of the model
    /// client's own retries), with exponential backoff.
    pub item_retries: usize,
    /// First backoff delay between item attempts, in milliseconds.
    pub retry_min_delay_ms: u64,
    /// Seconds a worker's hold on a job lasts without renewal; a job whose lease ran out is
    /// resumed by the next node to start.
    pub lease_secs: i64,
    /// Whether this node resumes orphaned batch jobs at start-up.
    pub resume_on_start: bool,
}

impl Default for PitchesConfig {
    fn default() -> Self {
        Self {
            cache_days: 30,
            max_batch: 1000,
            concurrency: 3,
            item_retries: 2,
            retry_min_delay_ms: 500,
            lease_secs: 120,
            resume_on_start: true,
        }
    }
}
