//! `Idempotency-Key`: a retried POST is answered once, not executed twice.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{TestApp, assert_error, read};

#[actix_web::test]
async fn same_key_same_body_replays_the_first_answer() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let send = |body: serde_json::Value, key: &'static str| {
        app.request(Method::POST, "/api/v1/contacts", &org.key)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let first = send(json!({"name": "Once"}), "key-1").await.expect("send");
    assert!(first.headers().get("idempotent-replayed").is_none());
    let (status, first) = read(first).await;
    assert_eq!(status, StatusCode::CREATED);

    let second = send(json!({"name": "Once"}), "key-1").await.expect("send");
    assert_eq!(
        second
            .headers()
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    let (status, second) = read(second).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        first["id"], second["id"],
        "the same contact, not a second one"
    );

    let (_, list) = app.get("/api/v1/contacts?q=Once", &org.key).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));

    let different = read(send(json!({"name": "Twice"}), "key-1").await.expect("send")).await;
    assert_error(
        &different,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    );

    let other_org = app.create_org("globex").await;
    let theirs = app
        .request(Method::POST, "/api/v1/contacts", &other_org.key)
        .header("Idempotency-Key", "key-1")
        .json(&json!({"name": "Once"}))
        .send()
        .await
        .expect("send");
    let (status, theirs) = read(theirs).await;
    assert_eq!(status, StatusCode::CREATED, "keys are per organisation");
    assert_ne!(theirs["id"], first["id"]);
}

#[actix_web::test]
async fn failed_validation_is_replayed_too_but_a_fresh_key_runs() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let post = |key: &'static str| {
        app.request(Method::POST, "/api/v1/contacts", &org.key)
            .header("Idempotency-Key", key)
            .json(&json!({"email": "bad"}))
            .send()
    };
    assert_error(
        &read(post("k").await.expect("send")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_error(
        &read(post("k").await.expect("send")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let too_long = "x".repeat(300);
    let res = app
        .request(Method::POST, "/api/v1/contacts", &org.key)
        .header("Idempotency-Key", too_long)
        .json(&json!({"name": "x"}))
        .send()
        .await
        .expect("send");
    assert_error(
        &read(res).await,
        StatusCode::BAD_REQUEST,
        "invalid_idempotency_key",
    );
}
