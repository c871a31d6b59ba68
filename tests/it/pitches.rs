//! Pitches over real PostgreSQL and Redis with the Ollama-compatible test server: a pitch is
//! served from the cache (the model sees one request) until the contact, the template or the
//! quick settings change, `regenerate` is asked for, or it expires; another organisation's
//! contact is a 404; a transient model error is retried, a dead model server is a 503, and a
//! pitch with a forbidden phrase is blocked by the agent's output rail and not stored.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::agent_llm::llm_config;
use crate::ollama_server::{OllamaServer, Scripted};
use crate::support::{TestApp, TestOrg, assert_error, test_config};
use switchboard::config::Config;

/// A server whose model is the test server, and an organisation with a bizdev agent.
pub(crate) struct Setup {
    pub(crate) app: TestApp,
    pub(crate) org: TestOrg,
    pub(crate) server: OllamaServer,
}

pub(crate) fn config_for(server: &OllamaServer, llm_retries: usize) -> Config {
    let mut config = test_config();
    config.llm = llm_config(&server.url, llm_retries);
    config.pitches.retry_min_delay_ms = 1;
    config
}

pub(crate) async fn setup_with(config: Config, server: OllamaServer) -> Setup {
    let app = TestApp::spawn_with(config).await;
    let org = app.create_org("pitchco").await;
    bizdev_agent(&app, &org).await;
    Setup { app, org, server }
}

pub(crate) async fn bizdev_agent(app: &TestApp, org: &TestOrg) {
    let prompt =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/prompts/bizdev.hbs"))
            .expect("prompt");
    let (status, agent) = app
        .post(
            "/api/v1/agents",
            &org.key,
            &json!({"name": "bizdev", "kind": "bizdev", "model": "llama3.1:8b",
                "description": "Writes personalised pitches.", "prompt_template": prompt,
                "guardrails": {"forbidden_phrases": ["guarantee", "lowest price"]}}),
        )
        .await;
    assert!(status.is_success(), "{status} {agent}");
}

