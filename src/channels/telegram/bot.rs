//! A Telegram channel's runtime settings, read from its channel row: mode, API URL (a local test
//! server or a Bot API proxy), and the bot token and webhook secret read from the environment
//! variables the row names. Secrets stay in `Sensitive` and are never logged.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use teloxide::Bot;

use super::TelegramError;
use crate::config::Sensitive;
use crate::db::models::Channel;
use crate::db::schema::channels;
use crate::domain::{ChannelId, ChannelKind, OrganizationId};

/// How a bot receives updates; Telegram allows one at a time per bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollMode {
    /// `getUpdates` long polling by a [`super::TelegramPoller`].
    Polling,
    /// Telegram POSTs updates to `/webhooks/telegram/{channel_id}`.
    Webhook,
}

/// What the edge needs to talk to one bot.
#[derive(Debug, Clone)]
pub struct BotSettings {
    /// The channel.
    pub channel_id: ChannelId,
    /// Its organisation.
    pub organization_id: OrganizationId,
    /// Webhook or polling.
    pub mode: PollMode,
    /// Bot API base URL when not Telegram's own (`settings.api_url`).
    pub api_url: Option<reqwest::Url>,
    /// Long-polling timeout in seconds (`settings.poll_timeout_secs`, default 25).
    pub poll_timeout_secs: u32,
    token: Sensitive<String>,
    webhook_secret: Option<Sensitive<String>>,
}

fn env_secret(refs: &Value, name: &str) -> Result<Option<Sensitive<String>>, TelegramError> {
    let Some(env) = refs.get(name).and_then(Value::as_str) else {
        return Ok(None);
    };
    match std::env::var(env) {
        Ok(value) if !value.is_empty() => Ok(Some(Sensitive::new(value))),
        _ => Err(TelegramError::Settings(format!(
            "environment variable {env} (secrets.{name}) is not set"
        ))),
    }
}

impl BotSettings {
    /// Reads a Telegram channel's settings and secrets.
    pub fn from_channel(channel: &Channel) -> Result<Self, TelegramError> {
        if channel.kind != ChannelKind::Telegram {
            return Err(TelegramError::UnknownChannel);
        }
        let settings = &channel.settings;
        let mode = match settings.get("mode").and_then(Value::as_str) {
            None | Some("polling") => PollMode::Polling,
            Some("webhook") => PollMode::Webhook,
            Some(other) => {
                return Err(TelegramError::Settings(format!(
                    "mode must be polling or webhook, not {other:?}"
                )));
            }
        };
        let api_url = match settings.get("api_url").and_then(Value::as_str) {
            Some(url) => Some(
                reqwest::Url::parse(url)
                    .map_err(|e| TelegramError::Settings(format!("api_url: {e}")))?,
            ),
            None => None,
        };
        let poll_timeout_secs = settings
            .get("poll_timeout_secs")
            .and_then(Value::as_u64)
            .map_or(25, |s| s.min(50) as u32);
        let token = env_secret(&channel.secret_refs, "bot_token")?.ok_or_else(|| {
            TelegramError::Settings("secrets.bot_token names no environment variable".into())
        })?;
        let webhook_secret = env_secret(&channel.secret_refs, "webhook_secret")?;
        Ok(Self {
            channel_id: channel.id,
            organization_id: channel.organization_id,
            mode,
            api_url,
            poll_timeout_secs,
            token,
            webhook_secret,
        })
    }

    /// A teloxide bot on `client`, pointed at `api_url` when set.
    pub fn bot(&self, client: reqwest::Client) -> Bot {
        let bot = Bot::with_client(self.token.expose().clone(), client);
        match &self.api_url {
            Some(url) => bot.set_api_url(url.clone()),
            None => bot,
        }
    }

    /// Whether `presented` equals the configured webhook secret, compared in constant time.
    /// A channel without a webhook secret accepts nothing.
    pub fn webhook_secret_matches(&self, presented: Option<&[u8]>) -> bool {
        use subtle::ConstantTimeEq;
        match (&self.webhook_secret, presented) {
            (Some(expected), Some(presented)) => {
                bool::from(expected.expose().as_bytes().ct_eq(presented))
            }
            _ => false,
        }
    }
}

/// An active Telegram channel by id. Unscoped by organisation on purpose: the webhook and the
/// poller know only the channel id, and the row they get names its organisation, which every
/// later query is scoped by.
pub async fn find_channel(
    conn: &mut AsyncPgConnection,
    id: ChannelId,
) -> Result<Channel, TelegramError> {
    channels::table
        .filter(channels::id.eq(id))
        .filter(channels::kind.eq(ChannelKind::Telegram))
        .filter(channels::active.eq(true))
        .select(Channel::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or(TelegramError::UnknownChannel)
}

/// The HTTP client shared by every bot of this node: long enough a timeout for long polling.
pub(crate) fn http_client() -> reqwest::Client {
    teloxide::net::default_reqwest_settings()
        .timeout(std::time::Duration::from_secs(70))
        .build()
        .unwrap_or_default()
}
