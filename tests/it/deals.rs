//! Deals: lifecycle and stage moves with audit, validation, filters, pagination, isolation,
//! scopes. Where deals land and what they may reference is in `deal_references.rs`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::companies::audit_actions;
use crate::pipelines::create_pipeline;
use crate::support::{TestApp, assert_error, assert_isolated};
use switchboard::domain::Scope;

/// The `id` of a created record.
pub(crate) fn id_of(value: &Value) -> String {
    value["id"].as_str().expect("id").to_owned()
}

/// The id of a pipeline's stage at `index`.
pub(crate) fn stage_of(pipeline: &Value, index: usize) -> String {
    pipeline["stages"][index]["id"]
        .as_str()
        .expect("stage id")
        .to_owned()
}

#[actix_web::test]
async fn deal_lifecycle_and_stage_moves_are_audited() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let sales = create_pipeline(&app, &org.key, "Sales", &["Lead", "Proposal", "Won"]).await;
    let (status, deal) = app
        .post(
            "/api/v1/deals",
            &org.key,
            &json!({"name": " Rollout ", "value_cents": 1_250_000, "currency": "eur",
                    "expected_close_on": "2026-03-31", "owner_user_id": org.owner_id,
                    "notes": "call Monday", "attributes": {"source": "expo"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{deal}");
    assert_eq!(deal["name"], "Rollout");
    assert_eq!(deal["pipeline_id"], sales["id"], "the default pipeline");
    assert_eq!(
        deal["stage_id"], sales["stages"][0]["id"],
        "its first stage"
    );
    assert_eq!(deal["currency"], "EUR");
    assert_eq!(deal["value_cents"], 1_250_000);
    assert_eq!(deal["expected_close_on"], "2026-03-31");
    assert_eq!(deal["owner_user_id"], json!(org.owner_id));
    let id = id_of(&deal);

    let (status, got) = app.get(&format!("/api/v1/deals/{id}"), &org.key).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["notes"], "call Monday");

    let proposal = stage_of(&sales, 1);
    let (status, moved) = app
        .patch(
            &format!("/api/v1/deals/{id}"),
            &org.key,
            &json!({"stage_id": proposal, "expected_close_on": null, "value_cents": 0}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["stage_id"], json!(proposal));
    assert!(moved["expected_close_on"].is_null());
    assert_eq!(moved["value_cents"], 0);
    assert_eq!(moved["currency"], "EUR", "absent fields stay");

    let (status, _) = app.delete(&format!("/api/v1/deals/{id}"), &org.key).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_error(
        &app.get(&format!("/api/v1/deals/{id}"), &org.key).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let (actions, log) = audit_actions(&app, &org.key, &id).await;
    assert_eq!(actions, vec!["delete", "update", "create"], "{log}");
    assert_eq!(log["items"][1]["resource_type"], "deal");
    assert_eq!(
        log["items"][1]["before"]["stage_id"],
        sales["stages"][0]["id"]
    );
    assert_eq!(log["items"][1]["after"]["stage_id"], json!(proposal));
}

#[actix_web::test]
async fn invalid_deals_get_field_errors() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    create_pipeline(&app, &org.key, "Sales", &["Lead"]).await;
    let bad = app
        .post(
            "/api/v1/deals",
            &org.key,
            &json!({"name": "", "value_cents": -1, "currency": "EURO",
                    "expected_close_on": "2026-02-30", "attributes": "x"}),
        )
        .await;
    assert_error(&bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let fields = &bad.1["error"]["details"]["fields"];
    for field in [
        "name",
        "value_cents",
        "currency",
        "expected_close_on",
        "attributes",
    ] {
        assert!(fields[field].is_array(), "{field} missing: {}", bad.1);
    }
    let unknown = app
        .post(
            "/api/v1/deals",
            &org.key,
            &json!({"name": "x", "probability": 5}),
        )
        .await;
    assert_error(
        &unknown,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );

    let (_, deal) = app
        .post("/api/v1/deals", &org.key, &json!({"name": "ok"}))
        .await;
    let id = id_of(&deal);
    let bad_patch = app
        .patch(
            &format!("/api/v1/deals/{id}"),
            &org.key,
            &json!({"currency": "1AB", "expected_close_on": "tomorrow", "value_cents": -5}),
        )
        .await;
    assert_error(
        &bad_patch,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let fields = &bad_patch.1["error"]["details"]["fields"];
    for field in ["value_cents", "currency", "expected_close_on"] {
        assert!(fields[field].is_array(), "{field} missing: {}", bad_patch.1);
    }
    let (_, same) = app.get(&format!("/api/v1/deals/{id}"), &org.key).await;
    assert_eq!(same["currency"], "USD", "the default currency, unchanged");
}

#[actix_web::test]
async fn deals_filter_and_paginate() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let sales = create_pipeline(&app, &org.key, "Sales", &["Lead", "Won"]).await;
    let partners = create_pipeline(&app, &org.key, "Partners", &["Intro"]).await;
    let (_, contact) = app
        .post("/api/v1/contacts", &org.key, &json!({"name": "Ada"}))
        .await;
    let (_, company) = app
        .post("/api/v1/companies", &org.key, &json!({"name": "Initech"}))
        .await;
    let bodies = [
        json!({"name": "d0", "contact_id": contact["id"], "owner_user_id": org.owner_id}),
        json!({"name": "d1", "stage_id": stage_of(&sales, 1), "company_id": company["id"]}),
        json!({"name": "d2", "pipeline_id": partners["id"], "contact_id": contact["id"]}),
        json!({"name": "d3", "company_id": company["id"], "owner_user_id": org.owner_id}),
        json!({"name": "d4"}),
    ];
    for body in &bodies {
        let (status, created) = app.post("/api/v1/deals", &org.key, body).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
    }
    let names = async |query: String| -> Vec<String> {
        let (status, page) = app.get(&format!("/api/v1/deals?{query}"), &org.key).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|d| d["name"].as_str().expect("name").to_owned())
            .collect()
    };
    let sales_id = id_of(&sales);
    let contact_id = id_of(&contact);
    let company_id = id_of(&company);
    assert_eq!(
        names(format!("pipeline_id={sales_id}")).await,
        ["d4", "d3", "d1", "d0"]
    );
    assert_eq!(
        names(format!("stage_id={}", stage_of(&sales, 1))).await,
        ["d1"]
    );
    assert_eq!(
        names(format!("contact_id={contact_id}")).await,
        ["d2", "d0"]
    );
    assert_eq!(
        names(format!("company_id={company_id}")).await,
        ["d3", "d1"]
    );
    assert_eq!(
        names(format!("owner_user_id={}", org.owner_id)).await,
        ["d3", "d0"]
    );
    assert_eq!(
        names(format!(
            "company_id={company_id}&owner_user_id={}",
            org.owner_id
        ))
        .await,
        ["d3"]
    );

    let (_, first) = app.get("/api/v1/deals?limit=3", &org.key).await;
    assert_eq!(first["items"].as_array().map(Vec::len), Some(3));
    let cursor = first["next_cursor"].as_str().expect("a second page");
    assert_eq!(
        names(format!("limit=3&cursor={cursor}")).await,
        ["d1", "d0"]
    );

    let (status, _) = app
        .delete(&format!("/api/v1/companies/{company_id}"), &org.key)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(
        names(format!("company_id={company_id}")).await.is_empty(),
        "deleting the company clears it from its deals"
    );
    assert_eq!(
        names(format!("pipeline_id={sales_id}")).await.len(),
        4,
        "the deals stay"
    );
    assert_error(
        &app.get("/api/v1/deals?stage_id=not-a-uuid", &org.key).await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    );
}

#[actix_web::test]
async fn deals_are_isolated_and_scoped() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    create_pipeline(&app, &org.key, "Sales", &["Lead"]).await;
    let (_, deal) = app
        .post("/api/v1/deals", &org.key, &json!({"name": "Secret deal"}))
        .await;
    let id = id_of(&deal);
    assert_isolated(&app, &format!("/api/v1/deals/{id}"), "/api/v1/deals", &id).await;

    let reader = app.key_with(&org, &[Scope::Read]).await;
    let (status, _) = app.get(&format!("/api/v1/deals/{id}"), &reader).await;
    assert_eq!(status, StatusCode::OK);
    let denied = app
        .post("/api/v1/deals", &reader, &json!({"name": "x"}))
        .await;
    assert_error(&denied, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(denied.1["error"]["details"]["required_scope"], "write");
    assert_error(
        &app.patch(
            &format!("/api/v1/deals/{id}"),
            &reader,
            &json!({"name": "y"}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );

    let operator = app.key_with(&org, &[Scope::Read, Scope::Write]).await;
    let (status, created) = app
        .post(
            "/api/v1/deals",
            &operator,
            &json!({"name": "By an operator"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "write is enough for deals: {created}"
    );
}
