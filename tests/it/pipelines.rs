//! Pipelines: creation with stages, the single default (also under concurrent switches),
//! isolation, scopes, audit. Stage edits are in `pipeline_stages.rs`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::companies::audit_actions;
use crate::support::{TestApp, assert_error, assert_isolated};
use switchboard::domain::Scope;

/// Creates a pipeline with open stages of these names; returns the body.
pub(crate) async fn create_pipeline(
    app: &TestApp,
    key: &str,
    name: &str,
    stages: &[&str],
) -> Value {
    let stages: Vec<Value> = stages.iter().map(|s| json!({"name": s})).collect();
    let (status, body) = app
        .post(
            "/api/v1/pipelines",
            key,
            &json!({"name": name, "stages": stages}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

/// The pipeline's stages as (name, position), in the order the API lists them.
pub(crate) async fn stage_order(app: &TestApp, key: &str, pipeline: &str) -> Vec<(String, i64)> {
    let (status, body) = app.get(&format!("/api/v1/pipelines/{pipeline}"), key).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().expect("name").to_owned(),
                s["position"].as_i64().expect("position"),
            )
        })
        .collect()
}

/// Asserts the stages are exactly `names`, at positions 0, 1, 2, ...
pub(crate) fn expect_order(got: &[(String, i64)], names: &[&str]) {
    let expected: Vec<(String, i64)> = names
        .iter()
        .zip(0..)
        .map(|(n, i)| ((*n).to_owned(), i))
        .collect();
    assert_eq!(got, expected.as_slice());
}

