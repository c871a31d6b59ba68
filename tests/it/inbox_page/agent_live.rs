//! An agent's draft and hand-off arriving live, in headless Chromium, with the conversation
//! already open: the draft card shows the agent's logged decision (reason and rail verdicts) and
//! the hand-off its note as soon as they arrive, because their events carry the decision; the
//! page is not reloaded and the conversation not reopened. Real turns through the chat actor,
//! the supervisor and the Ollama-compatible test server.

use reqwest::StatusCode;
use serde_json::json;
use std::net::TcpListener;

use super::{StagedScript, channel, member};
use crate::agent_llm::llm_config;
use crate::ollama_server::{OllamaServer, Scripted};
use crate::support::{TestApp, test_config};
use switchboard::db::models::Chat;
use switchboard::domain::{ChannelId, ChatId, InboundMessage, InboundSender};

async fn says(app: &TestApp, channel: ChannelId, thread: &str, text: &str) {
    app.node
        .ingestor
        .ingest(InboundMessage {
            sender: InboundSender {
                name: Some("Ada Byron".into()),
                ..Default::default()
            },
            ..crate::ingest::inbound(channel, thread, &uuid::Uuid::now_v7().to_string(), text)
        })
        .await
        .expect("ingest");
}

#[actix_web::test]
async fn a_live_draft_shows_its_decision_and_a_live_hand_off_its_note_without_reopening() {
    let model = OllamaServer::start(384);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let mut config = test_config();
    config.server.public_url = base.clone();
    config.server.allowed_origins = vec![base];
    config.llm = llm_config(&model.url, 0);
    let app = TestApp::spawn_on(listener, config).await;
    let org = app.create_org("agentlive").await;
    let (_, operator) = member(&app, &org, "Oona Operator").await;
    let prompt = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/prompts/sdr.hbs"))
        .expect("prompt");
    let (status, agent) = app
        .post(
            "/api/v1/agents",
            &org.key,
            &json!({"name": "SDR Agent", "kind": "sdr", "model": "llama3.1:8b",
                    "prompt_template": prompt}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{agent}");
    let web = channel(&app, &org, json!({"name": "Website chat", "kind": "web"})).await;
    let (status, contact) = app
        .post("/api/v1/contacts", &org.key, &json!({"name": "Ada Byron"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{contact}");
    let (status, chat) = app
        .post(
            "/api/v1/chats",
            &org.key,
            &json!({"contact_id": contact["id"], "channel_id": web, "external_thread_id": "ada-live"}),
        )
        .await;
    assert!(status.is_success(), "{status} {chat}");
    let chat: ChatId = serde_json::from_value(chat["id"].clone()).expect("chat id");
    let (status, body) = app
        .post(
            &format!("/api/v1/chats/{chat}/assign"),
            &org.key,
            &json!({"agent_id": agent["id"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .patch(
            &format!("/api/v1/chats/{chat}"),
            &org.key,
            &json!({"autonomy": "draft"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let thread = {
        let mut conn = app.ctx.db().get().await.expect("db");
        Chat::find(&mut conn, org.id, chat)
            .await
            .expect("chat")
            .external_thread_id
    };
    // The first turn drafts (autonomy draft); the second finds no model and hands off.
    model.script([
        Scripted::Reply("We can do 40 seats at the team price.".into()),
        Scripted::model_not_found("llama3.1:8b"),
    ]);

    let mut script = StagedScript::start(
        &app,
        "agent_live.mjs",
        json!({"chat_id": chat, "user": operator}),
    );
    script.reached("open").await;
    says(&app, web, &thread, "Can I get a quote for 40 seats?").await;
    script.reached("drafted").await;
    says(&app, web, &thread, "Hello? Anyone?").await;
    let seen = script.finish().await;

    assert_eq!(
        seen["draft"],
        json!("We can do 40 seats at the team price."),
        "{seen}"
    );
    let decision = seen["decision"].as_str().unwrap_or_default();
    assert!(
        decision.contains("Agent decision: autonomy draft"),
        "{seen}"
    );
    assert!(decision.contains("rail"), "the rails' verdicts: {seen}");
    let handoff = seen["handoff"].as_str().unwrap_or_default();
    assert!(
        handoff.starts_with("Handed to a human: the model could not answer"),
        "{seen}"
    );
}
