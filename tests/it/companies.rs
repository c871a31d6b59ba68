//! Companies: CRUD, validation, name search, pagination, tenant isolation, audit, and what
//! happens to contacts when their company is deleted.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestApp, assert_error, assert_isolated};
use switchboard::domain::Scope;

/// Actions recorded for one record, newest first.
pub(crate) async fn audit_actions(app: &TestApp, key: &str, id: &str) -> (Vec<String>, Value) {
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

#[actix_web::test]
async fn company_lifecycle_is_audited_and_keeps_contacts() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let (status, created) = app
        .post(
            "/api/v1/companies",
            &org.key,
            &json!({"name": "  Initech ", "domain": "Initech.COM", "industry": "Software",
                    "attributes": {"tier": "gold"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["name"], "Initech", "name is trimmed");
    assert_eq!(created["domain"], "initech.com", "domain is lower-cased");
    assert_eq!(created["attributes"]["tier"], "gold");
    assert!(created.get("organization_id").is_none(), "{created}");
    let id = created["id"].as_str().expect("id").to_owned();

    let (status, got) = app.get(&format!("/api/v1/companies/{id}"), &org.key).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["industry"], "Software");

    let (status, updated) = app
        .patch(
            &format!("/api/v1/companies/{id}"),
            &org.key,
            &json!({"industry": null, "website": "https://initech.example"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert!(updated["industry"].is_null(), "null clears: {updated}");
    assert_eq!(updated["website"], "https://initech.example");
    assert_eq!(updated["domain"], "initech.com", "absent fields stay");

    let (status, contact) = app
        .post(
            "/api/v1/contacts",
            &org.key,
            &json!({"name": "Peter Gibbons", "company_id": id}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{contact}");
    let contact_id = contact["id"].as_str().expect("id");

    let (status, _) = app
        .delete(&format!("/api/v1/companies/{id}"), &org.key)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_error(
        &app.get(&format!("/api/v1/companies/{id}"), &org.key).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let (status, contact) = app
        .get(&format!("/api/v1/contacts/{contact_id}"), &org.key)
        .await;
    assert_eq!(status, StatusCode::OK, "the contact survives: {contact}");
    assert!(contact["company_id"].is_null(), "{contact}");

    let (actions, log) = audit_actions(&app, &org.key, &id).await;
    assert_eq!(actions, vec!["delete", "update", "create"], "{log}");
    assert_eq!(log["items"][0]["resource_type"], "company");
    assert_eq!(log["items"][1]["before"]["industry"], "Software");
    assert!(log["items"][1]["after"]["industry"].is_null());
}

#[actix_web::test]
async fn invalid_companies_get_field_errors() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let bad = app
        .post(
            "/api/v1/companies",
            &org.key,
            &json!({"name": "   ", "domain": "https://x.com/path", "website": "not a url",
                    "attributes": [1, 2]}),
        )
        .await;
    assert_error(&bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let fields = &bad.1["error"]["details"]["fields"];
    for field in ["name", "domain", "website", "attributes"] {
        assert!(fields[field].is_array(), "{field} missing: {}", bad.1);
    }

    let missing_name = app
        .post("/api/v1/companies", &org.key, &json!({"domain": "x.com"}))
        .await;
    assert_error(
        &missing_name,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let unknown = app
        .post(
            "/api/v1/companies",
            &org.key,
            &json!({"name": "x", "revenue": 1}),
        )
        .await;
    assert_error(
        &unknown,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );

    let (_, created) = app
        .post("/api/v1/companies", &org.key, &json!({"name": "Fine"}))
        .await;
    let id = created["id"].as_str().expect("id");
    let blank = app
        .patch(
            &format!("/api/v1/companies/{id}"),
            &org.key,
            &json!({"name": "", "website": "ftp//nope"}),
        )
        .await;
    assert_error(
        &blank,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert!(blank.1["error"]["details"]["fields"]["name"].is_array());
    assert!(blank.1["error"]["details"]["fields"]["website"].is_array());
    let (_, unchanged) = app.get(&format!("/api/v1/companies/{id}"), &org.key).await;
    assert_eq!(unchanged["name"], "Fine");

    let (status, same) = app
        .patch(&format!("/api/v1/companies/{id}"), &org.key, &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "an empty patch changes nothing");
    assert_eq!(same["name"], "Fine");
}

#[actix_web::test]
async fn companies_search_by_name_and_paginate() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    for name in [
        "Acme Corp",
        "Globex",
        "ACME Labs",
        "100% Real_Co",
        "Umbrella",
    ] {
        let (status, body) = app
            .post("/api/v1/companies", &org.key, &json!({"name": name}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let names = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|c| c["name"].as_str().expect("name").to_owned())
            .collect()
    };
    let (_, acme) = app.get("/api/v1/companies?q=acme", &org.key).await;
    assert_eq!(
        names(&acme),
        vec!["ACME Labs", "Acme Corp"],
        "case-insensitive"
    );
    let (_, percent) = app.get("/api/v1/companies?q=%25", &org.key).await;
    assert_eq!(names(&percent), vec!["100% Real_Co"], "% matches literally");
    let (_, underscore) = app.get("/api/v1/companies?q=l_c", &org.key).await;
    assert_eq!(
        names(&underscore),
        vec!["100% Real_Co"],
        "_ matches literally"
    );

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/companies?limit=2&cursor={c}"),
            None => "/api/v1/companies?limit=2".to_owned(),
        };
        let (status, page) = app.get(&path, &org.key).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        seen.extend(names(&page));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        seen,
        vec![
            "Umbrella",
            "100% Real_Co",
            "ACME Labs",
            "Globex",
            "Acme Corp"
        ],
        "every company once, newest first"
    );
    assert_error(
        &app.get("/api/v1/companies?limit=500", &org.key).await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    );
}

#[actix_web::test]
async fn companies_are_isolated_and_scoped() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let (_, created) = app
        .post("/api/v1/companies", &org.key, &json!({"name": "Secret Co"}))
        .await;
    let id = created["id"].as_str().expect("id");
    assert_isolated(
        &app,
        &format!("/api/v1/companies/{id}"),
        "/api/v1/companies",
        id,
    )
    .await;

    let reader = app.key_with(&org, &[Scope::Read]).await;
    let (status, _) = app.get(&format!("/api/v1/companies/{id}"), &reader).await;
    assert_eq!(status, StatusCode::OK);
    let denied = app
        .post("/api/v1/companies", &reader, &json!({"name": "x"}))
        .await;
    assert_error(&denied, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(denied.1["error"]["details"]["required_scope"], "write");
    assert_error(
        &app.patch(
            &format!("/api/v1/companies/{id}"),
            &reader,
            &json!({"name": "y"}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        &app.delete(&format!("/api/v1/companies/{id}"), &reader)
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let (_, still) = app.get(&format!("/api/v1/companies/{id}"), &org.key).await;
    assert_eq!(still["name"], "Secret Co");
}
