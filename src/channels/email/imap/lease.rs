//! Which node reads a mailbox: a Redis lease per channel, taken before connecting and renewed
//! while connected, so several nodes do not all hold IDLE connections to the same mailbox
//! (dedupe would absorb their repeats, but the connections and fetches would be wasted). A
//! crashed node's lease expires after `LEASE`.

use redis::Script;
use std::sync::LazyLock;
use std::time::Duration;

use crate::context::AppContext;
use crate::domain::ChannelId;

/// How long a node's claim on a mailbox lasts without renewal.
pub const LEASE: Duration = Duration::from_secs(90);

// Takes or renews the lease: KEYS[1] lease key, ARGV[1] holder, ARGV[2] ttl ms. 1 if held.
static LEASE_SCRIPT: LazyLock<Script> = LazyLock::new(|| {
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

/// Takes or renews this node's lease on `channel`'s mailbox; `false` when another node holds it.
pub async fn hold(ctx: &AppContext, channel: ChannelId) -> Result<bool, redis::RedisError> {
    let mut redis = ctx.redis();
    let held: i64 = LEASE_SCRIPT
        .key(ctx.redis_key(&format!("email:{channel}:imap")))
        .arg(ctx.hub().node_id().to_string())
        .arg(LEASE.as_millis() as u64)
        .invoke_async(&mut redis)
        .await?;
    Ok(held == 1)
}