#[actix_web::test]
async fn pipeline_lifecycle_with_stages_is_audited() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let (status, created) = app
        .post(
            "/api/v1/pipelines",
            &org.key,
            &json!({"name": "Sales", "stages": [
                {"name": "Lead"},
                {"name": "Proposal", "probability": 40},
                {"name": "Won", "probability": 100, "outcome": "won"},
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        created["is_default"], true,
        "the organisation's first pipeline becomes its default"
    );
    assert_eq!(created["stages"][1]["probability"], 40);
    assert_eq!(created["stages"][2]["outcome"], "won");
    assert_eq!(created["stages"][0]["outcome"], "open");
    let id = created["id"].as_str().expect("id").to_owned();
    expect_order(
        &stage_order(&app, &org.key, &id).await,
        &["Lead", "Proposal", "Won"],
    );

    let (status, renamed) = app
        .patch(
            &format!("/api/v1/pipelines/{id}"),
            &org.key,
            &json!({"name": "New business"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["name"], "New business");
    assert_eq!(renamed["stages"].as_array().map(Vec::len), Some(3));

    create_pipeline(&app, &org.key, "Renewals", &[]).await;
    let dup = app
        .post("/api/v1/pipelines", &org.key, &json!({"name": "Renewals"}))
        .await;
    assert_error(&dup, StatusCode::CONFLICT, "already_exists");
    let dup_rename = app
        .patch(
            &format!("/api/v1/pipelines/{id}"),
            &org.key,
            &json!({"name": "Renewals"}),
        )
        .await;
    assert_error(&dup_rename, StatusCode::CONFLICT, "already_exists");

    let (_, list) = app.get("/api/v1/pipelines", &org.key).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(2), "{list}");
    assert_eq!(
        list["items"][1]["stages"][2]["name"], "Won",
        "lists carry stages"
    );

    let (status, _) = app
        .delete(&format!("/api/v1/pipelines/{id}"), &org.key)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_error(
        &app.get(&format!("/api/v1/pipelines/{id}"), &org.key).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let (actions, log) = audit_actions(&app, &org.key, &id).await;
    assert_eq!(actions, vec!["delete", "update", "create"], "{log}");
    assert_eq!(log["items"][2]["after"]["stages"][0]["name"], "Lead");
}

#[actix_web::test]
async fn only_one_pipeline_is_default() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let a = create_pipeline(&app, &org.key, "A", &["s"]).await;
    let a_id = a["id"].as_str().expect("id");
    assert_eq!(a["is_default"], true);
    let b = create_pipeline(&app, &org.key, "B", &["s"]).await;
    let b_id = b["id"].as_str().expect("id");
    assert_eq!(b["is_default"], false, "A stays the default");

    let defaults = async || -> Vec<String> {
        let (_, list) = app.get("/api/v1/pipelines", &org.key).await;
        list["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|p| p["is_default"] == true)
            .map(|p| p["name"].as_str().expect("name").to_owned())
            .collect()
    };

    let (status, c) = app
        .post(
            "/api/v1/pipelines",
            &org.key,
            &json!({"name": "C", "is_default": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{c}");
    assert_eq!(c["is_default"], true);
    assert_eq!(defaults().await, vec!["C"]);

    let (status, b) = app
        .patch(
            &format!("/api/v1/pipelines/{b_id}"),
            &org.key,
            &json!({"is_default": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{b}");
    assert_eq!(defaults().await, vec!["B"]);

    let (status, again) = app
        .patch(
            &format!("/api/v1/pipelines/{b_id}"),
            &org.key,
            &json!({"is_default": true}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "re-marking the default is harmless: {again}"
    );
    assert_eq!(defaults().await, vec!["B"]);

    let (status, _) = app
        .patch(
            &format!("/api/v1/pipelines/{b_id}"),
            &org.key,
            &json!({"is_default": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(defaults().await.is_empty());
    let d = create_pipeline(&app, &org.key, "D", &[]).await;
    assert_eq!(
        d["is_default"], true,
        "with no default left, the next pipeline becomes it"
    );

    let (status, a) = app
        .patch(
            &format!("/api/v1/pipelines/{a_id}"),
            &org.key,
            &json!({"is_default": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{a}");
    assert_eq!(defaults().await, vec!["A"]);
}

#[actix_web::test]
async fn concurrent_default_switches_leave_one_default() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let mut ids = Vec::new();
    for name in ["A", "B", "C", "D"] {
        let pipeline = create_pipeline(&app, &org.key, name, &[]).await;
        ids.push(pipeline["id"].as_str().expect("id").to_owned());
    }
    for _ in 0..3 {
        let body = json!({"is_default": true});
        let paths: Vec<String> = ids
            .iter()
            .map(|id| format!("/api/v1/pipelines/{id}"))
            .collect();
        let switches = paths.iter().map(|path| app.patch(path, &org.key, &body));
        for (status, body) in futures_util::future::join_all(switches).await {
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        let (_, list) = app.get("/api/v1/pipelines", &org.key).await;
        let defaults = list["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|p| p["is_default"] == true)
            .count();
        assert_eq!(defaults, 1, "{list}");
    }
}

#[actix_web::test]
async fn pipelines_are_isolated_and_need_configure() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let pipeline = create_pipeline(&app, &org.key, "Secret", &["Lead"]).await;
    let id = pipeline["id"].as_str().expect("id");
    let stage = pipeline["stages"][0]["id"].as_str().expect("stage");
    assert_isolated(
        &app,
        &format!("/api/v1/pipelines/{id}"),
        "/api/v1/pipelines",
        id,
    )
    .await;

    let other = app.create_org("intruder").await;
    let stage_url = format!("/api/v1/pipelines/{id}/stages/{stage}");
    assert_error(
        &app.post(
            &format!("/api/v1/pipelines/{id}/stages"),
            &other.key,
            &json!({"name": "x"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &app.patch(&stage_url, &other.key, &json!({"name": "x"}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &app.delete(&stage_url, &other.key).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let foreign_pipeline = create_pipeline(&app, &other.key, "Theirs", &[]).await;
    let foreign_id = foreign_pipeline["id"].as_str().expect("id");
    assert_error(
        &app.patch(
            &format!("/api/v1/pipelines/{foreign_id}/stages/{stage}"),
            &other.key,
            &json!({"name": "x"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    expect_order(&stage_order(&app, &org.key, id).await, &["Lead"]);

    let operator = app.key_with(&org, &[Scope::Read, Scope::Write]).await;
    let (status, _) = app.get(&format!("/api/v1/pipelines/{id}"), &operator).await;
    assert_eq!(status, StatusCode::OK);
    let denied = app
        .post("/api/v1/pipelines", &operator, &json!({"name": "x"}))
        .await;
    assert_error(&denied, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(denied.1["error"]["details"]["required_scope"], "configure");
    assert_error(
        &app.post(
            &format!("/api/v1/pipelines/{id}/stages"),
            &operator,
            &json!({"name": "x"}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        &app.delete(&stage_url, &operator).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        &app.delete(&format!("/api/v1/pipelines/{id}"), &operator)
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
}
