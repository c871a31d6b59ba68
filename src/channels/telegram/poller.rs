//! Long polling: one task per polling-mode bot. It asks `getUpdates` from the confirmed offset,
//! commits every update through the same path as the webhook, and only then stores the new
//! offset in PostgreSQL (teloxide's stock polling confirms on hand-off, which loses updates when
//! the process dies mid-batch; this does not). A crash between commit and confirm re-reads the
//! batch and dedupe absorbs it. A Redis lease makes one node poll each bot, as Telegram allows
//! only one `getUpdates` consumer (and no webhook) per bot.

use futures_util::future::BoxFuture;
use redis::Script;
use serde_json::Value;
use std::sync::LazyLock;
use std::time::Duration;
use teloxide::payloads::GetUpdatesSetters;
use teloxide::prelude::Requester;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::TelegramError;
use super::bot::{BotSettings, PollMode, find_channel};
use super::inbound::apply_update;
use crate::channels::ingest::Ingestor;
use crate::channels::polling::{ChannelPoller, RunningPoller};
use crate::context::AppContext;
use crate::db::models::{Channel, TelegramPollOffset};
use crate::domain::{ChannelId, ChannelKind};

/// Re-exported for callers that read the stored offset (tests, admin tools).
pub use crate::db::models::TelegramPollOffset as PollOffset;

/// Pause after a failed round before polling again.
const RETRY_PAUSE: Duration = Duration::from_secs(2);
/// How long a node's claim on polling a bot lasts without renewal.
const LEASE: Duration = Duration::from_secs(90);

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

/// A running poller of one bot.
#[derive(Debug)]
pub struct TelegramPoller {
    channel: ChannelId,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl TelegramPoller {
    /// Starts polling `channel` on the current runtime.
    pub fn spawn(ctx: AppContext, ingestor: Ingestor, channel: ChannelId) -> Self {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(ctx, ingestor, channel, stopped));
        Self {
            channel,
            stop,
            task,
        }
    }

    /// The bot's channel.
    pub fn channel(&self) -> ChannelId {
        self.channel
    }

    /// Stops after the current round (updates already fetched are committed and confirmed).
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }

    /// Kills the task wherever it is, as a crash would (nothing is confirmed that was not).
    pub fn abort(self) {
        self.task.abort();
    }
}

/// Telegram's side of the [`PollerRegistry`](crate::channels::polling::PollerRegistry): every
/// active Telegram channel in polling mode (the default) gets a [`TelegramPoller`].
pub struct TelegramPolling {
    ctx: AppContext,
    ingestor: Ingestor,
}

impl TelegramPolling {
    /// Pollers that commit through `ingestor`.
    pub fn new(ctx: AppContext, ingestor: Ingestor) -> Self {
        Self { ctx, ingestor }
    }
}

impl ChannelPoller for TelegramPolling {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Telegram
    }

    fn polls(&self, channel: &Channel) -> bool {
        channel
            .settings
            .get("mode")
            .and_then(Value::as_str)
            .unwrap_or("polling")
            == "polling"
    }

    fn start(&self, channel: &Channel) -> Box<dyn RunningPoller> {
        Box::new(TelegramPoller::spawn(
            self.ctx.clone(),
            self.ingestor.clone(),
            channel.id,
        ))
    }
}

impl RunningPoller for TelegramPoller {
    fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    fn shutdown(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(TelegramPoller::shutdown(*self))
    }
}

async fn run(
    ctx: AppContext,
    ingestor: Ingestor,
    channel: ChannelId,
    stopped: watch::Receiver<bool>,
) {
    // The node holds the lease, so a poller restarted on the same node takes over at once,
    // while another node waits for a crashed node's lease to expire.
    let holder = ctx.hub().node_id().to_string();
    poll_until_stopped(&ctx, &ingestor, channel, &holder, stopped).await;
    // A poller that stops (not one that crashes) hands the bot over at once.
    let released: Result<i64, _> = RELEASE_SCRIPT
        .key(lease_key(&ctx, channel))
        .arg(&holder)
        .invoke_async(&mut ctx.redis())
        .await;
    if let Err(e) = released {
        tracing::debug!(channel.id = %channel, error = %e, "releasing the telegram polling lease failed; it expires");
    }
}

