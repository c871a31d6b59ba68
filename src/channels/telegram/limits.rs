//! Telegram's send limits, shared by every node through Redis: about one message per second per
//! chat, twenty per minute per group, thirty per second per bot, and a bot-wide pause after a
//! 429 `retry_after`. One Lua script checks every applicable limit atomically with GCRA
//! (a "theoretical arrival time" per key, on Redis's own clock so nodes' clocks do not matter)
//! and takes a slot from all of them or from none.

use redis::Script;
use redis::aio::ConnectionManager;
use std::sync::LazyLock;
use std::time::Duration;

use crate::domain::ChannelId;

/// Spacing between messages to one chat (Telegram: about 1/s).
pub const PER_CHAT: Duration = Duration::from_millis(1000);
/// Spacing between messages to one group (Telegram: 20/min).
pub const PER_GROUP: Duration = Duration::from_millis(3000);
/// Spacing between messages of one bot (Telegram: about 30/s).
pub const PER_BOT: Duration = Duration::from_millis(34);

// KEYS[1]: the bot's pause key; KEYS[2..]: GCRA keys; ARGV[i]: spacing of KEYS[i+1] in ms.
// Returns 0 when a slot was taken, else the milliseconds to wait before asking again.
static ACQUIRE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local paused = redis.call('PTTL', KEYS[1])
if paused > 0 then return paused end
local wait = 0
local tats = {}
for i = 2, #KEYS do
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  if tat < now then tat = now end
  tats[i] = tat
  if tat - now > wait then wait = tat - now end
end
if wait > 0 then return wait end
for i = 2, #KEYS do
  local spacing = tonumber(ARGV[i - 1])
  redis.call('SET', KEYS[i], tats[i] + spacing, 'PX', spacing + 1000)
end
return 0
"#,
    )
});

/// The shared limiter of this deployment's bots.
#[derive(Clone)]
pub struct RateLimiter {
    redis: ConnectionManager,
    prefix: String,
}

impl RateLimiter {
    /// A limiter over `redis`, with keys under the deployment's `prefix`.
    pub fn new(redis: ConnectionManager, prefix: String) -> Self {
        Self { redis, prefix }
    }

    fn pause_key(&self, bot: ChannelId) -> String {
        format!("{}telegram:{bot}:paused", self.prefix)
    }

    /// Takes a send slot to `chat` (negative ids are groups) if every limit allows it now;
    /// otherwise returns how long to wait before asking again.
    pub async fn try_acquire(
        &self,
        bot: ChannelId,
        chat: i64,
    ) -> Result<Option<Duration>, redis::RedisError> {
        let mut invocation = ACQUIRE.prepare_invoke();
        invocation.key(self.pause_key(bot));
        invocation
            .key(format!("{}telegram:{bot}:bot", self.prefix))
            .arg(PER_BOT.as_millis() as u64);
        invocation
            .key(format!("{}telegram:{bot}:chat:{chat}", self.prefix))
            .arg(PER_CHAT.as_millis() as u64);
        if chat < 0 {
            invocation
                .key(format!("{}telegram:{bot}:group:{chat}", self.prefix))
                .arg(PER_GROUP.as_millis() as u64);
        }
        let mut conn = self.redis.clone();
        let wait: i64 = invocation.invoke_async(&mut conn).await?;
        Ok((wait > 0).then(|| Duration::from_millis(wait as u64)))
    }

    /// Stops every send of `bot`, on every node, for `duration` (Telegram's 429 `retry_after`).
    pub async fn pause_bot(
        &self,
        bot: ChannelId,
        duration: Duration,
    ) -> Result<(), redis::RedisError> {
        let mut conn = self.redis.clone();
        let millis = duration.as_millis().max(1) as u64;
        redis::cmd("SET")
            .arg(self.pause_key(bot))
            .arg(1)
            .arg("PX")
            .arg(millis)
            .query_async::<()>(&mut conn)
            .await
    }
}
