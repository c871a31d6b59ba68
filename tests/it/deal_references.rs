//! Deals' references: which pipeline and stage a deal lands in, a stage that must belong to
//! the deal's pipeline, and contacts, companies, pipelines and owners that must be the
//! organisation's own.

use reqwest::StatusCode;
use serde_json::json;

use crate::deals::{id_of, stage_of};
use crate::pipelines::create_pipeline;
use crate::support::{TestApp, assert_error};

#[actix_web::test]
async fn deals_land_in_the_right_pipeline_and_stage() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let no_default = app
        .post("/api/v1/deals", &org.key, &json!({"name": "Orphan"}))
        .await;
    assert_error(
        &no_default,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert!(
        no_default.1["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("no default pipeline")),
        "{}",
        no_default.1
    );

    let empty = create_pipeline(&app, &org.key, "Empty", &[]).await;
    let no_stages = app
        .post(
            "/api/v1/deals",
            &org.key,
            &json!({"name": "x", "pipeline_id": empty["id"]}),
        )
        .await;
    assert_error(
        &no_stages,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert!(no_stages.1["error"]["details"]["fields"]["pipeline_id"].is_array());

    let sales = create_pipeline(&app, &org.key, "Sales", &["Lead", "Won"]).await;
    let partners = create_pipeline(&app, &org.key, "Partners", &["Intro", "Signed"]).await;

    let (status, by_pipeline) = app
        .post(
            "/api/v1/deals",
            &org.key,
            &json!({"name": "a", "pipeline_id": partners["id"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{by_pipeline}");
    assert_eq!(by_pipeline["stage_id"], json!(stage_of(&partners, 0)));

    let (status, by_stage) = app
        .post(
            "/api/v1/deals",
            &org.key,
            &json!({"name": "b", "stage_id": stage_of(&partners, 1)}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{by_stage}");
    assert_eq!(
        by_stage["pipeline_id"], partners["id"],
        "the stage's pipeline"
    );

    let mismatch = app
        .post(
            "/api/v1/deals",
            &org.key,
            &json!({"name": "c", "pipeline_id": sales["id"], "stage_id": stage_of(&partners, 0)}),
        )
        .await;
    assert_error(
        &mismatch,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_reference",
    );
    assert_eq!(mismatch.1["error"]["details"]["field"], "stage_id");
    assert_eq!(
        mismatch.1["error"]["message"],
        "stage_id is not a stage of the deal's pipeline"
    );

    let deal = id_of(&by_pipeline);
    let wrong_move = app
        .patch(
            &format!("/api/v1/deals/{deal}"),
            &org.key,
            &json!({"stage_id": stage_of(&sales, 1)}),
        )
        .await;
    assert_error(
        &wrong_move,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_reference",
    );
    assert_eq!(wrong_move.1["error"]["details"]["field"], "stage_id");

    let (status, switched) = app
        .patch(
            &format!("/api/v1/deals/{deal}"),
            &org.key,
            &json!({"pipeline_id": sales["id"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{switched}");
    assert_eq!(switched["pipeline_id"], sales["id"]);
    assert_eq!(
        switched["stage_id"],
        json!(stage_of(&sales, 0)),
        "its first stage"
    );

    let (status, both) = app
        .patch(
            &format!("/api/v1/deals/{deal}"),
            &org.key,
            &json!({"pipeline_id": partners["id"], "stage_id": stage_of(&partners, 1)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{both}");
    assert_eq!(both["stage_id"], json!(stage_of(&partners, 1)));
}

#[actix_web::test]
async fn deals_cannot_reference_another_tenants_records() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let mine = create_pipeline(&app, &org.key, "Sales", &["Lead"]).await;
    let other = app.create_org("other").await;
    let theirs = create_pipeline(&app, &other.key, "Theirs", &["Lead"]).await;
    let (_, their_contact) = app
        .post(
            "/api/v1/contacts",
            &other.key,
            &json!({"name": "Their lead"}),
        )
        .await;
    let (_, their_company) = app
        .post(
            "/api/v1/companies",
            &other.key,
            &json!({"name": "Their co"}),
        )
        .await;

    let cases = [
        (
            json!({"name": "x", "contact_id": their_contact["id"]}),
            "contact_id",
        ),
        (
            json!({"name": "x", "company_id": their_company["id"]}),
            "company_id",
        ),
        (
            json!({"name": "x", "pipeline_id": theirs["id"]}),
            "pipeline_id",
        ),
        (
            json!({"name": "x", "pipeline_id": theirs["id"], "stage_id": stage_of(&theirs, 0)}),
            "pipeline_id",
        ),
        (
            json!({"name": "x", "stage_id": stage_of(&theirs, 0)}),
            "stage_id",
        ),
        (
            json!({"name": "x", "pipeline_id": mine["id"], "stage_id": stage_of(&theirs, 0)}),
            "stage_id",
        ),
        (
            json!({"name": "x", "owner_user_id": other.owner_id}),
            "owner_user_id",
        ),
        (
            json!({"name": "x", "owner_user_id": uuid::Uuid::now_v7()}),
            "owner_user_id",
        ),
    ];
    for (body, field) in cases {
        let got = app.post("/api/v1/deals", &org.key, &body).await;
        assert_error(&got, StatusCode::UNPROCESSABLE_ENTITY, "invalid_reference");
        assert_eq!(
            got.1["error"]["details"]["field"], field,
            "{body} → {}",
            got.1
        );
    }

    let (status, deal) = app
        .post("/api/v1/deals", &org.key, &json!({"name": "Mine"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{deal}");
    let id = id_of(&deal);
    let patches = [
        (json!({"contact_id": their_contact["id"]}), "contact_id"),
        (json!({"company_id": their_company["id"]}), "company_id"),
        (json!({"pipeline_id": theirs["id"]}), "pipeline_id"),
        (json!({"owner_user_id": other.owner_id}), "owner_user_id"),
    ];
    for (body, field) in patches {
        let got = app
            .patch(&format!("/api/v1/deals/{id}"), &org.key, &body)
            .await;
        assert_error(&got, StatusCode::UNPROCESSABLE_ENTITY, "invalid_reference");
        assert_eq!(
            got.1["error"]["details"]["field"], field,
            "{body} → {}",
            got.1
        );
    }
    let (_, unchanged) = app.get(&format!("/api/v1/deals/{id}"), &org.key).await;
    assert_eq!(unchanged["pipeline_id"], mine["id"]);
    assert!(unchanged["contact_id"].is_null());
}
