//! Polling channels follow the channels API without a restart: a polling bot created through the
//! API is polled at once, deactivating it stops its poller (an update pushed meanwhile is not
//! ingested, and Telegram hears no more `getUpdates`), reactivating it picks the waiting update
//! up, pointing it at another token variable restarts it with that token, and switching it to
//! webhook mode stops polling again. The app runs over a database of its
//! own, since a polling node polls every tenant's bots.

use reqwest::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};

use super::{chat_for, create_bot, eventually, messages_of};
use crate::migrations::TempDatabase;
use crate::support::{TestApp, TestOrg, test_config};
use crate::telegram_server::{TelegramServer, text_update};
use switchboard::db::migrate;

/// Longer than the test bots' long-poll timeout (1 s): a poller still running would have asked
/// `getUpdates` again, and ingested a waiting update, within it.
const QUIET: Duration = Duration::from_secs(3);

/// A second token variable, for the test that switches a channel's token.
const OTHER_TOKEN_ENV: &str = "SB_TEST_TELEGRAM_OTHER_BOT_TOKEN";

async fn set(app: &TestApp, org: &TestOrg, channel: &str, patch: serde_json::Value) {
    let (status, body) = app
        .patch(&format!("/api/v1/channels/{channel}"), &org.key, &patch)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn stays_unpolled(server: &TelegramServer, since: Instant) {
    tokio::time::sleep(QUIET).await;
    // One request already on the wire when the poller stopped may still land just after.
    let late: Vec<_> = server
        .received("getUpdates")
        .into_iter()
        .filter(|r| r.at > since + Duration::from_secs(1))
        .collect();
    assert!(late.is_empty(), "no poller asks any more: {late:?}");
}

#[actix_web::test]
async fn polling_bots_start_and_stop_with_the_channels_api() {
    let db = TempDatabase::create("tg_runtime_polling").await;
    migrate::run_pending(&db.url).await.expect("migrate");
    let mut config = test_config();
    config.database.url = db.url.clone().into();
    config.server.poll_channels = true;
    let app = TestApp::spawn_with(config).await;
    let org = app.create_org("tg").await;
    let server = TelegramServer::start(super::TOKEN);
    let telegram_chat = 5_151_515_i64;

    // Created through the API while the node runs: polled without a restart.
    let channel = create_bot(&app, &org, &server, "polling").await;
    server.push_update(text_update(1, telegram_chat, 1, "first"));
    eventually("the first update is ingested", || async {
        chats_with(&app, &org, &channel, telegram_chat).await >= 1
    })
    .await;
    let chat = chat_for(&app, &org, &channel, telegram_chat).await;
    let chat = chat["id"].as_str().expect("id").to_owned();
    assert!(!server.received("deleteWebhook").is_empty());

    // Deactivated: the poller stops; an update waits at Telegram.
    set(&app, &org, &channel, json!({"active": false})).await;
    let stopped = Instant::now();
    server.push_update(text_update(2, telegram_chat, 2, "second"));
    stays_unpolled(&server, stopped).await;
    assert_eq!(messages_of(&app, &org, &chat).await.len(), 1);

    // Reactivated: the waiting update comes in.
    set(&app, &org, &channel, json!({"active": true})).await;
    eventually("the waiting update is ingested", || async {
        messages_of(&app, &org, &chat).await.len() == 2
    })
    .await;

    // Its token variable changed: the poller restarts with the new token (one Telegram refuses
    // here, so the next update waits), and the right one picks the update up again.
    // SAFETY: this variable is written only here, before any poller reads it.
    unsafe { std::env::set_var(OTHER_TOKEN_ENV, "999:not-this-bot") };
    set(
        &app,
        &org,
        &channel,
        json!({"secret_refs": {"bot_token": OTHER_TOKEN_ENV, "webhook_secret": super::SECRET_ENV}}),
    )
    .await;
    server.push_update(text_update(3, telegram_chat, 3, "third"));
    tokio::time::sleep(QUIET).await;
    assert_eq!(messages_of(&app, &org, &chat).await.len(), 2);
    set(
        &app,
        &org,
        &channel,
        json!({"secret_refs": {"bot_token": super::TOKEN_ENV, "webhook_secret": super::SECRET_ENV}}),
    )
    .await;
    eventually(
        "the update waiting for the right token is ingested",
        || async { messages_of(&app, &org, &chat).await.len() == 3 },
    )
    .await;

    // Switched to webhook mode: polling stops again.
    set(
        &app,
        &org,
        &channel,
        json!({"settings": {"mode": "webhook", "api_url": server.url}}),
    )
    .await;
    let stopped = Instant::now();
    stays_unpolled(&server, stopped).await;
    assert!(app.node.pollers.running().await.is_empty());

    app.handle.stop(true).await;
    app.node.shutdown().await;
    server.stop().await;
    db.drop().await;
}

async fn chats_with(app: &TestApp, org: &TestOrg, channel: &str, telegram_chat: i64) -> usize {
    super::chats_of(app, org, channel)
        .await
        .iter()
        .filter(|c| c["external_thread_id"] == json!(telegram_chat.to_string()))
        .count()
}
