//! Delivers `message.send` rows of Telegram chats. Per part of the (split) text: take a slot from
//! the shared rate limiter, `sendMessage`, remember progress in Redis so a retried row never
//! resends a part Telegram already accepted. Telegram's answers map onto the outbox's outcomes:
//! 429 pauses the whole bot on every node and retries after `retry_after`; "bot was blocked"
//! marks the contact unreachable and is permanent; a group that became a supergroup gets its
//! stored chat id updated and the part resent once to the new id.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use teloxide::prelude::Requester;
use teloxide::types::{ChatId as TgChatId, MessageId as TgMessageId, ReplyParameters};
use teloxide::{ApiError, RequestError};

use super::bot::BotSettings;
use super::limits::RateLimiter;
use super::normalize::external_message_id;
use super::split::{MAX_UTF16_UNITS, split_message};
use crate::actors::outbox::{Delivery, OutboundSender, SendError};
use crate::context::AppContext;
use crate::db::models::{Channel, Chat, Message, OutboxEntry};
use crate::db::schema::{chats, contacts, messages};
use crate::domain::{ChannelId, ChatId, MessageId, OrganizationId};

/// Longest this sender waits in-line for a rate-limit slot; beyond it the row is handed back to
/// the outbox with `retry_after`, so a claim never outlives its lease.
const MAX_INLINE_WAIT: Duration = Duration::from_secs(5);
/// How long per-row progress (parts already accepted) is remembered.
const PROGRESS_TTL_SECS: u64 = 7 * 24 * 3600;

#[derive(Deserialize)]
struct Payload {
    message_id: MessageId,
    chat_id: ChatId,
    channel_id: ChannelId,
}

#[derive(Default, Serialize, Deserialize)]
struct Progress {
    /// Parts Telegram accepted.
    sent: usize,
    /// The first part's `<chat>:<message>` id, reported as the delivery's external id.
    first: Option<String>,
}

/// The Telegram `OutboundSender`.
#[derive(Clone)]
pub struct TelegramSender {
    ctx: AppContext,
    client: reqwest::Client,
    limiter: RateLimiter,
}

impl TelegramSender {
    /// A sender sharing the node's database, Redis and one HTTP client.
    pub fn new(ctx: AppContext) -> Self {
        let limiter = RateLimiter::new(ctx.redis(), ctx.config().redis.key_prefix.clone());
        Self {
            ctx,
            client: super::bot::http_client(),
            limiter,
        }
    }

    async fn conn(
        &self,
    ) -> Result<diesel_async::pooled_connection::deadpool::Object<AsyncPgConnection>, SendError>
    {
        self.ctx
            .db()
            .get()
            .await
            .map_err(|e| SendError::transient(format!("database pool: {e}")))
    }

    async fn deliver(&self, entry: &OutboxEntry) -> Result<Delivery, SendError> {
        let payload: Payload = serde_json::from_value(entry.payload.clone())
            .map_err(|e| SendError::permanent(format!("message.send payload: {e}")))?;
        let org = entry.organization_id;
        let (settings, message, chat, reply_to) = {
            let mut conn = self.conn().await?;
            let channel = Channel::find(&mut conn, org, payload.channel_id)
                .await
                .map_err(db_error)?;
            // A node without the token's env var leaves the row to one that has it.
            let settings = BotSettings::from_channel(&channel)
                .map_err(|e| SendError::transient(e.to_string()))?;
            let message =
                Message::find_in_chat(&mut conn, org, payload.chat_id, payload.message_id)
                    .await
                    .map_err(db_error)?;
            let chat = Chat::find(&mut conn, org, payload.chat_id)
                .await
                .map_err(db_error)?;
            let reply_to = match message.reply_to_message_id {
                Some(id) => replied_telegram_id(&mut conn, org, id).await?,
                None => None,
            };
            (settings, message, chat, reply_to)
        };
        let mut chat_id: i64 = chat.external_thread_id.parse().map_err(|_| {
            SendError::permanent("the chat's external id is not a Telegram chat id")
        })?;
        let bot = settings.bot(self.client.clone());
        let parts = split_message(&message.body, MAX_UTF16_UNITS);
        let progress_key = self
            .ctx
            .redis_key(&format!("telegram:progress:{}", entry.id));
        let mut progress = self.load_progress(&progress_key).await;
        let mut migrated = false;
        let mut index = progress.sent;
        while index < parts.len() {
            self.wait_for_slot(settings.channel_id, chat_id).await?;
            let mut request = bot.send_message(TgChatId(chat_id), parts[index].clone());
            if index == 0
                && let Some(reply_to) = reply_to
            {
                let mut parameters = ReplyParameters::new(TgMessageId(reply_to));
                parameters.allow_sending_without_reply = Some(true);
                request.reply_parameters = Some(parameters);
            }
            match request.await {
                Ok(sent) => {
                    if index == 0 {
                        progress.first = Some(external_message_id(sent.chat.id.0, sent.id.0));
                    }
                    index += 1;
                    progress.sent = index;
                    self.save_progress(&progress_key, &progress).await;
                }
                Err(RequestError::RetryAfter(seconds)) => {
                    let wait = seconds.duration();
                    if let Err(e) = self.limiter.pause_bot(settings.channel_id, wait).await {
                        tracing::warn!(channel.id = %settings.channel_id, error = %e, "pausing the bot in Redis failed");
                    }
                    return Err(SendError::Transient {
                        reason: format!("telegram 429: retry after {}s", wait.as_secs()),
                        retry_after: Some(wait),
                    });
                }
                Err(RequestError::MigrateToChatId(new_id)) if !migrated => {
                    migrated = true;
                    self.migrate_chat(org, &chat, chat_id, new_id.0).await?;
                    chat_id = new_id.0;
                }
                Err(RequestError::Api(ApiError::BotBlocked | ApiError::UserDeactivated)) => {
                    self.mark_unreachable(org, &chat).await?;
                    return Err(SendError::permanent(
                        "the user blocked the bot (contact marked unreachable)",
                    ));
                }
                Err(error) => return Err(classify(error)),
            }
        }
        Ok(Delivery {
            external_id: progress.first,
        })
    }

