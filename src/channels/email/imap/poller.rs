//! The task reading one email channel's mailbox, started by the node's `PollerRegistry` for
//! every active email channel with an `imap_host` (and restarted when its settings change). It runs sessions ([`super::session`]) back to back:
//! after an error it reconnects with exponential backoff (`backon`, reset once a login
//! succeeds); when another node holds the mailbox's lease it waits and asks again.

use backon::{BackoffBuilder, ExponentialBuilder};
use std::time::Duration;
use tokio::sync::watch;

use super::session::{SessionEnd, run_session};
use super::settings::ImapSettings;
use crate::channels::ingest::Ingestor;
use crate::channels::poll_lease::LEASE;
use crate::channels::polling::{ChannelPoller, PollerTask, RunningPoller};
use crate::context::AppContext;
use crate::db::models::Channel;
use crate::domain::{ChannelId, ChannelKind};

/// Reads one email channel's mailbox until stopped; the handle the registry and tests hold.
pub type EmailPoller = PollerTask;

/// Starts reading `channel`'s mailbox on the current runtime.
pub fn spawn_poller(ctx: AppContext, ingestor: Ingestor, channel: ChannelId) -> EmailPoller {
    PollerTask::spawn(channel, move |stopped| run(ctx, ingestor, channel, stopped))
}

/// The email kind's polling side for the node's `PollerRegistry`: an active email channel is
/// polled when it sets `imap_host`.
pub struct EmailPolling {
    ctx: AppContext,
    ingestor: Ingestor,
}

impl EmailPolling {
    /// Pollers that commit through `ingestor`.
    pub fn new(ctx: AppContext, ingestor: Ingestor) -> Self {
        Self { ctx, ingestor }
    }
}

impl ChannelPoller for EmailPolling {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Email
    }

    fn polls(&self, channel: &Channel) -> bool {
        matches!(ImapSettings::from_json(&channel.settings), Ok(Some(_)))
    }

    fn start(&self, channel: &Channel) -> Box<dyn RunningPoller> {
        Box::new(spawn_poller(
            self.ctx.clone(),
            self.ingestor.clone(),
            channel.id,
        ))
    }
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
