//! The memories API over real PostgreSQL+pgvector and the Ollama-compatible test server: an
//! operator lists, adds, corrects (re-embedded) and deletes a contact's memories; another
//! organisation sees none of them; a model server that is down is a 503 that changes nothing.

use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;

use crate::agent_llm::llm_config;
use crate::chats::fixture;
use crate::ollama_server::OllamaServer;
use crate::support::{TestApp, assert_error, test_config};
use switchboard::db::models::{AgentMemory, AgentMemoryInsertForm};
use switchboard::domain::{ContactId, MemoryId, MemoryKind, Scope};
use switchboard::llm::LlmClient;
use switchboard::memory::LongTermMemory;

async fn app_with_model(server: &OllamaServer) -> TestApp {
    let mut config = test_config();
    config.llm.base_url = server.url.clone();
    TestApp::spawn_with(config).await
}

#[actix_web::test]
async fn memories_lifecycle_newest_first_and_paginated() {
    let server = OllamaServer::start(384);
    let app = app_with_model(&server).await;
    let org = app.create_org("memories-life").await;
    let fx = fixture(&app, &org, "memories-life").await;
    let base = format!("/api/v1/contacts/{}/memories", fx.contact);

    let (status, list) = app.get(&base, &org.key).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["items"], json!([]));

    let mut ids = Vec::new();
    for (kind, content) in [
        ("fact", "works from Lisbon"),
        ("preference", "prefers email over phone calls"),
        ("fact", "renews every March"),
    ] {
        let (status, row) = app
            .post(&base, &org.key, &json!({"kind": kind, "content": content}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{row}");
        assert_eq!(row["content"], content);
        assert_eq!(row["kind"], kind);
        assert_eq!(row["contact_id"], fx.contact.as_str());
        ids.push(row["id"].as_str().expect("id").to_owned());
    }

    let (status, page) = app.get(&format!("{base}?limit=2"), &org.key).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let first: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|m| m["id"].as_str().expect("id"))
        .collect();
    assert_eq!(first, vec![ids[2].as_str(), ids[1].as_str()]);
    let cursor = page["next_cursor"].as_str().expect("a next page");
    let (_, rest) = app
        .get(&format!("{base}?limit=2&cursor={cursor}"), &org.key)
        .await;
    assert_eq!(rest["items"][0]["id"], ids[0].as_str());
    assert!(rest["next_cursor"].is_null(), "{rest}");

    let one = format!("{base}/{}", ids[0]);
    let (status, edited) = app
        .patch(&one, &org.key, &json!({"content": "works from Porto"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["content"], "works from Porto");

    let (status, _) = app.delete(&one, &org.key).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_error(
        &app.delete(&one, &org.key).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let (_, list) = app.get(&base, &org.key).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(2));
}

#[actix_web::test]
async fn an_edit_is_re_embedded_so_recall_finds_the_new_content() {
    let server = OllamaServer::start(384);
    let app = app_with_model(&server).await;
    let org = app.create_org("memories-reembed").await;
    let fx = fixture(&app, &org, "memories-reembed").await;
    let base = format!("/api/v1/contacts/{}/memories", fx.contact);
    let contact = ContactId(fx.contact.parse().expect("contact id"));
    let (_, a) = app
        .post(
            &base,
            &org.key,
            &json!({"kind": "fact", "content": "annual budget is fifty thousand euros"}),
        )
        .await;
    app.post(
        &base,
        &org.key,
        &json!({"kind": "preference", "content": "prefers email over phone calls"}),
    )
    .await;

    let client = LlmClient::new(&llm_config(&server.url, 0)).expect("client");
    let memory = LongTermMemory::new(app.ctx.db().clone(), Arc::new(client));
    let query = "they play chess in a club on weekends";
    let before = memory
        .recall(org.id, contact, query, 1)
        .await
        .expect("recall");
    assert_ne!(before[0].memory.content, query);

    let (status, edited) = app
        .patch(
            &format!("{base}/{}", a["id"].as_str().expect("id")),
            &org.key,
            &json!({"content": query}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    let after = memory
        .recall(org.id, contact, query, 1)
        .await
        .expect("recall");
    assert_eq!(after[0].memory.content, query);
    assert_eq!(
        after[0].memory.id.to_string(),
        a["id"].as_str().expect("id")
    );
    assert!(after[0].similarity > before[0].similarity);
}

#[actix_web::test]
async fn invalid_memories_are_refused_and_read_keys_cannot_write() {
    let server = OllamaServer::start(384);
    let app = app_with_model(&server).await;
    let org = app.create_org("memories-invalid").await;
    let fx = fixture(&app, &org, "memories-invalid").await;
    let base = format!("/api/v1/contacts/{}/memories", fx.contact);

    for body in [
        json!({"kind": "fact", "content": ""}),
        json!({"kind": "fact", "content": "x".repeat(4001)}),
        json!({"kind": "fact", "content": "   "}),
    ] {
        let got = app.post(&base, &org.key, &body).await;
        assert_eq!(got.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", got.1);
        assert_eq!(got.1["error"]["code"], "validation_failed", "{}", got.1);
    }
    for body in [
        json!({"kind": "rumour", "content": "x"}),
        json!({"content": "x"}),
        json!({"kind": "fact", "content": "x", "agent_id": null}),
    ] {
        let got = app.post(&base, &org.key, &body).await;
        assert!(got.0.is_client_error(), "{body} -> {} {}", got.0, got.1);
    }
    let (_, row) = app
        .post(
            &base,
            &org.key,
            &json!({"kind": "fact", "content": "speaks Dutch"}),
        )
        .await;
    let one = format!("{base}/{}", row["id"].as_str().expect("id"));
    let got = app.patch(&one, &org.key, &json!({"content": ""})).await;
    assert_eq!(got.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", got.1);

    let reader = app.key_with(&org, &[Scope::Read]).await;
    let (status, _) = app.get(&base, &reader).await;
    assert_eq!(status, StatusCode::OK);
    let got = app
        .post(&base, &reader, &json!({"kind": "fact", "content": "x"}))
        .await;
    assert_eq!(got.0, StatusCode::FORBIDDEN, "{}", got.1);
    let got = app.delete(&one, &reader).await;
    assert_eq!(got.0, StatusCode::FORBIDDEN, "{}", got.1);

    let (_, unchanged) = app.get(&base, &org.key).await;
    assert_eq!(unchanged["items"].as_array().map(Vec::len), Some(1));
}

#[actix_web::test]
async fn another_organisations_contact_or_memory_is_not_found() {
    let server = OllamaServer::start(384);
    let app = app_with_model(&server).await;
    let org = app.create_org("memories-owner").await;
    let other = app.create_org("memories-intruder").await;
    let fx = fixture(&app, &org, "memories-owner").await;
    let theirs = fixture(&app, &other, "memories-intruder").await;
    let base = format!("/api/v1/contacts/{}/memories", fx.contact);
    let (_, row) = app
        .post(
            &base,
            &org.key,
            &json!({"kind": "fact", "content": "speaks Dutch"}),
        )
        .await;
    let id = row["id"].as_str().expect("id");
    let one = format!("{base}/{id}");

    assert_error(
        &app.get(&base, &other.key).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &app.post(&base, &other.key, &json!({"kind": "fact", "content": "x"}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &app.patch(&one, &other.key, &json!({"content": "hijacked"}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &app.delete(&one, &other.key).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    // The memory's id under the intruder's own contact is not theirs either.
    let under_theirs = format!("/api/v1/contacts/{}/memories/{id}", theirs.contact);
    assert_error(
        &app.delete(&under_theirs, &other.key).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );

    let (_, list) = app.get(&base, &org.key).await;
    assert_eq!(list["items"][0]["content"], "speaks Dutch");
}

#[actix_web::test]
async fn writes_answer_503_when_the_embedding_model_is_down() {
    // test_config points the model client at a closed port.
    let app = TestApp::spawn().await;
    let org = app.create_org("memories-down").await;
    let fx = fixture(&app, &org, "memories-down").await;
    let base = format!("/api/v1/contacts/{}/memories", fx.contact);
    assert_error(
        &app.post(&base, &org.key, &json!({"kind": "fact", "content": "x"}))
            .await,
        StatusCode::SERVICE_UNAVAILABLE,
        "embedding_unavailable",
    );
    let (status, list) = app.get(&base, &org.key).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["items"], json!([]));

    // A memory stored earlier cannot be corrected while the model is down, and stays as it was.
    let mut conn = app.ctx.db().get().await.expect("db");
    let stored = AgentMemory::create(
        &mut conn,
        &AgentMemoryInsertForm {
            id: MemoryId::new(),
            organization_id: org.id,
            contact_id: ContactId(fx.contact.parse().expect("contact id")),
            agent_id: None,
            kind: MemoryKind::Fact,
            content: "speaks Dutch".into(),
            embedding: None,
            source_message_id: None,
        },
    )
    .await
    .expect("stored");
    assert_error(
        &app.patch(
            &format!("{base}/{}", stored.id),
            &org.key,
            &json!({"content": "speaks German"}),
        )
        .await,
        StatusCode::SERVICE_UNAVAILABLE,
        "embedding_unavailable",
    );
    let (_, list) = app.get(&base, &org.key).await;
    assert_eq!(list["items"][0]["content"], "speaks Dutch");
}
