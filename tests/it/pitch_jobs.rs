//! Batch pitch jobs: progress arrives as `job.progress` signals on a real inbox WebSocket and
//! the job completes; a transient model error is retried within the item, a permanent one
//! fails only its item; a job whose worker died is resumed and completed.

use serde_json::{Value, json};

use crate::inbox_ws::{Socket, command, connect, next_json};
use crate::ollama_server::{OllamaServer, Scripted};
use crate::pitches::{config_for, contact, setup_with};
use crate::support::TestApp;
use switchboard::db::models::{PitchJob, PitchJobInsertForm, PitchJobItem};
use switchboard::domain::{ContactId, PitchJobId};

/// A subscribed inbox socket.
async fn subscribed(app: &TestApp, key: &str) -> Socket {
    let mut socket = connect(app, key, None).await.expect("socket connects");
    command(&mut socket, json!({"type": "subscribe", "id": "s"})).await;
    loop {
        if next_json(&mut socket).await["type"] == "ack" {
            return socket;
        }
    }
}

/// `job.progress` signals of `job` until the one saying it finished, in order.
async fn progress_until_finished(socket: &mut Socket, job: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let frame = next_json(socket).await;
        if frame["type"] != "job.progress" || frame["data"]["job_id"] != job {
            continue;
        }
        let finished = frame["data"]["finished"] == true;
        seen.push(frame["data"].clone());
        if finished {
            return seen;
        }
    }
}

#[actix_web::test]
async fn a_batch_reports_progress_on_the_inbox_socket_and_completes() {
    let server = OllamaServer::start(384);
    let mut config = config_for(&server, 0);
    config.pitches.concurrency = 2;
    let setup = setup_with(config, server).await;
    let mut ids = Vec::new();
    for name in ["Ada", "Bob", "Cy"] {
        ids.push(contact(&setup.app, &setup.org, name).await);
    }
    setup
        .server
        .otherwise(Scripted::Reply("Subject: Hello\n\nShall we talk?".into()));
    // One of them already has a pitch with the same settings: served from the cache.
    let (status, cached) = setup
        .app
        .post(
            "/api/v1/pitches",
            &setup.org.key,
            &json!({"contact_id": ids[0], "tone": "casual"}),
        )
        .await;
    assert!(status.is_success(), "{status} {cached}");
    let mut socket = subscribed(&setup.app, &setup.org.key).await;

    let mut contact_ids = ids.clone();
    contact_ids.push(ids[1].clone()); // duplicates count once
    let (status, accepted) = setup
        .app
        .post(
            "/api/v1/pitches/batch",
            &setup.org.key,
            &json!({"contact_ids": contact_ids, "tone": "casual"}),
        )
        .await;
    assert_eq!(status.as_u16(), 202, "{accepted}");
    assert_eq!(accepted["total"], 3);
    let job = accepted["job_id"].as_str().expect("job id").to_owned();

    let signals = progress_until_finished(&mut socket, &job).await;
    let done: Vec<u64> = signals
        .iter()
        .map(|s| s["done"].as_u64().expect("done"))
        .collect();
    assert!(done.windows(2).all(|w| w[0] < w[1]), "{signals:?}");
    let last = signals.last().expect("a final signal");
    assert_eq!(
        (
            last["done"].clone(),
            last["failed"].clone(),
            last["total"].clone()
        ),
        (json!(3), json!(0), json!(3)),
        "{signals:?}"
    );
    assert_eq!(last["kind"], "pitch_batch");

    let (status, state) = setup
        .app
        .get(&format!("/api/v1/pitches/jobs/{job}"), &setup.org.key)
        .await;
    assert!(status.is_success(), "{state}");
    assert_eq!(state["job"]["status"], "completed", "{state}");
    assert_eq!(
        (state["job"]["done"].clone(), state["job"]["failed"].clone()),
        (json!(3), json!(0))
    );
    let items = state["items"].as_array().expect("items");
    let order: Vec<&str> = items
        .iter()
        .map(|i| i["contact_id"].as_str().expect("id"))
        .collect();
    assert_eq!(order, ids.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        items
            .iter()
            .all(|i| i["status"] == "completed" && i["pitch_id"].is_string()),
        "{state}"
    );
    assert_eq!(items[0]["cached"], true, "{state}");
    assert_eq!(items[0]["pitch_id"], cached["pitch"]["id"]);
    assert_eq!(
        setup.server.chat_requests().len(),
        3,
        "one single pitch and two new in the batch"
    );

    // Another organisation sees neither the job nor its signals.
    let other = setup.app.create_org("other").await;
    let (status, _) = setup
        .app
        .get(&format!("/api/v1/pitches/jobs/{job}"), &other.key)
        .await;
    assert_eq!(status.as_u16(), 404);
}

