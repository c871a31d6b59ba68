//! Short-term memory: each chat's last N messages in Redis, the "recent turns" part of an agent's
//! context. The chat actor appends each message after it is committed; agents read the window.
//! Redis is a cache here: PostgreSQL holds the truth, and a window Redis has lost (expired, Redis
//! restarted or flushed) is rebuilt from it on the next read.
//!
//! Keys (under the deployment's prefix): `chat:{id}:window`, a list of compact JSON entries,
//! oldest first; and `chat:{id}:window:gen`, a counter every append bumps, which lets a rebuild
//! notice that a message was committed while it read PostgreSQL (see `window`).

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Script};
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;
use std::time::Duration;

use crate::db::models::Message;
use crate::domain::{ChatId, Direction, DraftState, MessageId, OrganizationId, SenderKind};

/// Appends to an existing window only: a missing window stays missing (a lone entry would hide
/// the older messages), and the next read rebuilds it. Skips an entry already present (a rebuild
/// may have read it from PostgreSQL). Always bumps the generation counter.
/// KEYS: window, generation. ARGV: entry JSON, its `{"id":"..."` prefix, window size, TTL in ms.
static APPEND: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
for _, item in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  if string.sub(item, 1, #ARGV[2]) == ARGV[2] then
    redis.call('PEXPIRE', KEYS[1], ARGV[4])
    return 2
  end
end
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[3]), -1)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
",
    )
});

/// Writes a rebuilt window unless an append happened since the rebuild read the generation
/// (its message may be missing from what PostgreSQL returned) or someone else rebuilt it first.
/// KEYS: window, generation. ARGV: generation seen ('' = none), TTL in ms, entries oldest first.
static REBUILD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local current = redis.call('GET', KEYS[2]) or ''
if current ~= ARGV[1] or redis.call('EXISTS', KEYS[1]) == 1 or #ARGV < 3 then
  return 0
end
for i = 3, #ARGV do
  redis.call('RPUSH', KEYS[1], ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
",
    )
});

/// Why memory could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum MemoryError {
    /// Redis failed.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// PostgreSQL failed while rebuilding a window.
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
    /// An entry could not be encoded.
    #[error("encoding: {0}")]
    Encode(#[from] serde_json::Error),
}

/// One message as an agent's context needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowEntry {
    /// The message (must stay the first field: appends deduplicate on the `{"id":` prefix).
    pub id: MessageId,
    /// From the contact or to them.
    pub direction: Direction,
    /// Who wrote it.
    pub sender_kind: SenderKind,
    /// Text.
    pub body: String,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

impl From<&Message> for WindowEntry {
    fn from(message: &Message) -> Self {
        Self {
            id: message.id,
            direction: message.direction,
            sender_kind: message.sender_kind,
            body: message.body.clone(),
            created_at: message.created_at,
        }
    }
}

/// What Redis held for a chat's window: the entries, or a miss with the generation seen (the
/// rebuild writes back only if no append happened since). Opaque: pass it to
/// [`ShortTermMemory::complete`].
#[derive(Debug)]
pub struct CachedWindow(Cached);

#[derive(Debug)]
enum Cached {
    Hit(Vec<WindowEntry>),
    Miss { generation: Option<String> },
}

/// The recent-turns store. Cheap to clone.
#[derive(Clone)]
pub struct ShortTermMemory {
    redis: ConnectionManager,
    key_prefix: String,
    window: usize,
    ttl: Duration,
}

impl ShortTermMemory {
    /// How long an idle chat's window is kept by default.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 60 * 60);

    /// A store keeping the last `window` messages (at least one) per chat under `key_prefix`
    /// (the deployment's Redis namespace), each window expiring `ttl` after its last write.
    pub fn new(
        redis: ConnectionManager,
        key_prefix: impl Into<String>,
        window: usize,
        ttl: Duration,
    ) -> Self {
        Self {
            redis,
            key_prefix: key_prefix.into(),
            window: window.max(1),
            ttl,
        }
    }

    /// The Redis key of a chat's window.
    pub fn key(&self, chat: ChatId) -> String {
        format!("{}chat:{chat}:window", self.key_prefix)
    }

    fn generation_key(&self, chat: ChatId) -> String {
        format!("{}chat:{chat}:window:gen", self.key_prefix)
    }