pub(crate) async fn contact(app: &TestApp, org: &TestOrg, name: &str) -> String {
    let (status, company) = app
        .post(
            "/api/v1/companies",
            &org.key,
            &json!({"name": format!("{name} Logistics"), "industry": "Logistics"}),
        )
        .await;
    assert!(status.is_success(), "{status} {company}");
    let (status, body) = app
        .post(
            "/api/v1/contacts",
            &org.key,
            &json!({"name": name, "email": format!("{}@example.com", name.to_lowercase()),
                "title": "Head of Operations", "company_id": company["id"], "tags": ["lead"]}),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    body["id"].as_str().expect("id").to_owned()
}

async fn pitch(setup: &Setup, body: &Value) -> (StatusCode, Value) {
    setup
        .app
        .post("/api/v1/pitches", &setup.org.key, body)
        .await
}

fn reply(text: &str) -> Scripted {
    Scripted::Reply(format!(
        "Subject: {text}\n\nHi, {text}. Worth a call this week?"
    ))
}

/// The system prompt of the `index`-th chat request the model server saw.
fn system_prompt(server: &OllamaServer, index: usize) -> String {
    server.chat_requests()[index].body["messages"][0]["content"]
        .as_str()
        .expect("system prompt")
        .to_owned()
}

#[actix_web::test]
async fn a_pitch_is_cached_until_its_contact_template_or_settings_change() {
    let server = OllamaServer::start(384);
    let setup = setup_with(config_for(&server, 0), server).await;
    let ada = contact(&setup.app, &setup.org, "Ada").await;
    setup
        .server
        .script([reply("one"), reply("two"), reply("three"), reply("four")]);

    let (status, first) = pitch(&setup, &json!({"contact_id": ada, "tone": "friendly"})).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["cached"], false);
    assert_eq!(first["pitch"]["subject"], "one");
    assert_eq!(first["pitch"]["body"], "Hi, one. Worth a call this week?");
    assert_eq!(first["pitch"]["settings"]["tone"], "friendly");
    let prompt = system_prompt(&setup.server, 0);
    assert!(
        prompt.contains("friendly tone for Ada (Head of Operations) at Ada Logistics"),
        "{prompt}"
    );

    // Same contact, same configuration: from the cache, the model is not asked again.
    let (status, again) = pitch(&setup, &json!({"contact_id": ada, "tone": "friendly"})).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["cached"], true);
    assert_eq!(again["pitch"]["id"], first["pitch"]["id"]);
    assert_eq!(again["pitch"]["body"], first["pitch"]["body"]);
    assert_eq!(setup.server.chat_requests().len(), 1);

    // The contact changes: a new pitch under a new fingerprint.
    let (status, body) = setup
        .app
        .patch(
            &format!("/api/v1/contacts/{ada}"),
            &setup.org.key,
            &json!({"title": "CTO"}),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    let (_, changed) = pitch(&setup, &json!({"contact_id": ada, "tone": "friendly"})).await;
    assert_eq!(changed["cached"], false, "{changed}");
    assert_eq!(changed["pitch"]["subject"], "two");
    assert_ne!(
        changed["pitch"]["fingerprint"],
        first["pitch"]["fingerprint"]
    );
    assert!(system_prompt(&setup.server, 1).contains("(CTO)"));

    // Other quick settings: new; the earlier settings again: still cached.
    let (_, formal) = pitch(&setup, &json!({"contact_id": ada, "tone": "formal"})).await;
    assert_eq!(formal["cached"], false, "{formal}");
    assert!(system_prompt(&setup.server, 2).contains("formal tone"));
    let (_, back) = pitch(&setup, &json!({"contact_id": ada, "tone": "friendly"})).await;
    assert_eq!(back["cached"], true, "{back}");
    assert_eq!(back["pitch"]["id"], changed["pitch"]["id"]);

    // A template, then a change to it.
    let (status, template) = setup
        .app
        .post(
            "/api/v1/templates",
            &setup.org.key,
            &json!({"name": "Intro", "kind": "pitch",
                "body": "Hi {{contact.first_name}}, we answer every lead within a minute.",
                "settings": {"tone": "casual", "length": "short"}}),
        )
        .await;
    assert!(status.is_success(), "{status} {template}");
    let with_template = json!({"contact_id": ada, "template_id": template["id"]});
    let (_, templated) = pitch(&setup, &with_template).await;
    assert_eq!(templated["cached"], false, "{templated}");
    assert_eq!(templated["pitch"]["settings"]["tone"], "casual");
    assert_eq!(templated["pitch"]["template_id"], template["id"]);
    let ask = setup.server.chat_requests()[3].body["messages"][1]["content"].clone();
    assert!(
        ask.as_str()
            .expect("text")
            .contains("Hi Ada, we answer every lead"),
        "{ask}"
    );
    assert_eq!(pitch(&setup, &with_template).await.1["cached"], true);
    let (status, body) = setup
        .app
        .patch(
            &format!("/api/v1/templates/{}", template["id"].as_str().expect("id")),
            &setup.org.key,
            &json!({"body": "Hello {{contact.first_name}}, shall we talk?"}),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    setup.server.script([reply("five")]);
    let (_, edited) = pitch(&setup, &with_template).await;
    assert_eq!(edited["cached"], false, "{edited}");
    assert_eq!(edited["pitch"]["subject"], "five");
    assert_eq!(setup.server.chat_requests().len(), 5);

    let (status, list) = setup
        .app
        .get(&format!("/api/v1/pitches?contact_id={ada}"), &setup.org.key)
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["items"].as_array().expect("items").len(), 5, "{list}");
}

#[actix_web::test]
async fn regenerate_and_expiry_write_a_new_pitch_in_place_of_the_cached_one() {
    let server = OllamaServer::start(384);
    let setup = setup_with(config_for(&server, 0), server).await;
    let ada = contact(&setup.app, &setup.org, "Ada").await;
    setup
        .server
        .script([reply("one"), reply("two"), reply("three")]);
    let ask = json!({"contact_id": ada});
    let (_, first) = pitch(&setup, &ask).await;
    assert_eq!(first["cached"], false, "{first}");

    let (status, forced) = pitch(&setup, &json!({"contact_id": ada, "regenerate": true})).await;
    assert_eq!(status, StatusCode::OK, "{forced}");
    assert_eq!(forced["cached"], false);
    assert_eq!(forced["pitch"]["subject"], "two");
    // Same fingerprint: the cached row is replaced, not duplicated.
    assert_eq!(forced["pitch"]["id"], first["pitch"]["id"]);
    assert_eq!(pitch(&setup, &ask).await.1["pitch"]["subject"], "two");

    // Thirty days later (played by moving the expiry into the past).
    let mut conn = setup.app.ctx.db().get().await.expect("db");
    let id: uuid::Uuid = serde_json::from_value(first["pitch"]["id"].clone()).expect("id");
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query("UPDATE pitches SET expires_at = now() - interval '1 day' WHERE id = $1")
            .bind::<diesel::sql_types::Uuid, _>(id),
        &mut conn,
    )
    .await
    .expect("expire");
    let (_, expired) = pitch(&setup, &ask).await;
    assert_eq!(expired["cached"], false, "{expired}");
    assert_eq!(expired["pitch"]["subject"], "three");
    assert_eq!(setup.server.chat_requests().len(), 3);
    assert_eq!(pitch(&setup, &ask).await.1["cached"], true);
}

