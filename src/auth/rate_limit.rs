//! Per-credential request limit: a fixed one-minute window counted in Redis, so every node of a
//! deployment shares the budget.

use crate::context::AppContext;

/// The caller spent its budget; retry after this many seconds.
#[derive(Debug, thiserror::Error)]
#[error("rate limit exceeded; retry in {retry_after_secs}s")]
pub struct RateLimited {
    /// Seconds until the window resets.
    pub retry_after_secs: u64,
}

/// Counts one request for `credential` and refuses it past the configured limit.
pub async fn check(ctx: &AppContext, credential: &str) -> Result<(), CheckError> {
    let limit = ctx.config().server.rate_limit_per_minute;
    if limit == 0 {
        return Ok(());
    }
    let now = chrono::Utc::now().timestamp();
    let window = now / 60;
    let key = ctx.redis_key(&format!("ratelimit:{credential}:{window}"));
    let mut redis = ctx.redis();
    let (count,): (u64,) = redis::pipe()
        .incr(&key, 1)
        .expire(&key, 61)
        .ignore()
        .query_async(&mut redis)
        .await?;
    if count > u64::from(limit) {
        return Err(CheckError::Limited(RateLimited {
            retry_after_secs: (60 - now % 60) as u64,
        }));
    }
    Ok(())
}

/// Why `check` refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// Over the limit.
    #[error(transparent)]
    Limited(#[from] RateLimited),
    /// Redis failed.
    #[error(transparent)]
    Redis(#[from] redis::RedisError),
}
