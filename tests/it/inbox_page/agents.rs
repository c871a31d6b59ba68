//! The AI agents in the page with no model server reachable: the agents API says `degraded`
//! with its reason, a real turn (through the chat actor) hands the chat to a human, and in headless Chromium the chat's
//! row carries the "Degraded" tag, the conversation shows the hand-off note, a draft shows the
//! agent's logged decision (reason and rail verdicts) next to it, and a memory can be deleted.

use reqwest::StatusCode;
use serde_json::json;
use std::net::TcpListener;

use super::{channel, inbound, member, person, run_script};
use crate::support::{TestApp, test_config};
use switchboard::db::models::{
    AgentExecution, AgentExecutionFinishForm, AgentExecutionInsertForm, AgentMemory,
    AgentMemoryInsertForm, Chat, Message, MessageInsertForm,
};
use switchboard::domain::{
    AgentId, Direction, DraftState, ExecutionId, MemoryId, MemoryKind, MessageId, MessageStatus,
    SenderKind,
};

/// A page-ready server whose model server address answers nothing.
async fn app_without_model() -> TestApp {
    let closed = TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead = format!("http://{}", closed.local_addr().expect("address"));
    drop(closed);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let mut config = test_config();
    config.server.public_url = base.clone();
    config.server.allowed_origins = vec![base];
    config.llm.base_url = dead;
    config.llm.max_retries = 0;
    TestApp::spawn_on(listener, config).await
}

