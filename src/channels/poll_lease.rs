//! One poller per channel across nodes: a Redis lease a polling task takes before each round and
//! renews while it works. Telegram allows one `getUpdates` consumer per bot, and a mailbox read by
//! several nodes would only waste connections and fetches. The holder is the node, so a poller
//! restarted on the same node takes over at once, while another node waits for a crashed node's
//! lease to expire.

use redis::Script;
use std::sync::LazyLock;
use std::time::Duration;

use crate::context::AppContext;

/// How long a node's claim lasts without renewal.
pub const LEASE: Duration = Duration::from_secs(90);

// Takes or renews the lease: KEYS[1] lease key, ARGV[1] holder, ARGV[2] ttl ms. 1 if held.
static HOLD_SCRIPT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] or not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"#,
    )
});

// Releases the lease if still ours: KEYS[1] lease key, ARGV[1] holder.
static RELEASE_SCRIPT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"#,
    )
});

/// This node's claim on polling one thing (a bot, a mailbox).
pub struct PollLease {
    ctx: AppContext,
    key: String,
    holder: String,
}

impl PollLease {
    /// The lease named `scope` (under the configured Redis prefix), held by this node.
    pub fn new(ctx: &AppContext, scope: &str) -> Self {
        Self {
            key: ctx.redis_key(scope),
            holder: ctx.hub().node_id().to_string(),
            ctx: ctx.clone(),
        }
    }

    /// Takes or renews the lease for [`LEASE`]; `false` when another node holds it.
    pub async fn hold(&self) -> Result<bool, redis::RedisError> {
        let held: i64 = HOLD_SCRIPT
            .key(&self.key)
            .arg(&self.holder)
            .arg(LEASE.as_millis() as u64)
            .invoke_async(&mut self.ctx.redis())
            .await?;
        Ok(held == 1)
    }

    /// Gives the lease up at once if still ours (a poller that stops, rather than crashes,
    /// hands over without making other nodes wait for expiry).
    pub async fn release(&self) -> Result<(), redis::RedisError> {
        let _: i64 = RELEASE_SCRIPT
            .key(&self.key)
            .arg(&self.holder)
            .invoke_async(&mut self.ctx.redis())
            .await?;
        Ok(())
    }
}
