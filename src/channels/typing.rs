//! "typing…" on the contact's side while an agent turn runs. The agent runtime does not know
//! channels: it asks [`ChannelTypists`] to start an indicator for the turn's chat, and the
//! registry hands the chat to the [`TypingNotifier`] registered for the chat's channel kind (as
//! `ChannelSenders` does for delivery). A notifier repeats its channel's chat action until the
//! turn ends; the turn then awaits [`TypingHandle::stop`], so no notice is still on its way when
//! the reply goes out. Failures only cost the indicator, never the turn.

use diesel_async::AsyncPgConnection;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::db::models::{Channel, Chat};
use crate::domain::ChannelKind;

/// How long one notice may take before it is given up (it is only a hint to the contact).
const NOTICE_TIMEOUT: Duration = Duration::from_secs(3);

/// Shows "typing…" in chats of one channel kind.
pub trait TypingNotifier: Send + Sync {
    /// Starts the indicator in `chat` of `channel`; `None` when this chat cannot show one
    /// (settings unusable, no addressable peer).
    fn start(&self, channel: &Channel, chat: &Chat) -> Option<TypingHandle>;
}

/// A running indicator. [`TypingHandle::stop`] ends it after any notice in flight has been
/// answered; dropping it (a cancelled turn) ends it at once.
#[derive(Debug)]
pub struct TypingHandle {
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl TypingHandle {
    /// Runs `notice` now and then every `every` until stopped (the caller picks `every` below
    /// the channel's display time, e.g. 4 s for Telegram's 5 s).
    pub fn repeat<F, Fut>(every: Duration, mut notice: F) -> Self
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            loop {
                let _ = tokio::time::timeout(NOTICE_TIMEOUT, notice()).await;
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = stopped.changed() => return,
                }
                if *stopped.borrow() {
                    return;
                }
            }
        });
        Self {
            stop,
            task: Some(task),
        }
    }

    /// Stops repeating and waits until a notice already sent has been answered (bounded by the
    /// notice timeout), so nothing of this indicator arrives after the turn's outcome.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(NOTICE_TIMEOUT, &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for TypingHandle {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The typing notifiers of this node, one per channel kind that has a chat action.
#[derive(Clone, Default)]
pub struct ChannelTypists {
    by_kind: HashMap<ChannelKind, Arc<dyn TypingNotifier>>,
}

impl ChannelTypists {
    /// Registers the notifier for chats of `kind` channels (builder style).
    pub fn with(mut self, kind: ChannelKind, notifier: Arc<dyn TypingNotifier>) -> Self {
        self.by_kind.insert(kind, notifier);
        self
    }

    /// Starts the indicator for `chat` on its channel, if that channel kind has one. The
    /// channel is read scoped by the chat's organisation.
    pub async fn start(&self, conn: &mut AsyncPgConnection, chat: &Chat) -> Option<TypingHandle> {
        if self.by_kind.is_empty() {
            return None;
        }
        let channel = match Channel::find(conn, chat.organization_id, chat.channel_id).await {
            Ok(channel) => channel,
            Err(e) => {
                tracing::debug!(chat.id = %chat.id, error = %e, "no channel for a typing indicator");
                return None;
            }
        };
        self.by_kind.get(&channel.kind)?.start(&channel, chat)
    }

    /// [`start`](Self::start) with the chat's channel already read (an agent turn reads it with
    /// the chat): no database round trip.
    pub fn start_on(&self, channel: &Channel, chat: &Chat) -> Option<TypingHandle> {
        self.by_kind.get(&channel.kind)?.start(channel, chat)
    }
}
