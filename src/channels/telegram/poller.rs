//! Long polling: one task per polling-mode bot. It asks `getUpdates` from the confirmed offset,
//! commits every update through the same path as the webhook, and only then stores the new
//! offset in PostgreSQL (teloxide's stock polling confirms on hand-off, which loses updates when
//! the process dies mid-batch; this does not). A crash between commit and confirm re-reads the
//! batch and dedupe absorbs it. A Redis lease makes one node poll each bot, as Telegram allows
//! only one `getUpdates` consumer (and no webhook) per bot.

use serde_json::Value;
use std::time::Duration;
use teloxide::payloads::GetUpdatesSetters;
use teloxide::prelude::Requester;
use tokio::sync::watch;

use super::TelegramError;
use super::bot::{BotSettings, PollMode, find_channel};
use super::inbound::apply_update;
use crate::channels::ingest::Ingestor;
use crate::channels::poll_lease::{LEASE, PollLease};
use crate::channels::polling::{ChannelPoller, PollerTask, RunningPoller};
use crate::context::AppContext;
use crate::db::models::{Channel, TelegramPollOffset};
use crate::domain::{ChannelId, ChannelKind};

/// Re-exported for callers that read the stored offset (tests, admin tools).
pub use crate::db::models::TelegramPollOffset as PollOffset;

/// Pause after a failed round before polling again.
const RETRY_PAUSE: Duration = Duration::from_secs(2);

/// Polls one bot until stopped; the handle the registry and tests hold.
pub type TelegramPoller = PollerTask;

/// Starts polling `channel` on the current runtime.
pub fn spawn_poller(ctx: AppContext, ingestor: Ingestor, channel: ChannelId) -> TelegramPoller {
    PollerTask::spawn(channel, move |stopped| run(ctx, ingestor, channel, stopped))
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
        Box::new(spawn_poller(
            self.ctx.clone(),
            self.ingestor.clone(),
            channel.id,
        ))
    }
}

async fn run(
    ctx: AppContext,
    ingestor: Ingestor,
    channel: ChannelId,
    stopped: watch::Receiver<bool>,
) {
    let lease = PollLease::new(&ctx, &format!("telegram:{channel}:poller"));
    poll_until_stopped(&ctx, &ingestor, channel, &lease, stopped).await;
    // A poller that stops (not one that crashes) hands the bot over at once.
    if let Err(e) = lease.release().await {
        tracing::debug!(channel.id = %channel, error = %e, "releasing the telegram polling lease failed; it expires");
    }
}

async fn poll_until_stopped(
    ctx: &AppContext,
    ingestor: &Ingestor,
    channel: ChannelId,
    lease: &PollLease,
    mut stopped: watch::Receiver<bool>,
) {
    let client = super::bot::http_client();
    let mut webhook_cleared = false;
    while !*stopped.borrow() {
        let round = poll_round(ctx, ingestor, channel, lease, &client, &mut webhook_cleared);
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
    lease: &PollLease,
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
    if !lease.hold().await? {
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