#[actix_web::test]
async fn a_degraded_agent_shows_its_hand_off_and_a_draft_shows_its_decision() {
    let app = app_without_model().await;
    let org = app.create_org("degraded").await;
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
    let agent_id: AgentId = serde_json::from_value(agent["id"].clone()).expect("agent id");

    let (status, agents) = app.get("/api/v1/agents", &org.key).await;
    assert_eq!(status, StatusCode::OK, "{agents}");
    assert_eq!(agents["items"][0]["status"], json!("degraded"), "{agents}");
    let reason = agents["items"][0]["status_reason"]
        .as_str()
        .unwrap_or_default();
    assert!(reason.contains("unreachable"), "{reason}");

    let web = channel(&app, &org, json!({"name": "Website chat", "kind": "web"})).await;
    let chat = inbound(
        &app,
        web,
        person("Ada Byron", "ada@byron.test"),
        "Can I get a quote for 40 seats?",
    )
    .await;
    for (path, body) in [
        (
            format!("/api/v1/chats/{chat}/assign"),
            json!({"agent_id": agent_id}),
        ),
        (
            format!("/api/v1/chats/{chat}"),
            json!({"autonomy": "draft"}),
        ),
    ] {
        let (status, body) = if path.ends_with("assign") {
            app.post(&path, &org.key, &body).await
        } else {
            app.patch(&path, &org.key, &body).await
        };
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // A real turn through the chat actor: the model cannot be reached, so the chat goes to a
    // human (status pending); the operator reopens it so it shows under "open".
    inbound(
        &app,
        web,
        person("Ada Byron", "ada@byron.test"),
        "Hello? Anyone?",
    )
    .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (_, got) = app.get(&format!("/api/v1/chats/{chat}"), &org.key).await;
        if got["status"] == json!("pending") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no hand-off: {got}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (status, _) = app
        .patch(
            &format!("/api/v1/chats/{chat}"),
            &org.key,
            &json!({"status": "open"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, messages) = app
        .get(&format!("/api/v1/chats/{chat}/messages"), &org.key)
        .await;
    let asked: MessageId = serde_json::from_value(messages["items"][0]["id"].clone()).expect("id");

    // A draft from an earlier turn, with that turn's logged decision, and a memory.
    let mut conn = app.ctx.db().get().await.expect("db");
    let execution = ExecutionId::new();
    AgentExecution::create(
        &mut conn,
        &AgentExecutionInsertForm {
            id: execution,
            organization_id: org.id,
            agent_id: Some(agent_id),
            chat_id: Some(chat),
            message_id: Some(asked),
            trigger: "inbound".into(),
            status: "running".into(),
            inputs: json!({}),
        },
    )
    .await
    .expect("execution");
    AgentExecution::finish(
        &mut conn,
        org.id,
        execution,
        &AgentExecutionFinishForm {
            status: "drafted".into(),
            outputs: json!({"decision": "draft", "reason": "a rail asked for review"}),
            tool_calls: json!([]),
            guardrail_decisions: json!([
                {"rail": "input.injection", "decision": "allow"},
                {"rail": "output.links", "decision": "needs_approval", "reason": "link not on the allow-list"}
            ]),
            prompt_tokens: 10,
            completion_tokens: 5,
            latency_ms: Some(12),
            error: None,
            finished_at: Some(chrono::Utc::now()),
        },
    )
    .await
    .expect("finished");
    let chat_row = Chat::find(&mut conn, org.id, chat).await.expect("chat");
    let draft = Message::create(
        &mut conn,
        &MessageInsertForm {
            id: MessageId::new(),
            organization_id: org.id,
            chat_id: chat,
            channel_id: chat_row.channel_id,
            direction: Direction::Outbound,
            sender_kind: SenderKind::Agent,
            sender_user_id: None,
            sender_agent_id: Some(agent_id),
            body: "Here is our pricing page: https://example.test/pricing".into(),
            status: MessageStatus::Queued,
            draft_state: Some(DraftState::PendingApproval),
            external_id: None,
            reply_to_message_id: Some(asked),
        },
    )
    .await
    .expect("draft");
    let memory = AgentMemory::create(
        &mut conn,
        &AgentMemoryInsertForm {
            id: MemoryId::new(),
            organization_id: org.id,
            contact_id: chat_row.contact_id,
            agent_id: Some(agent_id),
            kind: MemoryKind::Fact,
            content: "needs 40 seats".into(),
            embedding: None,
            source_message_id: Some(asked),
        },
    )
    .await
    .expect("memory");
    drop(conn);

    let (status, executions) = app
        .get(&format!("/api/v1/chats/{chat}/executions"), &org.key)
        .await;
    assert_eq!(status, StatusCode::OK, "{executions}");
    let statuses: Vec<&str> = executions["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["status"].as_str())
        .collect();
    assert_eq!(statuses.first(), Some(&"drafted"), "{executions}");
    assert!(
        statuses.len() >= 2 && statuses[1..].iter().all(|s| *s == "handed_off"),
        "{executions}"
    );
    let other = app.create_org("elsewhere").await;
    assert_eq!(
        app.get(&format!("/api/v1/chats/{chat}/executions"), &other.key)
            .await
            .0,
        StatusCode::NOT_FOUND
    );

    let seen = run_script(
        &app,
        "agents.mjs",
        json!({"chat_id": chat, "draft_id": draft.id, "memory_id": memory.id, "user": operator}),
    )
    .await;
    assert_eq!(seen["degraded_tag"], json!("Degraded"), "{seen}");
    assert_eq!(
        seen["handoff"],
        json!("AI agent unavailable: model server unreachable — handed to a human"),
        "{seen}"
    );
    let degraded_note = seen["degraded_note"].as_str().unwrap_or_default();
    assert!(
        degraded_note.contains("SDR Agent's drafts are handed to a human"),
        "{seen}"
    );
    let decision = seen["decision"].as_str().unwrap_or_default();
    assert!(
        decision.contains("Agent decision: a rail asked for review"),
        "{seen}"
    );
    assert!(
        decision.contains("output.links: needs approval — link not on the allow-list"),
        "{seen}"
    );
    assert_eq!(seen["memory"], json!("needs 40 seats"));
    assert_eq!(seen["memories_left"], json!(0));
    let (_, memories) = app
        .get(
            &format!("/api/v1/contacts/{}/memories", chat_row.contact_id),
            &org.key,
        )
        .await;
    assert_eq!(
        memories["items"],
        json!([]),
        "deleted in the page: {memories}"
    );
}
