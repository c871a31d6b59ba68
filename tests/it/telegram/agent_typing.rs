//! "typing…" on Telegram for exactly as long as an agent turn runs: a slow scripted model keeps
//! the turn going for several seconds; the Bot API server sees repeated `sendChatAction(typing)`
//! for the contact's chat, every one of them before the reply's `sendMessage`, and none after.

use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

use super::{SECRET, chat_for, create_bot, deliver, eventually};
use crate::agent_llm::llm_config;
use crate::migrations::TempDatabase;
use crate::ollama_server::{OllamaServer, Scripted};
use crate::support::{TestApp, test_config};
use crate::telegram_server::{TelegramServer, text_update};
use switchboard::channels::telegram::typing::REPEAT_EVERY;
use switchboard::db::migrate;

#[actix_web::test]
async fn telegram_shows_typing_while_the_agent_thinks_and_stops_before_the_reply() {
    let db = TempDatabase::create("tg_agent_typing").await;
    migrate::run_pending(&db.url).await.expect("migrate");
    let llm = OllamaServer::start(384);
    // Long enough for the indicator to repeat at least once while the model thinks.
    llm.otherwise(Scripted::Slow(
        REPEAT_EVERY + Duration::from_secs(2),
        Box::new(Scripted::Reply("Happy to walk you through pricing.".into())),
    ));
    let mut config = test_config();
    config.database.url = db.url.clone().into();
    config.server.deliver_messages = true;
    config.llm = llm_config(&llm.url, 0);
    let app = TestApp::spawn_with(config).await;
    let org = app.create_org("tg").await;
    let telegram = TelegramServer::start(super::TOKEN);
    let channel = create_bot(&app, &org, &telegram, "webhook").await;
    let prompt = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/prompts/sdr.hbs"))
        .expect("prompt");
    let (status, agent) = app
        .post(
            "/api/v1/agents",
            &org.key,
            &json!({"name": "sdr", "kind": "sdr", "model": "llama3.1:8b",
                "prompt_template": prompt,
                "budgets": {"turns_per_chat_per_day": 20, "tokens_per_day": 100000}}),
        )
        .await;
    assert!(status.is_success(), "{status} {agent}");

    // The contact's first message opens the chat; the agent then takes it over.
    let contact_chat = 4_242_424_i64;
    let first = text_update(1, contact_chat, 1, "Hello");
    assert_eq!(
        deliver(&app, &channel, Some(SECRET), &first).await,
        StatusCode::OK
    );
    let chat = chat_for(&app, &org, &channel, contact_chat).await;
    let chat = chat["id"].as_str().expect("id").to_owned();
    let (status, body) = app
        .post(
            &format!("/api/v1/chats/{chat}/assign"),
            &org.key,
            &json!({"agent_id": agent["id"]}),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    let (status, body) = app
        .patch(
            &format!("/api/v1/chats/{chat}"),
            &org.key,
            &json!({"autonomy": "auto"}),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    let second = text_update(2, contact_chat, 2, "What does it cost?");
    assert_eq!(
        deliver(&app, &channel, Some(SECRET), &second).await,
        StatusCode::OK
    );

    eventually("the agent's reply reaches Telegram", || async {
        !telegram.delivered().is_empty()
    })
    .await;
    let reply = telegram
        .received("sendMessage")
        .into_iter()
        .find(|r| r.params["_accepted"] == json!(true))
        .expect("the reply");
    assert_eq!(reply.params["chat_id"], json!(contact_chat));
    let actions = telegram.received("sendChatAction");
    assert!(
        actions.len() >= 2,
        "typing repeats while the turn runs: {actions:?}"
    );
    assert!(
        actions
            .iter()
            .all(|a| a.params["chat_id"] == json!(contact_chat)
                && a.params["action"] == json!("typing")),
        "{actions:?}"
    );
    assert!(
        actions.iter().all(|a| a.at < reply.at),
        "every chat action precedes the reply"
    );

    // Past the repeat interval, an indicator still running would have sent another action.
    tokio::time::sleep(REPEAT_EVERY + Duration::from_secs(1)).await;
    assert_eq!(
        telegram.received("sendChatAction").len(),
        actions.len(),
        "no chat action after the turn ended"
    );
    assert_eq!(telegram.delivered().len(), 1);

    app.handle.stop(true).await;
    app.node.shutdown().await;
    telegram.stop().await;
    db.drop().await;
}
