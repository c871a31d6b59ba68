//! The Telegram edge against a local Bot API server (`telegram_server.rs`) and the real server:
//! webhook delivery (secret, dedupe, edits, deep links, groups, a slow agent), long polling with
//! a crash mid-batch, and outbound delivery through the outbox (429, splitting, blocked users,
//! chat migration, typing).

mod agent_typing;
mod inbound;
mod outbound;
mod polling;
mod runtime_polling;
mod slow_agent;

use reqwest::StatusCode;
use serde_json::{Value, json};

pub use crate::support::eventually;
use crate::support::{TestApp, TestOrg};
use crate::telegram_server::TelegramServer;
use switchboard::channels::telegram::webhook::SECRET_HEADER;

/// Environment variable the test bots' channels name for their token.
pub const TOKEN_ENV: &str = "SB_TEST_TELEGRAM_BOT_TOKEN";
/// Environment variable the test bots' channels name for their webhook secret.
pub const SECRET_ENV: &str = "SB_TEST_TELEGRAM_WEBHOOK_SECRET";
/// The token (the test server accepts only it).
pub const TOKEN: &str = "123456:TEST-telegram-token";
/// The webhook secret.
pub const SECRET: &str = "webhook-Secret_123";

/// Puts the test bot's secrets into the environment, once per test process.
pub fn secrets_in_env() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: set once, before any test of this module reads them; no other code in the
        // test process writes these variables.
        unsafe {
            std::env::set_var(TOKEN_ENV, TOKEN);
            std::env::set_var(SECRET_ENV, SECRET);
        }
    });
}

/// A Telegram channel (`mode` = `webhook` or `polling`) talking to `server`; returns its id.
pub async fn create_bot(
    app: &TestApp,
    org: &TestOrg,
    server: &TelegramServer,
    mode: &str,
) -> String {
    secrets_in_env();
    let (status, channel) = app
        .post(
            "/api/v1/channels",
            &org.key,
            &json!({
                "name": format!("bot-{}", uuid::Uuid::now_v7()),
                "kind": "telegram",
                "settings": { "mode": mode, "api_url": server.url, "poll_timeout_secs": 1 },
                "secret_refs": { "bot_token": TOKEN_ENV, "webhook_secret": SECRET_ENV },
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{channel}");
    channel["id"].as_str().expect("id").to_owned()
}

/// POSTs `update` to the channel's webhook as Telegram would, with `secret` as the header.
pub async fn deliver(
    app: &TestApp,
    channel: &str,
    secret: Option<&str>,
    update: &Value,
) -> StatusCode {
    let mut request = app
        .http
        .post(app.url(&format!("/webhooks/telegram/{channel}")))
        .json(update);
    if let Some(secret) = secret {
        request = request.header(SECRET_HEADER, secret);
    }
    request.send().await.expect("webhook request").status()
}

/// The channel's chats, newest first.
pub async fn chats_of(app: &TestApp, org: &TestOrg, channel: &str) -> Vec<Value> {
    let (status, page) = app
        .get(&format!("/api/v1/chats?channel_id={channel}"), &org.key)
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"].as_array().cloned().unwrap_or_default()
}

/// The chat whose Telegram chat id is `telegram_chat`.
pub async fn chat_for(app: &TestApp, org: &TestOrg, channel: &str, telegram_chat: i64) -> Value {
    chats_of(app, org, channel)
        .await
        .into_iter()
        .find(|c| c["external_thread_id"] == json!(telegram_chat.to_string()))
        .unwrap_or_else(|| panic!("no chat for telegram chat {telegram_chat}"))
}

/// A chat's messages, oldest first.
pub async fn messages_of(app: &TestApp, org: &TestOrg, chat: &str) -> Vec<Value> {
    let (status, page) = app
        .get(
            &format!("/api/v1/chats/{chat}/messages?limit=100"),
            &org.key,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let mut items = page["items"].as_array().cloned().unwrap_or_default();
    items.reverse();
    items
}
