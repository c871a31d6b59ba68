//! "typing…" in a Telegram chat while an agent turn runs: the Telegram [`TypingNotifier`].
//! Telegram shows a chat action for about five seconds, so `sendChatAction(typing)` repeats every
//! four until the turn ends. Failures only cost the indicator, never the turn.

use std::time::Duration;
use teloxide::prelude::Requester;
use teloxide::types::{ChatAction, ChatId as TgChatId};

use super::bot::BotSettings;
use crate::channels::typing::{TypingHandle, TypingNotifier};
use crate::db::models::{Channel, Chat};

/// How often the action is repeated (Telegram clears it after ~5 s).
pub const REPEAT_EVERY: Duration = Duration::from_secs(4);

/// Sends Telegram chat actions for chats of Telegram channels.
#[derive(Clone)]
pub struct TelegramTyping {
    client: reqwest::Client,
}

impl TelegramTyping {
    /// A notifier sharing one HTTP client across bots.
    pub fn new() -> Self {
        Self {
            client: super::bot::http_client(),
        }
    }
}

impl Default for TelegramTyping {
    fn default() -> Self {
        Self::new()
    }
}

impl TypingNotifier for TelegramTyping {
    fn start(&self, channel: &Channel, chat: &Chat) -> Option<TypingHandle> {
        let settings = match BotSettings::from_channel(channel) {
            Ok(settings) => settings,
            Err(e) => {
                tracing::debug!(channel.id = %channel.id, error = %e, "no typing indicator: unusable bot settings");
                return None;
            }
        };
        let telegram_chat = chat.external_thread_id.parse::<i64>().ok()?;
        let bot = settings.bot(self.client.clone());
        Some(TypingHandle::repeat(REPEAT_EVERY, move || {
            let bot = bot.clone();
            async move {
                if let Err(e) = bot
                    .send_chat_action(TgChatId(telegram_chat), ChatAction::Typing)
                    .await
                {
                    tracing::debug!(error = %e, "telegram sendChatAction failed");
                }
            }
        }))
    }
}
