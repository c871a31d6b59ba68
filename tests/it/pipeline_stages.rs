//! Pipeline stages: validation, insert/move/delete keeping positions contiguous (also under
//! concurrent inserts), and a stage that still holds deals.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::companies::audit_actions;
use crate::pipelines::{create_pipeline, expect_order, stage_order};
use crate::support::{TestApp, assert_error};

#[actix_web::test]
async fn invalid_pipelines_and_stages_get_field_errors() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let bad = app
        .post(
            "/api/v1/pipelines",
            &org.key,
            &json!({"name": "", "stages": [{"name": "ok"}, {"name": " ", "probability": 101}]}),
        )
        .await;
    assert_error(&bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let fields = &bad.1["error"]["details"]["fields"];
    for field in ["name", "stages[1].name", "stages[1].probability"] {
        assert!(fields[field].is_array(), "{field} missing: {}", bad.1);
    }
    assert!(fields.get("stages[0].name").is_none(), "{}", bad.1);
    let (_, list) = app.get("/api/v1/pipelines", &org.key).await;
    assert_eq!(
        list["items"].as_array().map(Vec::len),
        Some(0),
        "nothing created"
    );

    let positioned = app
        .post(
            "/api/v1/pipelines",
            &org.key,
            &json!({"name": "P", "stages": [{"name": "a", "position": 3}]}),
        )
        .await;
    assert_error(
        &positioned,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );

    let pipeline = create_pipeline(&app, &org.key, "Sales", &["Lead"]).await;
    let id = pipeline["id"].as_str().expect("id");
    let stage = pipeline["stages"][0]["id"].as_str().expect("stage id");
    let bad_stage = app
        .post(
            &format!("/api/v1/pipelines/{id}/stages"),
            &org.key,
            &json!({"name": "x", "position": -1, "probability": -5}),
        )
        .await;
    assert_error(
        &bad_stage,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert!(bad_stage.1["error"]["details"]["fields"]["position"].is_array());
    assert!(bad_stage.1["error"]["details"]["fields"]["probability"].is_array());
    let bad_outcome = app
        .patch(
            &format!("/api/v1/pipelines/{id}/stages/{stage}"),
            &org.key,
            &json!({"outcome": "maybe"}),
        )
        .await;
    assert_error(
        &bad_outcome,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_error(
        &app.patch(
            &format!("/api/v1/pipelines/{id}/stages/{}", uuid::Uuid::now_v7()),
            &org.key,
            &json!({"name": "x"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
}

#[actix_web::test]
async fn concurrent_stage_inserts_stay_contiguous() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let pipeline = create_pipeline(&app, &org.key, "Sales", &["First"]).await;
    let id = pipeline["id"].as_str().expect("id").to_owned();
    let url = format!("/api/v1/pipelines/{id}/stages");
    let bodies: Vec<Value> = (0..6)
        .map(|i| json!({"name": format!("S{i}"), "position": i % 2}))
        .collect();
    let inserts = bodies.iter().map(|body| app.post(&url, &org.key, body));
    for (status, body) in futures_util::future::join_all(inserts).await {
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let order = stage_order(&app, &org.key, &id).await;
    let positions: Vec<i64> = order.iter().map(|(_, p)| *p).collect();
    assert_eq!(positions, (0..7).collect::<Vec<_>>(), "{order:?}");
}

#[actix_web::test]
async fn stage_edits_keep_positions_contiguous() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let pipeline = create_pipeline(&app, &org.key, "Sales", &["A", "B", "C"]).await;
    let id = pipeline["id"].as_str().expect("id").to_owned();
    let stages_url = format!("/api/v1/pipelines/{id}/stages");

    let (status, x) = app
        .post(&stages_url, &org.key, &json!({"name": "X", "position": 1}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{x}");
    assert_eq!(x["position"], 1);
    expect_order(
        &stage_order(&app, &org.key, &id).await,
        &["A", "X", "B", "C"],
    );

    let (status, y) = app
        .post(&stages_url, &org.key, &json!({"name": "Y", "position": 99}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{y}");
    assert_eq!(y["position"], 4, "a position past the end appends");
    let (_, z) = app
        .post(&stages_url, &org.key, &json!({"name": "Z", "position": 0}))
        .await;
    expect_order(
        &stage_order(&app, &org.key, &id).await,
        &["Z", "A", "X", "B", "C", "Y"],
    );

    let c_id = pipeline["stages"][2]["id"].as_str().expect("C");
    let (status, moved) = app
        .patch(
            &format!("{stages_url}/{c_id}"),
            &org.key,
            &json!({"position": 1, "probability": 80}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(
        (moved["position"].as_i64(), moved["probability"].as_i64()),
        (Some(1), Some(80))
    );
    expect_order(
        &stage_order(&app, &org.key, &id).await,
        &["Z", "C", "A", "X", "B", "Y"],
    );

    let z_id = z["id"].as_str().expect("Z");
    let (status, _) = app
        .patch(
            &format!("{stages_url}/{z_id}"),
            &org.key,
            &json!({"position": 1000, "name": "Z2"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    expect_order(
        &stage_order(&app, &org.key, &id).await,
        &["C", "A", "X", "B", "Y", "Z2"],
    );

    let x_id = x["id"].as_str().expect("X");
    let (status, _) = app.delete(&format!("{stages_url}/{x_id}"), &org.key).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    expect_order(
        &stage_order(&app, &org.key, &id).await,
        &["C", "A", "B", "Y", "Z2"],
    );

    let (actions, log) = audit_actions(&app, &org.key, c_id).await;
    assert_eq!(actions, vec!["update"], "{log}");
    assert_eq!(log["items"][0]["resource_type"], "pipeline_stage");
    assert_eq!(log["items"][0]["before"]["position"], 4);
    assert_eq!(log["items"][0]["after"]["position"], 1);
    let (actions, _) = audit_actions(&app, &org.key, x_id).await;
    assert_eq!(actions, vec!["delete", "create"]);
}

#[actix_web::test]
async fn a_stage_with_deals_cannot_be_deleted() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let pipeline = create_pipeline(&app, &org.key, "Sales", &["Lead", "Won"]).await;
    let id = pipeline["id"].as_str().expect("id");
    let lead = pipeline["stages"][0]["id"].as_str().expect("lead");
    let won = pipeline["stages"][1]["id"].as_str().expect("won");
    let (status, deal) = app
        .post(
            "/api/v1/deals",
            &org.key,
            &json!({"name": "Big one", "pipeline_id": id}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{deal}");
    let deal_id = deal["id"].as_str().expect("deal id");

    let refused = app
        .delete(&format!("/api/v1/pipelines/{id}/stages/{lead}"), &org.key)
        .await;
    assert_error(&refused, StatusCode::CONFLICT, "stage_in_use");
    assert!(
        refused.1["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("1 deal is still in this stage")),
        "{}",
        refused.1
    );
    expect_order(&stage_order(&app, &org.key, id).await, &["Lead", "Won"]);

    let (status, _) = app
        .patch(
            &format!("/api/v1/deals/{deal_id}"),
            &org.key,
            &json!({"stage_id": won}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .delete(&format!("/api/v1/pipelines/{id}/stages/{lead}"), &org.key)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "an empty stage can go");
    expect_order(&stage_order(&app, &org.key, id).await, &["Won"]);

    let (status, _) = app
        .delete(&format!("/api/v1/pipelines/{id}"), &org.key)
        .await;
    assert_eq!(
        status,
        StatusCode::NO_CONTENT,
        "deleting a pipeline takes its deals"
    );
    assert_error(
        &app.get(&format!("/api/v1/deals/{deal_id}"), &org.key).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let (actions, log) = audit_actions(&app, &org.key, deal_id).await;
    assert_eq!(actions, vec!["delete", "update", "create"], "{log}");
    assert_eq!(log["items"][0]["before"]["name"], "Big one");
}
