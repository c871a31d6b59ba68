//! Webhooks: CRUD, URL and event validation, the signing secret shown exactly once (and never
//! listed, fetched or audited), rotation, filters, isolation, scopes.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::agents::audit_trail;
use crate::support::{TestApp, TestOrg, assert_error, assert_isolated, read};
use switchboard::db::models::Webhook;
use switchboard::domain::{Scope, WebhookId};

async fn create_webhook(app: &TestApp, org: &TestOrg, body: &Value) -> Value {
    let (status, webhook) = app.post("/api/v1/webhooks", &org.key, body).await;
    assert_eq!(status, StatusCode::CREATED, "{webhook}");
    webhook
}

async fn rotate(app: &TestApp, key: &str, id: &str) -> (StatusCode, Value) {
    read(
        app.request(
            Method::POST,
            &format!("/api/v1/webhooks/{id}/rotate-secret"),
            key,
        )
        .send()
        .await
        .expect("send"),
    )
    .await
}

/// The secret as stored, read behind the API's back.
async fn stored_secret(app: &TestApp, org: &TestOrg, id: &str) -> String {
    let mut conn = app.ctx.db().get().await.expect("db");
    let id = WebhookId(id.parse().expect("uuid"));
    Webhook::find(&mut conn, org.id, id)
        .await
        .expect("webhook")
        .secret
        .expose()
        .clone()
}

