//! Members: adding people, changing roles, the owner rules, tenant isolation.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{PASSWORD, TestApp, assert_error};
use switchboard::domain::Role;

#[actix_web::test]
async fn members_are_added_changed_and_removed() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let (status, added) = app
        .post("/api/v1/members", &org.key, &json!({"email": "new.hire@example.test", "role": "operator", "password": PASSWORD, "name": "New Hire"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    assert_eq!(added["name"], "New Hire");
    let id = added["id"].as_str().expect("id").to_owned();
    app.login("new.hire@example.test", PASSWORD, Some(&org.slug))
        .await;

    let again = app
        .post(
            "/api/v1/members",
            &org.key,
            &json!({"email": "NEW.HIRE@example.test", "role": "viewer"}),
        )
        .await;
    assert_error(&again, StatusCode::CONFLICT, "already_member");

    let (status, changed) = app
        .patch(
            &format!("/api/v1/members/{id}"),
            &org.key,
            &json!({"role": "viewer"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(changed["role"], "viewer");

    let short = app
        .post(
            "/api/v1/members",
            &org.key,
            &json!({"email": "x@example.test", "role": "viewer", "password": "short"}),
        )
        .await;
    assert_error(
        &short,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );

    let (status, _) = app.delete(&format!("/api/v1/members/{id}"), &org.key).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[actix_web::test]
async fn owners_are_protected() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let owner_token = app.login(&org.owner_email, PASSWORD, None).await;
    let (_, members) = app.get("/api/v1/members", &owner_token).await;
    let owner_member = members["items"][0]["id"].as_str().expect("id").to_owned();

    let by_key = app
        .post(
            "/api/v1/members",
            &org.key,
            &json!({"email": "o2@example.test", "role": "owner"}),
        )
        .await;
    assert_error(&by_key, StatusCode::FORBIDDEN, "owner_required");
    let admin = app.member_token(&org, Role::Admin).await;
    assert_error(
        &app.delete(&format!("/api/v1/members/{owner_member}"), &admin)
            .await,
        StatusCode::FORBIDDEN,
        "owner_required",
    );

    let last = app
        .patch(
            &format!("/api/v1/members/{owner_member}"),
            &owner_token,
            &json!({"role": "admin"}),
        )
        .await;
    assert_error(&last, StatusCode::CONFLICT, "last_owner");
    let (status, _) = app
        .post(
            "/api/v1/members",
            &owner_token,
            &json!({"email": "o2@example.test", "role": "owner"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = app
        .patch(
            &format!("/api/v1/members/{owner_member}"),
            &owner_token,
            &json!({"role": "admin"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "with a second owner the first may step down"
    );
}

#[actix_web::test]
async fn members_of_other_tenants_are_invisible() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let other = app.create_org("globex").await;
    let (_, members) = app.get("/api/v1/members", &org.key).await;
    let id = members["items"][0]["id"].as_str().expect("id").to_owned();
    assert_error(
        &app.patch(
            &format!("/api/v1/members/{id}"),
            &other.key,
            &json!({"role": "viewer"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &app.delete(&format!("/api/v1/members/{id}"), &other.key)
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let (_, theirs) = app.get("/api/v1/members", &other.key).await;
    assert!(
        theirs["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|m| m["id"] != id.as_str())
    );

    let (_, keys) = app.get("/api/v1/api-keys", &org.key).await;
    let key_id = keys["items"][0]["id"].as_str().expect("id").to_owned();
    assert_error(
        &app.get(&format!("/api/v1/api-keys/{key_id}"), &other.key)
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &app.delete(&format!("/api/v1/api-keys/{key_id}"), &other.key)
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_eq!(
        app.get("/api/v1/contacts", &org.key).await.0,
        StatusCode::OK,
        "the key still works"
    );

    let (_, log) = app.get("/api/v1/audit-logs", &other.key).await;
    assert!(
        log["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|e| e["resource_id"] != id.as_str())
    );
}
