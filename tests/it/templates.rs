//! Templates: CRUD with quick settings, compile errors with their position, the validator's
//! variable list, strict previews against real (and foreign) contacts, isolation, scopes, audit.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::agents::audit_trail;
use crate::support::{TestApp, TestOrg, assert_error, assert_isolated};
use switchboard::domain::Scope;

/// Creates a template and returns its id.
pub(crate) async fn create_template(app: &TestApp, org: &TestOrg, body: &Value) -> String {
    let (status, template) = app.post("/api/v1/templates", &org.key, body).await;
    assert_eq!(status, StatusCode::CREATED, "{template}");
    template["id"].as_str().expect("id").to_owned()
}

#[actix_web::test]
async fn template_lifecycle_is_audited() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let (status, created) = app
        .post(
            "/api/v1/templates",
            &org.key,
            &json!({"name": " Intro ", "kind": "email", "subject": "Hello {{contact.first_name}}",
                    "body": "Hi {{contact.first_name}},\nwe help {{contact.company.name}}.",
                    "settings": {"tone": "friendly", "length": "short", "focus": "ROI"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["name"], "Intro");
    assert_eq!(
        created["settings"],
        json!({"tone": "friendly", "length": "short", "focus": "ROI"})
    );
    let id = created["id"].as_str().expect("id").to_owned();

    let (status, got) = app.get(&format!("/api/v1/templates/{id}"), &org.key).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["subject"], "Hello {{contact.first_name}}");

    let (status, updated) = app
        .patch(
            &format!("/api/v1/templates/{id}"),
            &org.key,
            &json!({"settings": {"tone": "formal"}, "body": "Dear {{contact.name}}"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["settings"], json!({"tone": "formal"}));
    assert_eq!(updated["body"], "Dear {{contact.name}}");
    assert_eq!(updated["kind"], "email", "absent fields stay");

    let wrong_kind = app
        .patch(
            &format!("/api/v1/templates/{id}"),
            &org.key,
            &json!({"kind": "message"}),
        )
        .await;
    assert_error(
        &wrong_kind,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert!(
        wrong_kind.1["error"]["details"]["fields"]["subject"].is_array(),
        "only email templates keep a subject: {}",
        wrong_kind.1
    );
    let (status, message) = app
        .patch(
            &format!("/api/v1/templates/{id}"),
            &org.key,
            &json!({"kind": "message", "subject": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{message}");
    assert!(message["subject"].is_null());

    let (status, _) = app
        .delete(&format!("/api/v1/templates/{id}"), &org.key)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_error(
        &app.get(&format!("/api/v1/templates/{id}"), &org.key).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let (actions, log) = audit_trail(&app, &org.key, &id).await;
    assert_eq!(
        actions,
        vec!["delete", "update", "update", "create"],
        "{log}"
    );
    assert_eq!(log["items"][2]["before"]["settings"]["tone"], "friendly");
}

#[actix_web::test]
async fn invalid_templates_are_refused_with_a_position() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let broken = app
        .post(
            "/api/v1/templates",
            &org.key,
            &json!({"name": "Broken", "kind": "message", "body": "Hi\n{{#each items}}never closed"}),
        )
        .await;
    assert_error(
        &broken,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let message = broken.1["error"]["details"]["fields"]["body"][0]
        .as_str()
        .expect("body message");
    assert!(message.contains("line"), "{message}");

    let bad_settings = app
        .post(
            "/api/v1/templates",
            &org.key,
            &json!({"name": "Loud", "kind": "pitch", "body": "x",
                    "settings": {"tone": "loud", "length": "short"}}),
        )
        .await;
    assert_error(
        &bad_settings,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let message = bad_settings.1["error"]["details"]["fields"]["settings"][0]
        .as_str()
        .expect("settings message");
    assert!(message.contains("loud"), "{message}");

    for settings in [
        json!({"focus": "x".repeat(201)}),
        json!({"length": "epic"}),
        json!({"colour": "red"}),
    ] {
        let bad = app
            .post(
                "/api/v1/templates",
                &org.key,
                &json!({"name": "S", "kind": "pitch", "body": "x", "settings": settings}),
            )
            .await;
        assert_error(&bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }

    let subject_on_message = app
        .post(
            "/api/v1/templates",
            &org.key,
            &json!({"name": "M", "kind": "message", "subject": "Hi", "body": "x"}),
        )
        .await;
    assert_error(
        &subject_on_message,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );

    create_template(
        &app,
        &org,
        &json!({"name": "Taken", "kind": "pitch", "body": "x"}),
    )
    .await;
    assert_error(
        &app.post(
            "/api/v1/templates",
            &org.key,
            &json!({"name": "Taken", "kind": "message", "body": "y"}),
        )
        .await,
        StatusCode::CONFLICT,
        "already_exists",
    );
}

#[actix_web::test]
async fn validate_lists_variables_or_locates_the_error() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let (status, ok) = app
        .post(
            "/api/v1/templates/validate",
            &org.key,
            &json!({"subject": "For {{contact.company.name}}",
                    "body": "Hi {{contact.name}}\n{{#if vip}}VIP{{/if}}\n{{#each items}}- {{title}} for {{../sender.name}}\n{{/each}}"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{ok}");
    assert_eq!(ok["valid"], true);
    assert_eq!(
        ok["variables"],
        json!(["contact", "items", "sender", "vip"])
    );

    let invalid = app
        .post(
            "/api/v1/templates/validate",
            &org.key,
            &json!({"body": "Hello\nthere {{contact.name}\n"}),
        )
        .await;
    assert_error(
        &invalid,
        StatusCode::UNPROCESSABLE_ENTITY,
        "template_invalid",
    );
    let details = &invalid.1["error"]["details"];
    assert_eq!(details["field"], "body");
    assert_eq!(details["line"], 2, "{details}");
    assert!(
        details["column"].as_u64().is_some_and(|c| c > 1),
        "{details}"
    );
    assert!(details["message"].is_string(), "{details}");

    let bad_subject = app
        .post(
            "/api/v1/templates/validate",
            &org.key,
            &json!({"subject": "{{#if x}}", "body": "fine"}),
        )
        .await;
    assert_error(
        &bad_subject,
        StatusCode::UNPROCESSABLE_ENTITY,
        "template_invalid",
    );
    assert_eq!(bad_subject.1["error"]["details"]["field"], "subject");
}

#[actix_web::test]
async fn preview_renders_strictly_for_the_organisations_contacts() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let (status, company) = app
        .post("/api/v1/companies", &org.key, &json!({"name": "Initech"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{company}");
    let (status, contact) = app
        .post(
            "/api/v1/contacts",
            &org.key,
            &json!({"name": "Ada Lovelace", "email": "ada@example.com", "title": "CTO",
                    "company_id": company["id"], "tags": ["vip"], "attributes": {"plan": "pro"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{contact}");
    let contact_id = contact["id"].as_str().expect("id");

    let body = "Hi {{contact.first_name}} ({{contact.title}} at {{contact.company.name}}), \
                plan {{contact.attributes.plan}}{{#each contact.tags}} #{{this}}{{/each}} - {{sender.name}}";
    let (status, preview) = app
        .post(
            "/api/v1/templates/preview",
            &org.key,
            &json!({"body": body, "contact_id": contact_id, "sample": {"sender": {"name": "Sam"}}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(
        preview["body"],
        "Hi Ada (CTO at Initech), plan pro #vip - Sam"
    );
    assert!(preview.get("subject").is_none(), "{preview}");

    let (status, overridden) = app
        .post(
            "/api/v1/templates/preview",
            &org.key,
            &json!({"body": "Hi {{contact.first_name}} of {{contact.company.name}}",
                    "contact_id": contact_id, "sample": {"contact": {"first_name": "Countess"}}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{overridden}");
    assert_eq!(overridden["body"], "Hi Countess of Initech");

    let (status, sample) = app
        .post(
            "/api/v1/templates/preview",
            &org.key,
            &json!({"body": "Hi {{contact.first_name}}", "subject": "For {{contact.company.name}}"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sample}");
    assert_eq!(sample["body"], "Hi Jordan", "the built-in sample contact");
    assert_eq!(sample["subject"], "For Example Logistics");

    let missing = app
        .post(
            "/api/v1/templates/preview",
            &org.key,
            &json!({"body": "Hi {{contact.first_name}}\n{{contact.nickname}}", "contact_id": contact_id}),
        )
        .await;
    assert_error(
        &missing,
        StatusCode::UNPROCESSABLE_ENTITY,
        "template_render_failed",
    );
    assert_eq!(
        missing.1["error"]["details"]["variable"],
        "contact.nickname"
    );
    let message = missing.1["error"]["message"].as_str().expect("message");
    assert!(message.contains("contact.nickname"), "{message}");

    let other = app.create_org("other").await;
    let (status, foreign) = app
        .post(
            "/api/v1/contacts",
            &other.key,
            &json!({"name": "Someone Else"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let leak = app
        .post(
            "/api/v1/templates/preview",
            &org.key,
            &json!({"body": "Hi {{contact.name}}", "contact_id": foreign["id"]}),
        )
        .await;
    assert_error(&leak, StatusCode::NOT_FOUND, "not_found");
    assert!(
        !leak.1.to_string().contains("Someone Else"),
        "another tenant's data never shows: {}",
        leak.1
    );
}

#[actix_web::test]
async fn preview_of_a_saved_template() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let id = create_template(
        &app,
        &org,
        &json!({"name": "Mail", "kind": "email", "subject": "Re: {{topic}}",
                "body": "Hi {{contact.first_name}}"}),
    )
    .await;
    let (status, preview) = app
        .post(
            "/api/v1/templates/preview",
            &org.key,
            &json!({"template_id": id, "sample": {"topic": "pricing"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(
        preview,
        json!({"subject": "Re: pricing", "body": "Hi Jordan"})
    );

    let missing_topic = app
        .post(
            "/api/v1/templates/preview",
            &org.key,
            &json!({"template_id": id}),
        )
        .await;
    assert_error(
        &missing_topic,
        StatusCode::UNPROCESSABLE_ENTITY,
        "template_render_failed",
    );
    assert_eq!(missing_topic.1["error"]["details"]["field"], "subject");
    assert_eq!(missing_topic.1["error"]["details"]["variable"], "topic");

    let other = app.create_org("other").await;
    assert_error(
        &app.post(
            "/api/v1/templates/preview",
            &other.key,
            &json!({"template_id": id}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &app.post("/api/v1/templates/preview", &org.key, &json!({}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
}

#[actix_web::test]
async fn templates_filter_isolate_and_need_configure() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let pitch = create_template(
        &app,
        &org,
        &json!({"name": "Pitch", "kind": "pitch", "body": "x"}),
    )
    .await;
    create_template(
        &app,
        &org,
        &json!({"name": "Msg", "kind": "message", "body": "y"}),
    )
    .await;
    let (status, pitches) = app.get("/api/v1/templates?kind=pitch", &org.key).await;
    assert_eq!(status, StatusCode::OK, "{pitches}");
    let items = pitches["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], pitch.as_str());

    assert_isolated(
        &app,
        &format!("/api/v1/templates/{pitch}"),
        "/api/v1/templates",
        &pitch,
    )
    .await;

    let reader = app.key_with(&org, &[Scope::Read, Scope::Write]).await;
    let (status, _) = app
        .get(&format!("/api/v1/templates/{pitch}"), &reader)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .post(
            "/api/v1/templates/validate",
            &reader,
            &json!({"body": "{{a}}"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "validating needs only read");
    let denied = app
        .post(
            "/api/v1/templates",
            &reader,
            &json!({"name": "N", "kind": "pitch", "body": "x"}),
        )
        .await;
    assert_error(&denied, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(denied.1["error"]["details"]["required_scope"], "configure");
    assert_error(
        &app.patch(
            &format!("/api/v1/templates/{pitch}"),
            &reader,
            &json!({"body": "z"}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
}