#[actix_web::test]
async fn webhook_secret_is_shown_once_and_never_again() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let created = create_webhook(
        &app,
        &org,
        &json!({"url": "https://hooks.example.com/switchboard", "description": "CRM sync",
                "events": ["message.created", "deal.updated", "message.created"]}),
    )
    .await;
    let secret = created["secret"]
        .as_str()
        .expect("secret shown on create")
        .to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(secret.len(), "whsec_".len() + 64);
    assert_eq!(
        created["events"],
        json!(["message.created", "deal.updated"])
    );
    assert_eq!(created["active"], true);
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(stored_secret(&app, &org, &id).await, secret);

    let (status, got) = app.get(&format!("/api/v1/webhooks/{id}"), &org.key).await;
    assert_eq!(status, StatusCode::OK);
    assert!(got.get("secret").is_none(), "{got}");
    assert!(!got.to_string().contains(&secret));
    let (_, list) = app.get("/api/v1/webhooks", &org.key).await;
    assert_eq!(list["items"][0]["id"], id.as_str());
    assert!(!list.to_string().contains(&secret), "{list}");

    let (status, updated) = app
        .patch(
            &format!("/api/v1/webhooks/{id}"),
            &org.key,
            &json!({"events": ["chat.created"], "active": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["events"], json!(["chat.created"]));
    assert_eq!(updated["active"], false);
    assert_eq!(updated["url"], "https://hooks.example.com/switchboard");
    assert!(updated.get("secret").is_none());

    let (status, rotated) = rotate(&app, &org.key, &id).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new_secret = rotated["secret"]
        .as_str()
        .expect("new secret shown")
        .to_owned();
    assert!(new_secret.starts_with("whsec_"));
    assert_ne!(new_secret, secret);
    assert_eq!(stored_secret(&app, &org, &id).await, new_secret);
    let (_, got) = app.get(&format!("/api/v1/webhooks/{id}"), &org.key).await;
    assert!(got.get("secret").is_none(), "{got}");

    let (status, _) = app
        .delete(&format!("/api/v1/webhooks/{id}"), &org.key)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_error(
        &app.get(&format!("/api/v1/webhooks/{id}"), &org.key).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );

    let (actions, log) = audit_trail(&app, &org.key, &id).await;
    assert_eq!(
        actions,
        vec!["delete", "rotate_secret", "update", "create"],
        "{log}"
    );
    let text = log.to_string();
    assert!(
        !text.contains(&secret) && !text.contains(&new_secret) && !text.contains("whsec_"),
        "no secret in the audit log: {log}"
    );
    assert_eq!(
        log["items"][3]["after"]["url"],
        "https://hooks.example.com/switchboard"
    );
}

#[actix_web::test]
async fn invalid_webhooks_are_refused() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    for (field, body) in [
        (
            "url",
            json!({"url": "ftp://example.com/in", "events": ["chat.created"]}),
        ),
        (
            "url",
            json!({"url": "not a url", "events": ["chat.created"]}),
        ),
        (
            "url",
            json!({"url": "https://user:pw@example.com/", "events": ["chat.created"]}),
        ),
        (
            "events",
            json!({"url": "https://example.com/in", "events": []}),
        ),
        (
            "events",
            json!({"url": "https://example.com/in", "events": ["chat.exploded"]}),
        ),
    ] {
        let bad = app.post("/api/v1/webhooks", &org.key, &body).await;
        assert_error(&bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert!(
            bad.1["error"]["details"]["fields"][field].is_array(),
            "{field}: {}",
            bad.1
        );
    }
    let unknown = app
        .post(
            "/api/v1/webhooks",
            &org.key,
            &json!({"url": "https://example.com/in", "events": ["chat.exploded"]}),
        )
        .await;
    let message = unknown.1["error"]["details"]["fields"]["events"][0]
        .as_str()
        .expect("message");
    assert!(message.contains("chat.exploded"), "{message}");

    let secret_in_body = app
        .post(
            "/api/v1/webhooks",
            &org.key,
            &json!({"url": "https://example.com/in", "events": ["chat.created"], "secret": "mine"}),
        )
        .await;
    assert_error(
        &secret_in_body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );

    let id = create_webhook(
        &app,
        &org,
        &json!({"url": "http://localhost:9000/hook", "events": ["chat.created"]}),
    )
    .await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let bad_patch = app
        .patch(
            &format!("/api/v1/webhooks/{id}"),
            &org.key,
            &json!({"events": []}),
        )
        .await;
    assert_error(
        &bad_patch,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
}

#[actix_web::test]
async fn webhooks_filter_isolate_and_need_configure() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let deals = create_webhook(
        &app,
        &org,
        &json!({"url": "https://a.example.com", "events": ["deal.updated"]}),
    )
    .await;
    let chats = create_webhook(
        &app,
        &org,
        &json!({"url": "https://b.example.com", "events": ["chat.created"], "active": false}),
    )
    .await;
    let ids = |page: &Value| -> Vec<Value> {
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|w| w["id"].clone())
            .collect()
    };
    let (_, by_event) = app
        .get("/api/v1/webhooks?event=deal.updated", &org.key)
        .await;
    assert_eq!(ids(&by_event), vec![deals["id"].clone()]);
    let (_, inactive) = app.get("/api/v1/webhooks?active=false", &org.key).await;
    assert_eq!(ids(&inactive), vec![chats["id"].clone()]);
    let (_, first) = app.get("/api/v1/webhooks?limit=1", &org.key).await;
    assert_eq!(ids(&first), vec![chats["id"].clone()]);
    assert!(first["next_cursor"].is_string());

    let id = deals["id"].as_str().expect("id");
    assert_isolated(
        &app,
        &format!("/api/v1/webhooks/{id}"),
        "/api/v1/webhooks",
        id,
    )
    .await;
    let other = app.create_org("other").await;
    assert_error(
        &rotate(&app, &other.key, id).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );

    let operator = app.key_with(&org, &[Scope::Read, Scope::Write]).await;
    let (status, _) = app.get(&format!("/api/v1/webhooks/{id}"), &operator).await;
    assert_eq!(status, StatusCode::OK);
    let denied = app
        .post(
            "/api/v1/webhooks",
            &operator,
            &json!({"url": "https://c.example.com", "events": ["chat.created"]}),
        )
        .await;
    assert_error(&denied, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(denied.1["error"]["details"]["required_scope"], "configure");
    assert_error(
        &rotate(&app, &operator, id).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
}

/// Every `$ref` inside `value`.
fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r.clone());
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[actix_web::test]
async fn openapi_documents_the_configuration_resources() {
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
    let mut found = Vec::new();
    for path in [
        "/api/v1/agents",
        "/api/v1/agents/{id}",
        "/api/v1/templates",
        "/api/v1/templates/{id}",
        "/api/v1/templates/validate",
        "/api/v1/templates/preview",
        "/api/v1/campaigns",
        "/api/v1/campaigns/{id}",
        "/api/v1/campaigns/{id}/steps",
        "/api/v1/webhooks",
        "/api/v1/webhooks/{id}",
        "/api/v1/webhooks/{id}/rotate-secret",
    ] {
        let item = &doc["paths"][path];
        assert!(item.is_object(), "{path} is documented");
        refs(item, &mut found);
    }
    let schemas = &doc["components"]["schemas"];
    let mut seen = std::collections::HashSet::new();
    while let Some(reference) = found.pop() {
        let name = reference.trim_start_matches("#/components/schemas/");
        let schema = &schemas[name];
        assert!(schema.is_object(), "{reference} resolves");
        if seen.insert(name.to_owned()) {
            refs(schema, &mut found);
        }
    }
    assert!(schemas["Webhook"]["properties"]["url"].is_object());
    assert!(schemas["Webhook"]["properties"].get("secret").is_none());
    assert!(
        schemas["CreateCampaign"]["properties"]
            .get("status")
            .is_none()
    );
}
