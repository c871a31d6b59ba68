//! Long polling: one task per polling-mode bot. It asks `getUpdates` from the confirmed offset,
//! commits every update through the same path as the webhook, and only then stores the new
//! offset in PostgreSQL (teloxide's stock polling confirms on hand-off, which loses updates when
//! the process dies mid-batch; this does not). A crash between commit and confirm re-reads the
//! batch and dedupe absorbs it. A Redis lease makes one node poll each bot, as Telegram allows
//! only one `getUpdates` consumer (and no webhook) per bot.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
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
use crate::context::AppContext;
use crate::db::models::{Channel, TelegramPollOffset};
use crate::db::schema::channels;
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

/// Starts a poller for every active polling-mode Telegram channel (called by `serve`).
pub async fn start_pollers(
    ctx: &AppContext,
    ingestor: &Ingestor,
) -> Result<Vec<TelegramPoller>, TelegramError> {
    let mut conn = ctx
        .db()
        .get()
        .await
        .map_err(|e| TelegramError::Pool(e.to_string()))?;
    let bots: Vec<Channel> = channels::table
        .filter(channels::kind.eq(ChannelKind::Telegram))
        .filter(channels::active.eq(true))
        .select(Channel::as_select())
        .load(&mut conn)
        .await?;
    Ok(bots
        .into_iter()
        .filter(|c| {
            c.settings
                .get("mode")
                .and_then(Value::as_str)
                .unwrap_or("polling")
                == "polling"
        })
        .map(|c| TelegramPoller::spawn(ctx.clone(), ingestor.clone(), c.id))
        .collect())
}

async fn run(
    ctx: AppContext,
    ingestor: Ingestor,
    channel: ChannelId,
    mut stopped: watch::Receiver<bool>,
) {
    // The node holds the lease, so a poller restarted on the same node takes over at once,
    // while another node waits for a crashed node's lease to expire.
    let holder = ctx.hub().node_id().to_string();
    let client = super::bot::http_client();
    let mut webhook_cleared = false;
    while !*stopped.borrow() {
        let round = poll_round(
            &ctx,
            &ingestor,
            channel,
            &holder,
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
        .key(ctx.redis_key(&format!("telegram:{channel_id}:poller")))
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