fn lease_key(ctx: &AppContext, channel: ChannelId) -> String {
    ctx.redis_key(&format!("telegram:{channel}:poller"))
}

async fn poll_until_stopped(
    ctx: &AppContext,
    ingestor: &Ingestor,
    channel: ChannelId,
    holder: &str,
    mut stopped: watch::Receiver<bool>,
) {
    let client = super::bot::http_client();
    let mut webhook_cleared = false;
    while !*stopped.borrow() {
        let round = poll_round(
            ctx,
            ingestor,
            channel,
            holder,
            &client,
            &mut webhook_cleared,
        );
        let pause = tokio::select! {
            outcome = round => match outcome {
                Ok(Round::Polled) => None,
                Ok(Round::NotOurs) => Some(LEASE / 3),
                Ok(Round::Stop(why)) => {
                    tracing::info!(channel.id = %channel, why, "telegram poller stops");
                    return;
                }
                Err(e) => {
                    tracing::warn!(channel.id = %channel, error = %e, "telegram polling round failed; retrying");
                    Some(RETRY_PAUSE)
                }
            },
            _ = stopped.changed() => return,
        };
        if let Some(pause) = pause {
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stopped.changed() => return,
            }
        }
    }
}

enum Round {
    Polled,
    NotOurs,
    Stop(&'static str),
}

async fn poll_round(
    ctx: &AppContext,
    ingestor: &Ingestor,
    channel_id: ChannelId,
    holder: &str,
    client: &reqwest::Client,
    webhook_cleared: &mut bool,
) -> Result<Round, TelegramError> {
    let (channel, offset) = {
        let mut conn = ctx
            .db()
            .get()
            .await
            .map_err(|e| TelegramError::Pool(e.to_string()))?;
        let channel = match find_channel(&mut conn, channel_id).await {
            Ok(channel) => channel,
            Err(TelegramError::UnknownChannel) => {
                return Ok(Round::Stop("channel gone or inactive"));
            }
            Err(e) => return Err(e),
        };
        let offset =
            TelegramPollOffset::load(&mut conn, channel.organization_id, channel_id).await?;
        (channel, offset)
    };
    let settings = BotSettings::from_channel(&channel)?;
    if settings.mode != PollMode::Polling {
        return Ok(Round::Stop("channel is in webhook mode"));
    }
    let mut redis = ctx.redis();
    let held: i64 = LEASE_SCRIPT
        .key(lease_key(ctx, channel_id))
        .arg(holder)
        .arg(LEASE.as_millis() as u64)
        .invoke_async(&mut redis)
        .await?;
    if held != 1 {
        return Ok(Round::NotOurs);
    }
    let bot = settings.bot(client.clone());
    if !*webhook_cleared {
        // getUpdates fails while a webhook is set: one mode per bot.
        bot.delete_webhook().await?;
        *webhook_cleared = true;
    }
    let mut request = bot.get_updates().timeout(settings.poll_timeout_secs);
    if offset > 0 {
        request = request.offset(i32::try_from(offset).unwrap_or(i32::MAX));
    }
    let updates = request.await?;
    let Some(last) = updates.last().map(|u| i64::from(u.id.0)) else {
        return Ok(Round::Polled);
    };
    for update in &updates {
        apply_update(ctx, ingestor, channel_id, channel.organization_id, update).await?;
    }
    // Every update of the batch is committed: only now is the offset confirmed.
    let mut conn = ctx
        .db()
        .get()
        .await
        .map_err(|e| TelegramError::Pool(e.to_string()))?;
    TelegramPollOffset::confirm(&mut conn, channel.organization_id, channel_id, last + 1).await?;
    Ok(Round::Polled)
}
