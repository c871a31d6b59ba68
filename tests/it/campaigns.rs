//! Campaigns (configuration only): CRUD with steps, whole-sequence replacement, shape checks of
//! audience and settings, read-only status, no edits once started, isolation, scopes, audit.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::agents::{agent_body, audit_trail, create_agent};
use crate::support::{TestApp, TestOrg, assert_error, assert_isolated, read};
use crate::templates::create_template;
use switchboard::db::schema::campaigns;
use switchboard::domain::Scope;

/// Creates a campaign and returns it.
async fn create_campaign(app: &TestApp, org: &TestOrg, body: &Value) -> Value {
    let (status, campaign) = app.post("/api/v1/campaigns", &org.key, body).await;
    assert_eq!(status, StatusCode::CREATED, "{campaign}");
    campaign
}

/// `PUT /campaigns/{id}/steps`.
async fn put_steps(app: &TestApp, key: &str, id: &str, steps: Value) -> (StatusCode, Value) {
    read(
        app.request(Method::PUT, &format!("/api/v1/campaigns/{id}/steps"), key)
            .json(&json!({ "steps": steps }))
            .send()
            .await
            .expect("send"),
    )
    .await
}

/// Moves a campaign to `status` behind the API's back, as the campaign actor would.
async fn force_status(app: &TestApp, id: &str, status: &str) {
    let id: uuid::Uuid = id.parse().expect("uuid");
    let mut conn = app.ctx.db().get().await.expect("db");
    diesel::update(campaigns::table.filter(campaigns::id.eq(id)))
        .set(campaigns::status.eq(status))
        .execute(&mut conn)
        .await
        .expect("status set");
}

