//! Channels: CRUD with audit, settings validation shared with `channels/*.toml` (no secrets,
//! env-var names only, per-kind requirements), the fixed kind, tenant isolation, scopes.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestApp, assert_error, assert_isolated};
use switchboard::domain::Scope;

/// A variable certainly set in the test process, and one certainly not.
const SET_VAR: &str = "PATH";
const UNSET_VAR: &str = "SWITCHBOARD_TEST_SURELY_UNSET_SECRET";

fn field_errors(body: &Value) -> Vec<String> {
    let mut fields: Vec<String> = body["error"]["details"]["fields"]
        .as_object()
        .map(|f| f.keys().cloned().collect())
        .unwrap_or_default();
    fields.sort();
    fields
}

#[actix_web::test]
async fn channel_lifecycle_is_audited_and_reports_secret_presence() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let (status, created) = app
        .post(
            "/api/v1/channels",
            &org.key,
            &json!({
                "name": "Sales bot",
                "kind": "telegram",
                "settings": {"mode": "webhook"},
                "secret_refs": {"bot_token": SET_VAR, "webhook_secret": UNSET_VAR},
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["active"], true, "active by default");
    assert_eq!(created["secret_refs"]["bot_token"], SET_VAR);
    assert_eq!(
        created["secrets_present"],
        json!({"bot_token": true, "webhook_secret": false}),
        "{created}"
    );
    assert!(created.get("organization_id").is_none());
    let id = created["id"].as_str().expect("id").to_owned();

    let (status, got) = app.get(&format!("/api/v1/channels/{id}"), &org.key).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["settings"]["mode"], "webhook");
    assert_eq!(got["secrets_present"]["webhook_secret"], false);

    let (status, updated) = app
        .patch(
            &format!("/api/v1/channels/{id}"),
            &org.key,
            &json!({"name": "Polling bot", "active": false, "settings": {"mode": "polling"},
                    "secret_refs": {"bot_token": SET_VAR}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["name"], "Polling bot");
    assert_eq!(updated["active"], false);
    assert_eq!(updated["secrets_present"], json!({"bot_token": true}));

    let (_, inactive) = app.get("/api/v1/channels?active=false", &org.key).await;
    let ids: Vec<&str> = inactive["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(ids, vec![id.as_str()], "{inactive}");
    let (_, emails) = app.get("/api/v1/channels?kind=email", &org.key).await;
    assert_eq!(emails["items"], json!([]));

    let (status, _) = app
        .delete(&format!("/api/v1/channels/{id}"), &org.key)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_error(
        &app.get(&format!("/api/v1/channels/{id}"), &org.key).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );

    let (status, log) = app
        .get(&format!("/api/v1/audit-logs?resource_id={id}"), &org.key)
        .await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let actions: Vec<&str> = log["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, vec!["delete", "update", "create"], "{log}");
    assert_eq!(log["items"][1]["before"]["name"], "Sales bot");
    assert_eq!(log["items"][1]["after"]["name"], "Polling bot");
}

#[actix_web::test]
async fn channel_settings_never_take_secrets() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let token = "123456789:AAH-plain-bot-token";

    let plain_secret = app
        .post(
            "/api/v1/channels",
            &org.key,
            &json!({"name": "tg", "kind": "telegram", "settings": {"bot_token": token},
                    "secret_refs": {"bot_token": "TELEGRAM_BOT_TOKEN"}}),
        )
        .await;
    assert_error(
        &plain_secret,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(field_errors(&plain_secret.1), vec!["settings.bot_token"]);
    assert!(
        !plain_secret.1.to_string().contains(token),
        "the error must not echo the secret: {}",
        plain_secret.1
    );

    let value_not_name = app
        .post(
            "/api/v1/channels",
            &org.key,
            &json!({"name": "tg", "kind": "telegram", "secret_refs": {"bot_token": token}}),
        )
        .await;
    assert_error(
        &value_not_name,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(
        field_errors(&value_not_name.1),
        vec!["secret_refs.bot_token"]
    );
    assert!(!value_not_name.1.to_string().contains(token));

    let no_token = app
        .post(
            "/api/v1/channels",
            &org.key,
            &json!({"name": "tg", "kind": "telegram", "settings": {"mode": "carrier-pigeon"}}),
        )
        .await;
    assert_error(
        &no_token,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(
        field_errors(&no_token.1),
        vec!["secret_refs.bot_token", "settings.mode"]
    );

    let bare_email = app
        .post(
            "/api/v1/channels",
            &org.key,
            &json!({"name": "mail", "kind": "email", "settings": {"smtp_port": 0}}),
        )
        .await;
    assert_error(
        &bare_email,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(
        field_errors(&bare_email.1),
        vec![
            "settings.from_address",
            "settings.smtp_host",
            "settings.smtp_port"
        ]
    );

    let not_objects = app
        .post(
            "/api/v1/channels",
            &org.key,
            &json!({"name": "web", "kind": "web", "settings": [1], "secret_refs": "X"}),
        )
        .await;
    assert_error(
        &not_objects,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(
        field_errors(&not_objects.1),
        vec!["secret_refs", "settings"]
    );

    let blank_name = app
        .post(
            "/api/v1/channels",
            &org.key,
            &json!({"name": "  ", "kind": "web"}),
        )
        .await;
    assert_error(
        &blank_name,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(field_errors(&blank_name.1), vec!["name"]);

    let (status, email) = app
        .post(
            "/api/v1/channels",
            &org.key,
            &json!({"name": "mail", "kind": "email",
                    "settings": {"from_address": "sales@example.com", "smtp_host": "smtp.example.com", "smtp_port": 587},
                    "secret_refs": {"smtp_password": "SMTP_PASSWORD"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{email}");
    let duplicate = app
        .post(
            "/api/v1/channels",
            &org.key,
            &json!({"name": "mail", "kind": "web"}),
        )
        .await;
    assert_error(&duplicate, StatusCode::CONFLICT, "already_exists");

    let (_, list) = app.get("/api/v1/channels", &org.key).await;
    assert_eq!(
        list["items"].as_array().map(Vec::len),
        Some(1),
        "refused channels were not stored: {list}"
    );
}

#[actix_web::test]
async fn channel_kind_is_fixed_and_updates_are_revalidated() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let (status, created) = app
        .post(
            "/api/v1/channels",
            &org.key,
            &json!({"name": "tg", "kind": "telegram", "secret_refs": {"bot_token": "TG_TOKEN"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let path = format!("/api/v1/channels/{}", created["id"].as_str().expect("id"));

    let change_kind = app.patch(&path, &org.key, &json!({"kind": "email"})).await;
    assert_error(
        &change_kind,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(field_errors(&change_kind.1), vec!["kind"]);

    let (status, same) = app
        .patch(&path, &org.key, &json!({"kind": "telegram", "name": "tg2"}))
        .await;
    assert_eq!(status, StatusCode::OK, "restating the kind is fine: {same}");
    assert_eq!(same["kind"], "telegram");

    let drop_token = app
        .patch(&path, &org.key, &json!({"secret_refs": {}}))
        .await;
    assert_error(
        &drop_token,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(field_errors(&drop_token.1), vec!["secret_refs.bot_token"]);

    let webhook_without_secret = app
        .patch(&path, &org.key, &json!({"settings": {"mode": "webhook"}}))
        .await;
    assert_error(
        &webhook_without_secret,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(
        field_errors(&webhook_without_secret.1),
        vec!["secret_refs.webhook_secret"],
        "new settings are checked with the stored secret_refs"
    );

    let (status, unchanged) = app.get(&path, &org.key).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(unchanged["name"], "tg2");
    assert_eq!(unchanged["secret_refs"], json!({"bot_token": "TG_TOKEN"}));
    assert_eq!(unchanged["settings"], json!({}));
}

#[actix_web::test]
async fn channels_are_isolated_and_need_configure() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let (_, created) = app
        .post(
            "/api/v1/channels",
            &org.key,
            &json!({"name": "web", "kind": "web"}),
        )
        .await;
    let id = created["id"].as_str().expect("id");
    assert_isolated(
        &app,
        &format!("/api/v1/channels/{id}"),
        "/api/v1/channels",
        id,
    )
    .await;

    let operator = app.key_with(&org, &[Scope::Read, Scope::Write]).await;
    let (status, _) = app.get(&format!("/api/v1/channels/{id}"), &operator).await;
    assert_eq!(status, StatusCode::OK);
    let denied = app
        .post(
            "/api/v1/channels",
            &operator,
            &json!({"name": "x", "kind": "web"}),
        )
        .await;
    assert_error(&denied, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(denied.1["error"]["details"]["required_scope"], "configure");
    let denied = app
        .patch(
            &format!("/api/v1/channels/{id}"),
            &operator,
            &json!({"active": false}),
        )
        .await;
    assert_error(&denied, StatusCode::FORBIDDEN, "forbidden");
    assert_error(
        &app.delete(&format!("/api/v1/channels/{id}"), &operator)
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
}

#[actix_web::test]
async fn openapi_documents_channels_chats_and_messages() {
    let app = TestApp::spawn().await;
    let res = app
        .http
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .expect("send");
    let doc: Value = res.json().await.expect("json");
    for (path, method) in [
        ("/api/v1/channels", "post"),
        ("/api/v1/channels/{id}", "patch"),
        ("/api/v1/chats", "get"),
        ("/api/v1/chats/{id}/assign", "post"),
        ("/api/v1/chats/{id}/read", "post"),
        ("/api/v1/chats/{id}/messages", "post"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is not documented"
        );
    }
    let response = &doc["components"]["schemas"]["ChannelResponse"];
    assert!(
        response.to_string().contains("secrets_present"),
        "{response}"
    );
}