    async fn wait_for_slot(&self, bot: ChannelId, chat: i64) -> Result<(), SendError> {
        loop {
            let wait = self
                .limiter
                .try_acquire(bot, chat)
                .await
                .map_err(|e| SendError::transient(format!("rate limiter: {e}")))?;
            match wait {
                None => return Ok(()),
                Some(wait) if wait > MAX_INLINE_WAIT => {
                    return Err(SendError::Transient {
                        reason: "telegram rate limit: the bot is paused".into(),
                        retry_after: Some(wait),
                    });
                }
                Some(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    async fn load_progress(&self, key: &str) -> Progress {
        let mut redis = self.ctx.redis();
        let stored: Result<Option<String>, _> =
            redis::cmd("GET").arg(key).query_async(&mut redis).await;
        stored
            .ok()
            .flatten()
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default()
    }

    async fn save_progress(&self, key: &str, progress: &Progress) {
        let mut redis = self.ctx.redis();
        let Ok(json) = serde_json::to_string(progress) else {
            return;
        };
        let saved: Result<(), _> = redis::cmd("SET")
            .arg(key)
            .arg(json)
            .arg("EX")
            .arg(PROGRESS_TTL_SECS)
            .query_async(&mut redis)
            .await;
        if let Err(e) = saved {
            tracing::warn!(error = %e, "recording telegram send progress failed");
        }
    }

    /// The group became a supergroup: point the chat (and contacts) at the new id.
    async fn migrate_chat(
        &self,
        org: OrganizationId,
        chat: &Chat,
        old: i64,
        new: i64,
    ) -> Result<(), SendError> {
        let mut conn = self.conn().await?;
        let result = conn
            .transaction::<_, diesel::result::Error, _>(async |conn| {
                diesel::update(
                    chats::table
                        .filter(chats::organization_id.eq(org))
                        .filter(chats::id.eq(chat.id)),
                )
                .set((
                    chats::external_thread_id.eq(new.to_string()),
                    chats::updated_at.eq(chrono::Utc::now()),
                ))
                .execute(conn)
                .await?;
                diesel::update(
                    contacts::table
                        .filter(contacts::organization_id.eq(org))
                        .filter(contacts::telegram_chat_id.eq(old)),
                )
                .set(contacts::telegram_chat_id.eq(new))
                .execute(conn)
                .await?;
                Ok(())
            })
            .await;
        match result {
            Ok(()) => {
                tracing::info!(chat.id = %chat.id, telegram.old_chat = old, telegram.new_chat = new, "telegram chat migrated");
                Ok(())
            }
            // Another chat already holds the new id (the supergroup wrote first): send anyway.
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => Ok(()),
            Err(e) => Err(SendError::transient(format!(
                "recording chat migration: {e}"
            ))),
        }
    }

    async fn mark_unreachable(&self, org: OrganizationId, chat: &Chat) -> Result<(), SendError> {
        let mut conn = self.conn().await?;
        diesel::update(
            contacts::table
                .filter(contacts::organization_id.eq(org))
                .filter(contacts::id.eq(chat.contact_id)),
        )
        .set((
            contacts::unreachable_at.eq(chrono::Utc::now()),
            contacts::updated_at.eq(chrono::Utc::now()),
        ))
        .execute(&mut conn)
        .await
        .map_err(|e| SendError::transient(format!("marking the contact unreachable: {e}")))?;
        Ok(())
    }
}

/// The Telegram message id of the message a reply answers (stored as `<chat>:<message>`).
async fn replied_telegram_id(
    conn: &mut AsyncPgConnection,
    org: OrganizationId,
    id: MessageId,
) -> Result<Option<i32>, SendError> {
    let external: Option<Option<String>> = messages::table
        .filter(messages::organization_id.eq(org))
        .filter(messages::id.eq(id))
        .select(messages::external_id)
        .first(conn)
        .await
        .optional()
        .map_err(db_error)?;
    Ok(external
        .flatten()
        .and_then(|e| e.rsplit_once(':').and_then(|(_, m)| m.parse().ok())))
}

fn db_error(e: diesel::result::Error) -> SendError {
    match e {
        diesel::result::Error::NotFound => SendError::permanent("the message or chat is gone"),
        other => SendError::transient(format!("database: {other}")),
    }
}

/// Network trouble is worth retrying; what Telegram refused by name is not.
fn classify(error: RequestError) -> SendError {
    match error {
        RequestError::Network(e) => SendError::transient(format!("telegram network: {e}")),
        RequestError::Io(e) => SendError::transient(format!("telegram io: {e}")),
        RequestError::InvalidJson { .. } => {
            SendError::transient("telegram answered something that is not its API's JSON")
        }
        RequestError::MigrateToChatId(_) => {
            SendError::permanent("telegram asked to migrate the chat twice")
        }
        other => SendError::permanent(format!("telegram refused: {other}")),
    }
}

impl OutboundSender for TelegramSender {
    fn send<'a>(&'a self, entry: &'a OutboxEntry) -> BoxFuture<'a, Result<Delivery, SendError>> {
        Box::pin(self.deliver(entry))
    }
}
