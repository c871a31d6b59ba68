//! Agents: CRUD with defaults, tool and prompt validation, filters, pagination, tenant isolation,
//! scopes, audit.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestApp, TestOrg, assert_error, assert_isolated};
use switchboard::domain::Scope;

/// Actions recorded for one record, newest first, with the raw log.
pub(crate) async fn audit_trail(app: &TestApp, key: &str, id: &str) -> (Vec<String>, Value) {
    let (status, log) = app
        .get(&format!("/api/v1/audit-logs?resource_id={id}"), key)
        .await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let actions = log["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["action"].as_str().map(str::to_owned))
        .collect();
    (actions, log)
}

/// A valid agent body named `name`.
pub(crate) fn agent_body(name: &str, kind: &str) -> Value {
    json!({
        "name": name,
        "kind": kind,
        "model": "llama3.1:8b",
        "prompt_template": "You are {{agent.name}}, talking to {{contact.first_name}}.",
    })
}

/// Creates an agent and returns its id.
pub(crate) async fn create_agent(app: &TestApp, org: &TestOrg, body: &Value) -> String {
    let (status, agent) = app.post("/api/v1/agents", &org.key, body).await;
    assert_eq!(status, StatusCode::CREATED, "{agent}");
    agent["id"].as_str().expect("id").to_owned()
}

#[actix_web::test]
async fn agent_lifecycle_is_audited() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let mut body = agent_body("  Sally SDR ", "sdr");
    body["tools"] = json!(["lookup_contact", "remember", "lookup_contact"]);
    body["memory"] = json!({"window": 12});
    body["guardrails"] = json!({"max_discount_percent": 10});
    let (status, created) = app.post("/api/v1/agents", &org.key, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["name"], "Sally SDR", "name is trimmed");
    assert_eq!(created["tools"], json!(["lookup_contact", "remember"]));
    assert_eq!(created["autonomy"], "draft", "drafts by default");
    assert_eq!(created["active"], true);
    assert_eq!(created["max_tokens"], 512);
    assert_eq!(
        created["memory"],
        json!({"window": 12, "recall_k": 5}),
        "missing memory keys take defaults"
    );
    assert_eq!(created["budgets"]["turns_per_chat_per_day"], 20);
    assert_eq!(created["guardrails"]["max_discount_percent"], 10);
    assert!(created.get("organization_id").is_none(), "{created}");
    let id = created["id"].as_str().expect("id").to_owned();

    let (status, got) = app.get(&format!("/api/v1/agents/{id}"), &org.key).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["model"], "llama3.1:8b");

    let (status, updated) = app
        .patch(
            &format!("/api/v1/agents/{id}"),
            &org.key,
            &json!({"temperature": 1.5, "autonomy": "auto", "tools": ["handoff_to_human"],
                    "budgets": {"tokens_per_day": 1000}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["temperature"], 1.5);
    assert_eq!(updated["autonomy"], "auto");
    assert_eq!(updated["tools"], json!(["handoff_to_human"]));
    assert_eq!(updated["budgets"]["tokens_per_day"], 1000);
    assert_eq!(updated["memory"]["window"], 12, "absent fields stay");

    let (status, unchanged) = app
        .patch(&format!("/api/v1/agents/{id}"), &org.key, &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "an empty patch is a no-op");
    assert_eq!(unchanged["autonomy"], "auto");

    let (status, _) = app.delete(&format!("/api/v1/agents/{id}"), &org.key).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_error(
        &app.get(&format!("/api/v1/agents/{id}"), &org.key).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );

    let (actions, log) = audit_trail(&app, &org.key, &id).await;
    assert_eq!(
        actions,
        vec!["delete", "update", "update", "create"],
        "{log}"
    );
    assert_eq!(log["items"][2]["before"]["autonomy"], "draft");
    assert_eq!(log["items"][2]["after"]["autonomy"], "auto");
    assert_eq!(log["items"][3]["resource_type"], "agent");
}

#[actix_web::test]
async fn invalid_agents_name_the_problem() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;

    let mut unknown_tool = agent_body("A", "sdr");
    unknown_tool["tools"] = json!(["remember", "launch_missiles"]);
    let bad = app.post("/api/v1/agents", &org.key, &unknown_tool).await;
    assert_error(&bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let tools = bad.1["error"]["details"]["fields"]["tools"][0]
        .as_str()
        .expect("tools message");
    assert!(tools.contains("launch_missiles"), "{}", bad.1);

    let mut broken_prompt = agent_body("B", "sdr");
    broken_prompt["prompt_template"] = json!("You are helpful.\nGreet {{#if contact}}them");
    let bad = app.post("/api/v1/agents", &org.key, &broken_prompt).await;
    assert_error(&bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let prompt = bad.1["error"]["details"]["fields"]["prompt_template"][0]
        .as_str()
        .expect("prompt message");
    assert!(
        prompt.contains("line 2"),
        "the message locates it: {prompt}"
    );
    assert!(prompt.contains("column"), "{prompt}");

    let mut out_of_range = agent_body("C", "bizdev");
    out_of_range["temperature"] = json!(2.5);
    out_of_range["max_tokens"] = json!(0);
    out_of_range["memory"] = json!({"window": 0});
    out_of_range["budgets"] = json!({"tokens_per_day": 0});
    out_of_range["guardrails"] = json!(["not", "an", "object"]);
    let bad = app.post("/api/v1/agents", &org.key, &out_of_range).await;
    assert_error(&bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    for field in [
        "temperature",
        "max_tokens",
        "memory",
        "budgets",
        "guardrails",
    ] {
        assert!(
            bad.1["error"]["details"]["fields"][field].is_array(),
            "{field}: {}",
            bad.1
        );
    }

    let mut wrong_kind = agent_body("D", "closer");
    wrong_kind["kind"] = json!("closer");
    assert_error(
        &app.post("/api/v1/agents", &org.key, &wrong_kind).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );

    let id = create_agent(&app, &org, &agent_body("Taken", "sdr")).await;
    assert_error(
        &app.post("/api/v1/agents", &org.key, &agent_body("Taken", "followup"))
            .await,
        StatusCode::CONFLICT,
        "already_exists",
    );
    let bad_patch = app
        .patch(
            &format!("/api/v1/agents/{id}"),
            &org.key,
            &json!({"prompt_template": "{{/if}}"}),
        )
        .await;
    assert_error(
        &bad_patch,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert!(
        bad_patch.1["error"]["details"]["fields"]["prompt_template"].is_array(),
        "{}",
        bad_patch.1
    );
    let (_, still) = app.get(&format!("/api/v1/agents/{id}"), &org.key).await;
    assert_eq!(
        still["prompt_template"],
        agent_body("x", "sdr")["prompt_template"],
        "a refused patch changes nothing"
    );
}

#[actix_web::test]
async fn agents_filter_and_paginate() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    for i in 0..3 {
        create_agent(&app, &org, &agent_body(&format!("sdr-{i}"), "sdr")).await;
    }
    let mut inactive = agent_body("bizdev-off", "bizdev");
    inactive["active"] = json!(false);
    create_agent(&app, &org, &inactive).await;
    create_agent(&app, &org, &agent_body("followup-1", "followup")).await;

    let names = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|a| a["name"].as_str().expect("name").to_owned())
            .collect()
    };
    let (_, sdrs) = app.get("/api/v1/agents?kind=sdr", &org.key).await;
    assert_eq!(names(&sdrs), vec!["sdr-2", "sdr-1", "sdr-0"]);
    let (_, off) = app.get("/api/v1/agents?active=false", &org.key).await;
    assert_eq!(names(&off), vec!["bizdev-off"]);

    let (status, first) = app.get("/api/v1/agents?limit=2", &org.key).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(names(&first), vec!["followup-1", "bizdev-off"]);
    let cursor = first["next_cursor"].as_str().expect("more pages");
    let (_, second) = app
        .get(&format!("/api/v1/agents?limit=2&cursor={cursor}"), &org.key)
        .await;
    assert_eq!(names(&second), vec!["sdr-2", "sdr-1"]);
    let cursor = second["next_cursor"].as_str().expect("more pages");
    let (_, last) = app
        .get(&format!("/api/v1/agents?limit=2&cursor={cursor}"), &org.key)
        .await;
    assert_eq!(names(&last), vec!["sdr-0"]);
    assert!(last["next_cursor"].is_null());

    assert_error(
        &app.get("/api/v1/agents?kind=closer", &org.key).await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    );
}

#[actix_web::test]
async fn agents_are_isolated_and_need_configure() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let id = create_agent(&app, &org, &agent_body("Private", "sdr")).await;
    assert_isolated(&app, &format!("/api/v1/agents/{id}"), "/api/v1/agents", &id).await;

    let other = app.create_org("other").await;
    let same_name = app
        .post("/api/v1/agents", &other.key, &agent_body("Private", "sdr"))
        .await;
    assert_eq!(
        same_name.0,
        StatusCode::CREATED,
        "names are unique per organisation only: {}",
        same_name.1
    );

    let reader = app.key_with(&org, &[Scope::Read]).await;
    let (status, _) = app.get(&format!("/api/v1/agents/{id}"), &reader).await;
    assert_eq!(status, StatusCode::OK);
    let writer = app.key_with(&org, &[Scope::Read, Scope::Write]).await;
    for key in [&reader, &writer] {
        let denied = app
            .post("/api/v1/agents", key, &agent_body("Nope", "sdr"))
            .await;
        assert_error(&denied, StatusCode::FORBIDDEN, "forbidden");
        assert_eq!(denied.1["error"]["details"]["required_scope"], "configure");
        assert_error(
            &app.delete(&format!("/api/v1/agents/{id}"), key).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
    }
}