#[actix_web::test]
async fn another_organisations_contact_or_template_is_not_found() {
    let server = OllamaServer::start(384);
    let setup = setup_with(config_for(&server, 0), server).await;
    let other = setup.app.create_org("other").await;
    let eve = contact(&setup.app, &other, "Eve").await;
    let got = pitch(&setup, &json!({"contact_id": eve})).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    let ada = contact(&setup.app, &setup.org, "Ada").await;
    let (_, foreign) = setup
        .app
        .post(
            "/api/v1/templates",
            &other.key,
            &json!({"name": "Theirs", "kind": "pitch", "body": "x"}),
        )
        .await;
    let got = pitch(
        &setup,
        &json!({"contact_id": ada, "template_id": foreign["id"]}),
    )
    .await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    // An organisation without a bizdev agent cannot pitch.
    let got = setup
        .app
        .post("/api/v1/pitches", &other.key, &json!({"contact_id": eve}))
        .await;
    assert_error(&got, StatusCode::CONFLICT, "pitch_agent_missing");
    assert!(setup.server.chat_requests().is_empty());
}

#[actix_web::test]
async fn a_transient_model_error_is_retried_and_a_dead_model_server_is_a_503() {
    let server = OllamaServer::start(384);
    let setup = setup_with(config_for(&server, 1), server).await;
    let ada = contact(&setup.app, &setup.org, "Ada").await;
    setup
        .server
        .script([Scripted::server_error(), reply("after a retry")]);
    let (status, body) = pitch(&setup, &json!({"contact_id": ada})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["pitch"]["subject"], "after a retry");
    assert_eq!(setup.server.chat_requests().len(), 2);

    // No model server at all (the default test configuration points nowhere).
    let app = TestApp::spawn().await;
    let org = app.create_org("down").await;
    bizdev_agent(&app, &org).await;
    let bob = contact(&app, &org, "Bob").await;
    let got = app
        .post("/api/v1/pitches", &org.key, &json!({"contact_id": bob}))
        .await;
    assert_error(&got, StatusCode::SERVICE_UNAVAILABLE, "llm_unreachable");
}

#[actix_web::test]
async fn a_pitch_with_a_forbidden_phrase_is_blocked_and_not_stored() {
    let server = OllamaServer::start(384);
    let setup = setup_with(config_for(&server, 0), server).await;
    let ada = contact(&setup.app, &setup.org, "Ada").await;
    setup.server.script([Scripted::Reply(
        "Subject: Results\n\nWe guarantee twice the replies.".into(),
    )]);
    let got = pitch(&setup, &json!({"contact_id": ada})).await;
    assert_error(&got, StatusCode::UNPROCESSABLE_ENTITY, "pitch_blocked");
    assert_eq!(
        got.1["error"]["details"]["rail"], "output.forbidden_phrases",
        "{}",
        got.1
    );
    let (_, list) = setup
        .app
        .get(&format!("/api/v1/pitches?contact_id={ada}"), &setup.org.key)
        .await;
    assert_eq!(list["items"], json!([]), "{list}");
    // Nothing was cached: the next call asks the model again.
    setup.server.script([reply("clean")]);
    let (status, body) = pitch(&setup, &json!({"contact_id": ada})).await;
    assert_eq!(
        (status, body["cached"].clone()),
        (StatusCode::OK, json!(false)),
        "{body}"
    );
}