fn positions_and_bodies(campaign: &Value) -> Vec<(i64, Value)> {
    campaign["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| (s["position"].as_i64().expect("position"), s["body"].clone()))
        .collect()
}

#[actix_web::test]
async fn campaign_lifecycle_with_steps_is_audited() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let agent = create_agent(&app, &org, &agent_body("Follow", "followup")).await;
    let template = create_template(
        &app,
        &org,
        &json!({"name": "Intro", "kind": "email", "subject": "Hi", "body": "Hello {{contact.name}}"}),
    )
    .await;
    let created = create_campaign(
        &app,
        &org,
        &json!({"name": "Q3 outreach", "agent_id": agent,
                "audience": {"tags": [" vip "]},
                "settings": {"max_per_hour": 30, "quiet_hours": {"start": "21:00", "end": "08:00"}, "stop_on_reply": true},
                "starts_at": "2030-01-01T09:00:00Z",
                "steps": [{"template_id": template},
                          {"delay_seconds": 86400, "subject": "Following up", "body": "Still keen, {{contact.first_name}}?"},
                          {"delay_seconds": 172800, "body": "Last note"}]}),
    )
    .await;
    assert_eq!(created["status"], "draft");
    assert_eq!(created["agent_id"], agent.as_str());
    assert_eq!(created["audience"], json!({"tags": ["vip"]}));
    assert_eq!(created["settings"]["quiet_hours"]["start"], "21:00");
    assert_eq!(
        positions_and_bodies(&created),
        vec![
            (0, Value::Null),
            (1, json!("Still keen, {{contact.first_name}}?")),
            (2, json!("Last note"))
        ]
    );
    assert_eq!(created["steps"][0]["template_id"], template.as_str());
    let id = created["id"].as_str().expect("id").to_owned();

    let (status, got) = app.get(&format!("/api/v1/campaigns/{id}"), &org.key).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(positions_and_bodies(&got), positions_and_bodies(&created));

    let (status, updated) = app
        .patch(
            &format!("/api/v1/campaigns/{id}"),
            &org.key,
            &json!({"name": "Q3 outreach v2", "agent_id": null, "settings": {"stop_on_reply": false}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["name"], "Q3 outreach v2");
    assert!(updated["agent_id"].is_null(), "null clears: {updated}");
    assert_eq!(updated["settings"], json!({"stop_on_reply": false}));
    assert_eq!(updated["steps"].as_array().map(Vec::len), Some(3));

    let (status, replaced) = put_steps(
        &app,
        &org.key,
        &id,
        json!([{"body": "Only {{contact.first_name}}"}, {"delay_seconds": 60, "template_id": template}]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(
        positions_and_bodies(&replaced),
        vec![(0, json!("Only {{contact.first_name}}")), (1, Value::Null)]
    );
    let (_, got) = app.get(&format!("/api/v1/campaigns/{id}"), &org.key).await;
    assert_eq!(
        positions_and_bodies(&got),
        positions_and_bodies(&replaced),
        "the old sequence is gone"
    );

    let bad = put_steps(
        &app,
        &org.key,
        &id,
        json!([{"body": "ok"}, {"delay_seconds": 5}]),
    )
    .await;
    assert_error(&bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let (_, got) = app.get(&format!("/api/v1/campaigns/{id}"), &org.key).await;
    assert_eq!(
        positions_and_bodies(&got),
        positions_and_bodies(&replaced),
        "a refused replacement changes nothing"
    );

    assert_error(
        &app.delete(&format!("/api/v1/templates/{template}"), &org.key)
            .await,
        StatusCode::CONFLICT,
        "template_in_use",
    );

    let (status, _) = app
        .delete(&format!("/api/v1/campaigns/{id}"), &org.key)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_error(
        &app.get(&format!("/api/v1/campaigns/{id}"), &org.key).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let (status, _) = app
        .delete(&format!("/api/v1/templates/{template}"), &org.key)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "no longer in use");

    let (actions, log) = audit_trail(&app, &org.key, &id).await;
    assert_eq!(
        actions,
        vec!["delete", "update", "update", "create"],
        "{log}"
    );
    assert_eq!(
        log["items"][1]["before"]["steps"].as_array().map(Vec::len),
        Some(3)
    );
    assert_eq!(
        log["items"][1]["after"]["steps"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(log["items"][3]["after"]["steps"][2]["body"], "Last note");
}

#[actix_web::test]
async fn invalid_campaigns_name_the_field() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let bad_steps = app
        .post(
            "/api/v1/campaigns",
            &org.key,
            &json!({"name": "C", "steps": [{"body": "fine"}, {"delay_seconds": 10},
                                           {"body": "Hi {{#if x}}"}, {"body": "x", "delay_seconds": -1}]}),
        )
        .await;
    assert_error(
        &bad_steps,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let fields = &bad_steps.1["error"]["details"]["fields"];
    assert!(fields["steps[1].body"].is_array(), "{fields}");
    let compile = fields["steps[2].body"][0]
        .as_str()
        .expect("compile message");
    assert!(compile.contains("line 1"), "{compile}");
    assert!(fields["steps[3].delay_seconds"].is_array(), "{fields}");
    assert!(fields.get("steps[0].body").is_none(), "{fields}");

    let status = app
        .post(
            "/api/v1/campaigns",
            &org.key,
            &json!({"name": "C", "status": "running"}),
        )
        .await;
    assert_error(
        &status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert!(
        status.1["error"]["details"]["fields"]["status"].is_array(),
        "{}",
        status.1
    );

    for (field, body) in [
        (
            "audience",
            json!({"name": "C", "audience": {"tags": "vip"}}),
        ),
        (
            "audience",
            json!({"name": "C", "audience": {"segment": "all"}}),
        ),
        (
            "settings",
            json!({"name": "C", "settings": {"quiet_hours": {"start": "9pm", "end": "08:00"}}}),
        ),
        (
            "settings",
            json!({"name": "C", "settings": {"max_per_hour": 0}}),
        ),
        ("settings", json!({"name": "C", "settings": "fast"})),
        ("name", json!({"name": "   "})),
    ] {
        let bad = app.post("/api/v1/campaigns", &org.key, &body).await;
        assert_error(&bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert!(
            bad.1["error"]["details"]["fields"][field].is_array(),
            "{field}: {}",
            bad.1
        );
    }

    let other = app.create_org("other").await;
    let foreign_agent = create_agent(&app, &other, &agent_body("Theirs", "sdr")).await;
    let foreign_template = create_template(
        &app,
        &other,
        &json!({"name": "Theirs", "kind": "message", "body": "x"}),
    )
    .await;
    let (_, foreign_company) = app
        .post(
            "/api/v1/companies",
            &other.key,
            &json!({"name": "Their Co"}),
        )
        .await;
    for (field, body) in [
        ("agent_id", json!({"name": "C", "agent_id": foreign_agent})),
        (
            "template_id",
            json!({"name": "C", "steps": [{"template_id": foreign_template}]}),
        ),
        (
            "audience.company_id",
            json!({"name": "C", "audience": {"company_id": foreign_company["id"]}}),
        ),
    ] {
        let bad = app.post("/api/v1/campaigns", &org.key, &body).await;
        assert_error(&bad, StatusCode::UNPROCESSABLE_ENTITY, "invalid_reference");
        assert_eq!(bad.1["error"]["details"]["field"], field, "{}", bad.1);
    }
    let (_, list) = app.get("/api/v1/campaigns", &org.key).await;
    assert_eq!(
        list["items"].as_array().map(Vec::len),
        Some(0),
        "nothing half-created: {list}"
    );
}

#[actix_web::test]
async fn started_campaigns_cannot_be_edited() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let campaign = create_campaign(
        &app,
        &org,
        &json!({"name": "Live", "steps": [{"body": "Hi"}]}),
    )
    .await;
    let id = campaign["id"].as_str().expect("id").to_owned();

    let status_patch = app
        .patch(
            &format!("/api/v1/campaigns/{id}"),
            &org.key,
            &json!({"status": "running"}),
        )
        .await;
    assert_error(
        &status_patch,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );

    force_status(&app, &id, "running").await;
    let (_, running) = app.get("/api/v1/campaigns?status=running", &org.key).await;
    assert_eq!(running["items"][0]["id"], id.as_str(), "{running}");
    let (_, drafts) = app.get("/api/v1/campaigns?status=draft", &org.key).await;
    assert_eq!(drafts["items"].as_array().map(Vec::len), Some(0));

    let patch = app
        .patch(
            &format!("/api/v1/campaigns/{id}"),
            &org.key,
            &json!({"name": "Renamed"}),
        )
        .await;
    assert_error(&patch, StatusCode::CONFLICT, "campaign_not_editable");
    assert_eq!(patch.1["error"]["details"]["status"], "running");
    assert_error(
        &put_steps(&app, &org.key, &id, json!([{"body": "Changed"}])).await,
        StatusCode::CONFLICT,
        "campaign_not_editable",
    );
    assert_error(
        &app.delete(&format!("/api/v1/campaigns/{id}"), &org.key)
            .await,
        StatusCode::CONFLICT,
        "campaign_running",
    );
    let (_, unchanged) = app.get(&format!("/api/v1/campaigns/{id}"), &org.key).await;
    assert_eq!(unchanged["name"], "Live");
    assert_eq!(unchanged["steps"][0]["body"], "Hi");

    force_status(&app, &id, "scheduled").await;
    let (status, renamed) = app
        .patch(
            &format!("/api/v1/campaigns/{id}"),
            &org.key,
            &json!({"name": "Renamed"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "scheduled campaigns stay editable: {renamed}"
    );

    force_status(&app, &id, "completed").await;
    let (status, _) = app
        .delete(&format!("/api/v1/campaigns/{id}"), &org.key)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "finished campaigns can go");
}

#[actix_web::test]
async fn campaigns_paginate_isolate_and_need_configure() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let c = create_campaign(&app, &org, &json!({"name": format!("C{i}")})).await;
        ids.push(c["id"].as_str().expect("id").to_owned());
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/campaigns?limit=2".to_owned();
    loop {
        let (status, page) = app.get(&path, &org.key).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        for item in page["items"].as_array().expect("items") {
            assert!(item.get("steps").is_none(), "lists leave steps out");
            seen.push(item["id"].as_str().expect("id").to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/campaigns?limit=2&cursor={c}"),
            None => break,
        }
    }
    ids.reverse();
    assert_eq!(seen, ids, "every campaign once, newest first");

    let id = &ids[0];
    assert_isolated(
        &app,
        &format!("/api/v1/campaigns/{id}"),
        "/api/v1/campaigns",
        id,
    )
    .await;
    let other = app.create_org("other").await;
    assert_error(
        &put_steps(&app, &other.key, id, json!([{"body": "hijack"}])).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );

    let operator = app.key_with(&org, &[Scope::Read, Scope::Write]).await;
    let (status, _) = app.get(&format!("/api/v1/campaigns/{id}"), &operator).await;
    assert_eq!(status, StatusCode::OK);
    let denied = app
        .post("/api/v1/campaigns", &operator, &json!({"name": "N"}))
        .await;
    assert_error(&denied, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(denied.1["error"]["details"]["required_scope"], "configure");
    assert_error(
        &put_steps(&app, &operator, id, json!([])).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
}
