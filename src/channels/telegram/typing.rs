//! "typing…" in a Telegram chat while an agent turn runs. Telegram shows a chat action for about
//! five seconds, so the indicator repeats `sendChatAction` every four until it is dropped (or
//! [`TypingIndicator::stop`]ped). Failures only cost the indicator, never the turn.

use std::time::Duration;
use teloxide::Bot;
use teloxide::prelude::Requester;
use teloxide::types::{ChatAction, ChatId as TgChatId};
use tokio::task::JoinHandle;

use super::TelegramError;
use super::bot::BotSettings;
use crate::context::AppContext;
use crate::db::models::{Channel, Chat};
use crate::domain::{ChannelKind, ChatId, OrganizationId};

/// How often the action is repeated (Telegram clears it after ~5 s).
pub const REPEAT_EVERY: Duration = Duration::from_secs(4);

/// Shows "typing…" until dropped.
#[derive(Debug)]
pub struct TypingIndicator {
    task: JoinHandle<()>,
}

impl TypingIndicator {
    /// Starts the indicator in Telegram chat `chat` of `bot`.
    pub fn start(bot: Bot, chat: i64) -> Self {
        let task = tokio::spawn(async move {
            loop {
                if let Err(e) = bot
                    .send_chat_action(TgChatId(chat), ChatAction::Typing)
                    .await
                {
                    tracing::debug!(error = %e, "telegram sendChatAction failed");
                }
                tokio::time::sleep(REPEAT_EVERY).await;
            }
        });
        Self { task }
    }

    /// Starts the indicator for one of our chats; `None` when the chat is not a Telegram chat.
    /// The agent runtime calls this when a turn starts and drops the result when it ends.
    pub async fn for_chat(
        ctx: &AppContext,
        org: OrganizationId,
        chat: ChatId,
    ) -> Result<Option<Self>, TelegramError> {
        let mut conn = ctx
            .db()
            .get()
            .await
            .map_err(|e| TelegramError::Pool(e.to_string()))?;
        let chat = Chat::find(&mut conn, org, chat).await?;
        let channel = Channel::find(&mut conn, org, chat.channel_id).await?;
        if channel.kind != ChannelKind::Telegram {
            return Ok(None);
        }
        let Ok(telegram_chat) = chat.external_thread_id.parse::<i64>() else {
            return Ok(None);
        };
        let bot = BotSettings::from_channel(&channel)?.bot(super::bot::http_client());
        Ok(Some(Self::start(bot, telegram_chat)))
    }

    /// Stops the indicator now.
    pub fn stop(self) {
        self.task.abort();
    }
}

impl Drop for TypingIndicator {
    fn drop(&mut self) {
        self.task.abort();
    }
}