    fn ttl_ms(&self) -> u64 {
        u64::try_from(self.ttl.as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    /// Adds a committed message to its chat's window (call it only after the commit), trimming
    /// to the last N and refreshing the TTL, atomically. Returns false when nothing was pushed:
    /// the window is missing (the next read rebuilds it, this message included), the message
    /// is already in it, or it is an AI draft nobody approved (not part of the conversation).
    pub async fn append(&self, chat: ChatId, message: &Message) -> Result<bool, MemoryError> {
        if matches!(
            message.draft_state,
            Some(DraftState::PendingApproval | DraftState::Rejected)
        ) {
            return Ok(false);
        }
        let entry = serde_json::to_string(&WindowEntry::from(message))?;
        let id_prefix = format!("{{\"id\":\"{}\"", message.id);
        let pushed: i64 = APPEND
            .key(self.key(chat))
            .key(self.generation_key(chat))
            .arg(entry)
            .arg(id_prefix)
            .arg(self.window)
            .arg(self.ttl_ms())
            .invoke_async(&mut self.redis.clone())
            .await?;
        Ok(pushed == 1)
    }

    /// The chat's last N messages, oldest first. A missing (or unreadable) window is rebuilt
    /// from PostgreSQL and written back, unless a message was appended meanwhile; then this
    /// read's result is still right, and the next read rebuilds again.
    pub async fn window(
        &self,
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        chat: ChatId,
    ) -> Result<Vec<WindowEntry>, MemoryError> {
        let cached = self.cached(chat).await?;
        self.complete(conn, org, chat, cached).await
    }

    /// The Redis half of [`window`](Self::window): one round trip, no PostgreSQL, so a caller
    /// can run it concurrently with its own database reads and finish with
    /// [`complete`](Self::complete).
    pub async fn cached(&self, chat: ChatId) -> Result<CachedWindow, MemoryError> {
        let key = self.key(chat);
        let generation_key = self.generation_key(chat);
        let mut redis = self.redis.clone();
        // The generation is read together with the list and before PostgreSQL: any append
        // after this point makes the write-back in `complete` a no-op.
        let (items, generation): (Vec<String>, Option<String>) = redis::pipe()
            .atomic()
            .lrange(&key, 0, -1)
            .get(&generation_key)
            .query_async(&mut redis)
            .await?;
        if !items.is_empty() {
            match items
                .iter()
                .map(|item| serde_json::from_str::<WindowEntry>(item))
                .collect::<Result<Vec<_>, _>>()
            {
                Ok(entries) => return Ok(CachedWindow(Cached::Hit(entries))),
                Err(e) => {
                    tracing::warn!(chat.id = %chat, error = %e, "unreadable memory window; rebuilding");
                    let _: () = redis.del(&key).await?;
                }
            }
        }
        Ok(CachedWindow(Cached::Miss { generation }))
    }

    /// The window from what [`cached`](Self::cached) found: as is when Redis had it, otherwise
    /// rebuilt from PostgreSQL and written back (see [`window`](Self::window)).
    pub async fn complete(
        &self,
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        chat: ChatId,
        cached: CachedWindow,
    ) -> Result<Vec<WindowEntry>, MemoryError> {
        let generation = match cached.0 {
            Cached::Hit(entries) => return Ok(entries),
            Cached::Miss { generation } => generation,
        };
        let key = self.key(chat);
        let generation_key = self.generation_key(chat);
        let mut redis = self.redis.clone();
        let limit = i64::try_from(self.window).unwrap_or(i64::MAX);
        let entries: Vec<WindowEntry> = Message::recent_window(conn, org, chat, limit)
            .await?
            .iter()
            .map(WindowEntry::from)
            .collect();
        if !entries.is_empty() {
            let mut rebuild = REBUILD.key(&key);
            rebuild
                .key(&generation_key)
                .arg(generation.unwrap_or_default())
                .arg(self.ttl_ms());
            for entry in &entries {
                rebuild.arg(serde_json::to_string(entry)?);
            }
            let _: i64 = rebuild.invoke_async(&mut redis).await?;
        }
        Ok(entries)
    }

    /// Drops a chat's window so the next read rebuilds it, e.g. after history changed in the
    /// middle (a draft approved after later messages, a message deleted).
    /// Bumps the generation too, so a rebuild that read PostgreSQL before the change does not
    /// write its stale result back.
    pub async fn invalidate(&self, chat: ChatId) -> Result<(), MemoryError> {
        let generation_key = self.generation_key(chat);
        let _: () = redis::pipe()
            .atomic()
            .del(self.key(chat))
            .ignore()
            .incr(&generation_key, 1)
            .ignore()
            .pexpire(
                &generation_key,
                i64::try_from(self.ttl_ms()).unwrap_or(i64::MAX),
            )
            .ignore()
            .query_async(&mut self.redis.clone())
            .await?;
        Ok(())
    }
}

impl std::fmt::Debug for ShortTermMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShortTermMemory")
            .field("key_prefix", &self.key_prefix)
            .field("window", &self.window)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}
