//! Health, metrics, the OpenAPI document and docs page, request ids, error shapes at the edge.

use reqwest::StatusCode;

use crate::support::{TestApp, assert_error, read};

#[actix_web::test]
async fn health_reports_dependencies() {
    let app = TestApp::spawn().await;
    let (status, live) = read(
        app.http
            .get(app.url("/health/live"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(
        (status, live["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let (status, ready) = read(
        app.http
            .get(app.url("/health/ready"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    assert_eq!(ready["postgres"]["ok"], true);
    assert_eq!(ready["pgvector"]["ok"], true, "{ready}");
    assert_eq!(ready["redis"]["ok"], true);
    assert_eq!(
        ready["ollama"]["ok"], false,
        "no model server in tests, and that is not fatal"
    );
}

#[actix_web::test]
async fn metrics_count_requests_by_route() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    app.get("/api/v1/contacts", &org.key).await;
    let text = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("send")
        .text()
        .await
        .expect("text");
    assert!(
        text.contains("http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(text.contains("route=\"/api/v1/contacts\""), "{text}");
    assert!(text.contains("db_pool_max_size"), "{text}");
}

#[actix_web::test]
async fn openapi_document_and_docs_page_are_served() {
    let app = TestApp::spawn().await;
    let (status, doc) = read(
        app.http
            .get(app.url("/api/v1/openapi.json"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    for path in [
        "/api/v1/contacts",
        "/api/v1/contacts/{id}",
        "/api/v1/auth/login",
        "/api/v1/members",
        "/api/v1/api-keys",
        "/api/v1/audit-logs",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the document"
        );
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    let page = app
        .http
        .get(app.url("/api/docs/"))
        .send()
        .await
        .expect("send");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(html.contains("swagger"), "docs page is Swagger UI");
    assert!(!html.contains("cdn.") && !html.contains("unpkg"), "no CDN");
}

#[actix_web::test]
async fn request_ids_are_echoed_and_unknown_routes_are_json_404() {
    let app = TestApp::spawn().await;
    let res = app
        .http
        .get(app.url("/nope"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .expect("send");
    assert_eq!(
        res.headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some("abc-123")
    );
    assert_error(&read(res).await, StatusCode::NOT_FOUND, "route_not_found");
    let res = app
        .http
        .get(app.url("/health/live"))
        .send()
        .await
        .expect("send");
    assert!(
        res.headers()
            .get("x-request-id")
            .is_some_and(|v| v.len() >= 32),
        "a fresh id when none was sent"
    );
    let res = app
        .http
        .get(app.url("/health/live"))
        .header("x-request-id", "bad id\twith junk")
        .send()
        .await
        .expect("send");
    assert_ne!(
        res.headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some("bad id\twith junk")
    );
}

#[actix_web::test]
async fn oversize_bodies_get_413() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let huge = serde_json::json!({"name": "x".repeat(300 * 1024)});
    let res = app
        .request(reqwest::Method::POST, "/api/v1/contacts", &org.key)
        .json(&huge)
        .send()
        .await
        .expect("send");
    assert_error(
        &read(res).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
}
