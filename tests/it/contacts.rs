//! Contacts: CRUD, validation, filters, pagination, CSV import, tenant isolation, audit.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{TestApp, assert_error, assert_isolated};
use switchboard::domain::Scope;

#[actix_web::test]
async fn contact_lifecycle_is_audited() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let (status, created) = app
        .post("/api/v1/contacts", &org.key, &json!({"name": "Ada Lovelace", "email": "ada@example.com", "tags": ["vip", "vip", " lead "]}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["tags"], json!(["vip", "lead"]));
    let id = created["id"].as_str().expect("id").to_owned();

    let (status, got) = app.get(&format!("/api/v1/contacts/{id}"), &org.key).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["email"], "ada@example.com");

    let (status, updated) = app
        .patch(
            &format!("/api/v1/contacts/{id}"),
            &org.key,
            &json!({"title": "Countess", "email": null, "phone": "+44 20 7946 0000"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["title"], "Countess");
    assert!(
        updated["email"].is_null(),
        "null clears the email: {updated}"
    );
    assert_eq!(updated["name"], "Ada Lovelace", "absent fields stay");

    let (status, _) = app
        .delete(&format!("/api/v1/contacts/{id}"), &org.key)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_error(
        &app.get(&format!("/api/v1/contacts/{id}"), &org.key).await,
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
    assert_eq!(log["items"][1]["before"]["email"], "ada@example.com");
    assert!(log["items"][1]["after"]["email"].is_null());
}

#[actix_web::test]
async fn invalid_contacts_get_field_errors() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let bad = app
        .post(
            "/api/v1/contacts",
            &org.key,
            &json!({"email": "not-an-email", "timezone": "Mars"}),
        )
        .await;
    assert_error(&bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(
        bad.1["error"]["details"]["fields"]["email"].is_array(),
        "{}",
        bad.1
    );
    assert!(
        bad.1["error"]["details"]["fields"]["timezone"].is_array(),
        "{}",
        bad.1
    );

    let nobody = app.post("/api/v1/contacts", &org.key, &json!({})).await;
    assert_error(
        &nobody,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );

    let unknown = app
        .post(
            "/api/v1/contacts",
            &org.key,
            &json!({"name": "x", "shoe_size": 44}),
        )
        .await;
    assert_error(
        &unknown,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );

    let (status, _) = app
        .post(
            "/api/v1/contacts",
            &org.key,
            &json!({"name": "A", "email": "dup@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let dup = app
        .post(
            "/api/v1/contacts",
            &org.key,
            &json!({"name": "B", "email": "DUP@example.com"}),
        )
        .await;
    assert_error(&dup, StatusCode::CONFLICT, "already_exists");

    let foreign_company = app
        .post(
            "/api/v1/contacts",
            &org.key,
            &json!({"name": "C", "company_id": uuid::Uuid::now_v7()}),
        )
        .await;
    assert_error(
        &foreign_company,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_reference",
    );
    assert_eq!(foreign_company.1["error"]["details"]["field"], "company_id");

    let malformed = app
        .request(Method::POST, "/api/v1/contacts", &org.key)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .expect("send");
    assert_error(
        &crate::support::read(malformed).await,
        StatusCode::BAD_REQUEST,
        "malformed_json",
    );
}

#[actix_web::test]
async fn contacts_filter_and_paginate() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    for i in 0..7 {
        let tags = if i % 2 == 0 {
            json!(["even"])
        } else {
            json!(["odd"])
        };
        let (status, _) = app
            .post("/api/v1/contacts", &org.key, &json!({"name": format!("Person {i}"), "email": format!("p{i}@example.com"), "tags": tags}))
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/contacts?limit=3&cursor={c}"),
            None => "/api/v1/contacts?limit=3".to_owned(),
        };
        let (status, page) = app.get(&path, &org.key).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        for item in page["items"].as_array().expect("items") {
            seen.push(item["name"].as_str().expect("name").to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let expected: Vec<String> = (0..7).rev().map(|i| format!("Person {i}")).collect();
    assert_eq!(seen, expected, "every contact once, newest first");

    let (_, evens) = app.get("/api/v1/contacts?tag=even", &org.key).await;
    assert_eq!(evens["items"].as_array().map(Vec::len), Some(4));
    let (_, search) = app.get("/api/v1/contacts?q=p3%40", &org.key).await;
    assert_eq!(search["items"][0]["name"], "Person 3");

    assert_error(
        &app.get("/api/v1/contacts?limit=0", &org.key).await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    );
    assert_error(
        &app.get("/api/v1/contacts?cursor=garbage", &org.key).await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    );
}

#[actix_web::test]
async fn csv_import_reports_each_bad_row() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let (status, _) = app
        .post(
            "/api/v1/contacts",
            &org.key,
            &json!({"name": "Old Name", "email": "known@example.com", "tags": ["a"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let csv = "name,email,tags,timezone\n\
               Grace Hopper,grace@example.com,navy;cobol,America/New_York\n\
               Known Person,known@example.com,b,\n\
               Broken,not-an-email,,\n\
               ,,,\n\
               Linus,linus@example.com,,Nowhere\n";
    let res = app
        .request(Method::POST, "/api/v1/contacts/import", &org.key)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .expect("send");
    let (status, report) = crate::support::read(res).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        (
            report["created"].as_u64(),
            report["updated"].as_u64(),
            report["failed"].as_u64()
        ),
        (Some(1), Some(1), Some(3)),
        "{report}"
    );
    let lines: Vec<u64> = report["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["line"].as_u64())
        .collect();
    assert_eq!(lines, vec![4, 5, 6], "{report}");
    assert_eq!(report["errors"][0]["field"], "email");
    assert_eq!(report["errors"][2]["field"], "timezone");

    let (_, known) = app.get("/api/v1/contacts?q=known%40", &org.key).await;
    assert_eq!(known["items"][0]["name"], "Known Person");
    assert_eq!(known["items"][0]["tags"], json!(["a", "b"]));

    let bad_header = app
        .request(Method::POST, "/api/v1/contacts/import", &org.key)
        .header("content-type", "text/csv")
        .body("name,favourite_colour\nx,blue\n")
        .send()
        .await
        .expect("send");
    assert_error(
        &crate::support::read(bad_header).await,
        StatusCode::BAD_REQUEST,
        "invalid_csv",
    );

    let wrong_type = app
        .request(Method::POST, "/api/v1/contacts/import", &org.key)
        .header("content-type", "application/json")
        .body("[]")
        .send()
        .await
        .expect("send");
    assert_error(
        &crate::support::read(wrong_type).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
}

#[actix_web::test]
async fn contacts_are_isolated_and_scoped() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let (_, created) = app
        .post(
            "/api/v1/contacts",
            &org.key,
            &json!({"name": "Secret Lead"}),
        )
        .await;
    let id = created["id"].as_str().expect("id");
    assert_isolated(
        &app,
        &format!("/api/v1/contacts/{id}"),
        "/api/v1/contacts",
        id,
    )
    .await;

    let reader = app.key_with(&org, &[Scope::Read]).await;
    let (status, _) = app.get(&format!("/api/v1/contacts/{id}"), &reader).await;
    assert_eq!(status, StatusCode::OK);
    let denied = app
        .post("/api/v1/contacts", &reader, &json!({"name": "x"}))
        .await;
    assert_error(&denied, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(denied.1["error"]["details"]["required_scope"], "write");
}