#[actix_web::test]
async fn a_transient_error_is_retried_and_a_permanent_one_fails_only_its_item() {
    let server = OllamaServer::start(384);
    let mut config = config_for(&server, 0);
    config.pitches.concurrency = 1;
    config.pitches.item_retries = 2;
    let setup = setup_with(config, server).await;
    let mut ids = Vec::new();
    for name in ["Ada", "Bob", "Cy"] {
        ids.push(contact(&setup.app, &setup.org, name).await);
    }
    setup.server.script([
        Scripted::server_error(),
        Scripted::Reply("Subject: A\n\nFor Ada.".into()),
        Scripted::model_not_found("llama3.1:8b"),
        Scripted::Reply("Subject: C\n\nFor Cy.".into()),
    ]);
    let mut socket = subscribed(&setup.app, &setup.org.key).await;
    let (status, accepted) = setup
        .app
        .post(
            "/api/v1/pitches/batch",
            &setup.org.key,
            &json!({"contact_ids": ids}),
        )
        .await;
    assert_eq!(status.as_u16(), 202, "{accepted}");
    let job = accepted["job_id"].as_str().expect("job id").to_owned();
    let signals = progress_until_finished(&mut socket, &job).await;
    let last = signals.last().expect("final");
    assert_eq!(
        (last["done"].clone(), last["failed"].clone()),
        (json!(3), json!(1)),
        "{signals:?}"
    );

    let (_, state) = setup
        .app
        .get(&format!("/api/v1/pitches/jobs/{job}"), &setup.org.key)
        .await;
    assert_eq!(state["job"]["status"], "completed", "{state}");
    let items = state["items"].as_array().expect("items");
    assert_eq!(
        (items[0]["status"].clone(), items[0]["attempts"].clone()),
        (json!("completed"), json!(2)),
        "{state}"
    );
    assert_eq!(
        (items[1]["status"].clone(), items[1]["attempts"].clone()),
        (json!("failed"), json!(1)),
        "{state}"
    );
    assert!(
        items[1]["error"]
            .as_str()
            .expect("error")
            .contains("not on the model server"),
        "{state}"
    );
    assert_eq!(items[2]["status"], "completed", "{state}");
    assert_eq!(setup.server.chat_requests().len(), 4);

    // Unknown contacts are refused before any job starts.
    let (status, body) = setup
        .app
        .post(
            "/api/v1/pitches/batch",
            &setup.org.key,
            &json!({"contact_ids": [uuid::Uuid::now_v7()]}),
        )
        .await;
    assert_eq!(status.as_u16(), 422, "{body}");
}

#[actix_web::test]
async fn a_job_whose_worker_died_is_resumed_and_completed() {
    let server = OllamaServer::start(384);
    let setup = setup_with(config_for(&server, 0), server).await;
    setup
        .server
        .otherwise(Scripted::Reply("Subject: Back\n\nWe are back.".into()));
    let ada: ContactId =
        serde_json::from_value(json!(contact(&setup.app, &setup.org, "Ada").await)).expect("id");
    let bob: ContactId =
        serde_json::from_value(json!(contact(&setup.app, &setup.org, "Bob").await)).expect("id");
    // A job its node was running when it died: one item in flight, lease run out.
    let id = PitchJobId::new();
    let now = chrono::Utc::now();
    let item = |contact, position, status: &str| PitchJobItem {
        job_id: id,
        contact_id: contact,
        position,
        status: status.into(),
        pitch_id: None,
        cached: false,
        error: None,
        attempts: 0,
        updated_at: now,
    };
    let mut conn = setup.app.ctx.db().get().await.expect("db");
    PitchJob::create(
        &mut conn,
        &PitchJobInsertForm {
            id,
            organization_id: setup.org.id,
            status: "running".into(),
            total: 2,
            settings: json!({}),
            created_by: None,
            lease_until: Some(now - chrono::Duration::minutes(5)),
        },
        &[item(ada, 0, "running"), item(bob, 1, "queued")],
    )
    .await
    .expect("job");
    drop(conn);

    let mut socket = subscribed(&setup.app, &setup.org.key).await;
    let llm = switchboard::llm::LlmClient::new(&setup.app.ctx.config().llm).expect("client");
    switchboard::pitches::jobs::resume_orphans(switchboard::pitches::PitchService::new(
        setup.app.ctx.clone(),
        llm,
    ));
    let signals = progress_until_finished(&mut socket, &id.to_string()).await;
    assert_eq!(signals.last().expect("final")["done"], 2, "{signals:?}");
    let (_, state) = setup
        .app
        .get(&format!("/api/v1/pitches/jobs/{id}"), &setup.org.key)
        .await;
    assert_eq!(state["job"]["status"], "completed", "{state}");
    assert!(
        state["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|i| i["status"] == "completed"),
        "{state}"
    );
}
