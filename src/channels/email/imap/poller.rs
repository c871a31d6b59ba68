//! The task reading one email channel's mailbox, started for every active email channel with
//! an `imap_host` when the node serves. It runs sessions ([`super::session`]) back to back:
//! after an error it reconnects with exponential backoff (`backon`, reset once a login
//! succeeds); when another node holds the mailbox's lease it waits and asks again.

use backon::{BackoffBuilder, ExponentialBuilder};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::ImapError;
use super::lease::LEASE;
use super::session::{SessionEnd, run_session};
use super::settings::ImapSettings;
use crate::channels::ingest::Ingestor;
use crate::context::AppContext;
use crate::db::schema::channels;
use crate::domain::{ChannelId, ChannelKind};

/// A running poller of one email channel.
#[derive(Debug)]
pub struct EmailPoller {
    channel: ChannelId,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl EmailPoller {
    /// Starts reading `channel`'s mailbox on the current runtime.
    pub fn spawn(ctx: AppContext, ingestor: Ingestor, channel: ChannelId) -> Self {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(ctx, ingestor, channel, stopped));
        Self {
            channel,
            stop,
            task,
        }
    }

    /// The channel read.
    pub fn channel(&self) -> ChannelId {
        self.channel
    }

    /// Stops once the current fetch is committed (or at once while waiting for mail).
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }

    /// Kills the task wherever it is, as a crash would (nothing is confirmed that was not).
    pub fn abort(self) {
        self.task.abort();
    }
}

/// Starts a poller for every active email channel that reads a mailbox (called by `serve`).
pub async fn start_email_pollers(
    ctx: &AppContext,
    ingestor: &Ingestor,
) -> Result<Vec<EmailPoller>, ImapError> {
    let mut conn = ctx.db().get().await?;
    let found: Vec<(ChannelId, serde_json::Value)> = channels::table
        .filter(channels::kind.eq(ChannelKind::Email))
        .filter(channels::active.eq(true))
        .select((channels::id, channels::settings))
        .load(&mut conn)
        .await?;
    Ok(found
        .into_iter()
        .filter(|(_, settings)| matches!(ImapSettings::from_json(settings), Ok(Some(_))))
        .map(|(id, _)| EmailPoller::spawn(ctx.clone(), ingestor.clone(), id))
        .collect())
}

fn backoff() -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_secs(1))
        .with_max_delay(Duration::from_secs(120))
        .with_jitter()
        .without_max_times()
        .build()
}

async fn run(
    ctx: AppContext,
    ingestor: Ingestor,
    channel: ChannelId,
    mut stopped: watch::Receiver<bool>,
) {
    let mut delays = backoff();
    while !*stopped.borrow() {
        let mut logged_in = false;
        let ended = run_session(&ctx, &ingestor, channel, &mut stopped, || logged_in = true).await;
        if logged_in {
            delays = backoff();
        }
        let pause = match ended {
            Ok(SessionEnd::Stopped) => return,
            Ok(SessionEnd::Gone(why)) => {
                tracing::info!(channel.id = %channel, why, "imap poller stops");
                return;
            }
            Ok(SessionEnd::NotOurs) => LEASE / 3,
            Err(e) => {
                let pause = delays.next().unwrap_or(Duration::from_secs(120));
                tracing::warn!(channel.id = %channel, error = %e, retry_in_ms = pause.as_millis() as u64, "imap session failed; reconnecting");
                pause
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stopped.changed() => return,
        }
    }
}
