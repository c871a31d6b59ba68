//! The turn lease: a chat's agent turns run on one node at a time. A node takes the chat's lease
//! in Redis (`SET NX PX`) before a turn and gets a fencing number (`INCR`) with it; the decision
//! is stored only if that number is newer than the chat's `turn_fence` in PostgreSQL, so a node
//! whose lease expired mid-turn (a pause, a partition) cannot write after the node that took over.

use redis::Script;
use std::time::Duration;

use crate::domain::ChatId;

/// Takes the lease (or renews it when this holder has it) and returns a fresh fence, or 0 when
/// another holder has it.
const ACQUIRE: &str = r#"
local current = redis.call('GET', KEYS[1])
if current == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
elseif current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
else
  return 0
end
return redis.call('INCR', KEYS[2])
"#;

/// Releases the lease only if this holder still has it.
const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"#;

/// One node's handle on chat leases.
#[derive(Clone)]
pub struct TurnLease {
    redis: redis::aio::ConnectionManager,
    key_prefix: String,
    holder: String,
    ttl: Duration,
}

impl TurnLease {
    /// Leases held by `holder` (this node's id), expiring `ttl` after being taken.
    pub fn new(
        redis: redis::aio::ConnectionManager,
        key_prefix: String,
        holder: String,
        ttl: Duration,
    ) -> Self {
        Self {
            redis,
            key_prefix,
            holder,
            ttl,
        }
    }

    fn keys(&self, chat: ChatId) -> (String, String) {
        (
            format!("{}chat:{chat}:lease", self.key_prefix),
            format!("{}chat:{chat}:fence", self.key_prefix),
        )
    }

    /// The fence of a newly taken (or renewed) lease, or `None` while another node holds it.
    pub async fn acquire(&self, chat: ChatId) -> redis::RedisResult<Option<i64>> {
        let (lease, fence) = self.keys(chat);
        let ttl_ms = u64::try_from(self.ttl.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let fence: i64 = Script::new(ACQUIRE)
            .key(lease)
            .key(fence)
            .arg(&self.holder)
            .arg(ttl_ms)
            .invoke_async(&mut self.redis.clone())
            .await?;
        Ok((fence > 0).then_some(fence))
    }

    /// Gives the lease back if this node still holds it.
    pub async fn release(&self, chat: ChatId) -> redis::RedisResult<()> {
        let (lease, _) = self.keys(chat);
        let _: i64 = Script::new(RELEASE)
            .key(lease)
            .arg(&self.holder)
            .invoke_async(&mut self.redis.clone())
            .await?;
        Ok(())
    }
}
