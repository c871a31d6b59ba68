//! Pitches in the execution log and the budgets, over real PostgreSQL and Redis with the
//! Ollama-compatible test server: a written pitch is an `agent_executions` row (trigger `pitch`,
//! its outcome and tokens) and spends the bizdev agent's `tokens_per_day`; a cached pitch costs
//! nothing; once the budget is spent a new pitch is refused with `agent_budget_exhausted`
//! (logged as blocked) without asking the model, while cached pitches are still served.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use reqwest::StatusCode;
use serde_json::json;

use crate::ollama_server::{OllamaServer, Scripted};
use crate::pitches::{config_for, contact, setup_with};
use crate::support::assert_error;
use switchboard::db::models::AgentExecution;
use switchboard::db::schema::agent_executions;
use switchboard::domain::OrganizationId;

async fn pitch_log(app: &crate::support::TestApp, org: OrganizationId) -> Vec<AgentExecution> {
    let mut conn = app.ctx.db().get().await.expect("db");
    agent_executions::table
        .filter(agent_executions::organization_id.eq(org))
        .filter(agent_executions::trigger.eq("pitch"))
        .order(agent_executions::created_at.asc())
        .select(AgentExecution::as_select())
        .load(&mut conn)
        .await
        .expect("executions")
}

/// Sets the organisation's bizdev agent's daily token budget; returns the agent's id.
async fn limit_bizdev_tokens(
    app: &crate::support::TestApp,
    org: &crate::support::TestOrg,
    tokens: u32,
) -> String {
    let (_, listed) = app.get("/api/v1/agents?kind=bizdev", &org.key).await;
    let agent = listed["items"][0]["id"]
        .as_str()
        .expect("bizdev")
        .to_owned();
    let (status, body) = app
        .patch(
            &format!("/api/v1/agents/{agent}"),
            &org.key,
            &json!({"budgets": {"tokens_per_day": tokens}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    agent
}

#[actix_web::test]
async fn written_pitches_are_logged_and_spend_the_budget_cached_ones_cost_nothing() {
    let server = OllamaServer::start(384);
    let setup = setup_with(config_for(&server, 0), server).await;
    let (app, org) = (&setup.app, &setup.org);
    // One pitch costs 49 tokens (42 read, 7 written): a budget of 49 allows exactly one.
    let agent = limit_bizdev_tokens(app, org, 49).await;
    let ada = contact(app, org, "Ada").await;
    let grace = contact(app, org, "Grace").await;
    setup.server.script([
        Scripted::Reply("Subject: Hello\n\nHi Ada, worth a call?".into()),
        Scripted::Reply("Subject: Never\n\nThis must not be written.".into()),
    ]);

    let first = app
        .post("/api/v1/pitches", &org.key, &json!({"contact_id": ada}))
        .await;
    assert_eq!(first.0, StatusCode::OK, "{}", first.1);
    assert_eq!(first.1["cached"], false);
    let logged = pitch_log(app, org.id).await;
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].status, "drafted");
    assert_eq!(
        (logged[0].prompt_tokens, logged[0].completion_tokens),
        (42, 7)
    );
    assert_eq!(logged[0].agent_id.map(|a| a.0.to_string()), Some(agent));
    assert_eq!(logged[0].outputs["pitch_id"], first.1["pitch"]["id"]);
    assert!(logged[0].finished_at.is_some());

    // Served from the cache: no model call, no row, no tokens, even with the budget spent.
    let cached = app
        .post("/api/v1/pitches", &org.key, &json!({"contact_id": ada}))
        .await;
    assert_eq!(cached.0, StatusCode::OK, "{}", cached.1);
    assert_eq!(cached.1["cached"], true);
    assert_eq!(pitch_log(app, org.id).await.len(), 1);

    // The budget is spent: a new pitch is refused before the model is asked, and logged.
    let refused = app
        .post("/api/v1/pitches", &org.key, &json!({"contact_id": grace}))
        .await;
    assert_error(
        &refused,
        StatusCode::TOO_MANY_REQUESTS,
        "agent_budget_exhausted",
    );
    assert_eq!(refused.1["error"]["details"]["tokens_per_day"], 49);
    assert_eq!(
        setup.server.chat_requests().len(),
        1,
        "the model was not asked"
    );
    let logged = pitch_log(app, org.id).await;
    assert_eq!(logged.len(), 2);
    assert_eq!(logged[1].status, "blocked");
    assert_eq!(
        (logged[1].prompt_tokens, logged[1].completion_tokens),
        (0, 0)
    );
    assert!(
        logged[1].outputs["reason"]
            .as_str()
            .is_some_and(|r| r.contains("49 tokens")),
        "{}",
        logged[1].outputs
    );
    // `regenerate` is a new pitch like any other.
    let regenerate = app
        .post(
            "/api/v1/pitches",
            &org.key,
            &json!({"contact_id": ada, "regenerate": true}),
        )
        .await;
    assert_error(
        &regenerate,
        StatusCode::TOO_MANY_REQUESTS,
        "agent_budget_exhausted",
    );

    // Raising the budget lets pitches through again (the counter is the agent's, not a lock).
    let (status, body) = app
        .patch(
            &format!("/api/v1/agents/{}", logged[0].agent_id.expect("agent").0),
            &org.key,
            &json!({"budgets": {"tokens_per_day": 1000}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    setup.server.script([Scripted::Reply(
        "Subject: Hi\n\nHi Grace, worth a call?".into(),
    )]);
    let next = app
        .post("/api/v1/pitches", &org.key, &json!({"contact_id": grace}))
        .await;
    assert_eq!(next.0, StatusCode::OK, "{}", next.1);
    let statuses: Vec<String> = pitch_log(app, org.id)
        .await
        .into_iter()
        .map(|e| e.status)
        .collect();
    assert_eq!(statuses, ["drafted", "blocked", "blocked", "drafted"]);
}

#[actix_web::test]
async fn a_pitch_blocked_by_a_rail_is_logged_as_blocked_and_its_tokens_count() {
    let server = OllamaServer::start(384);
    let setup = setup_with(config_for(&server, 0), server).await;
    let (app, org) = (&setup.app, &setup.org);
    limit_bizdev_tokens(app, org, 49).await;
    let ada = contact(app, org, "Ada").await;
    setup.server.script([Scripted::Reply(
        "Subject: Deal\n\nWe guarantee the lowest price.".into(),
    )]);
    let blocked = app
        .post("/api/v1/pitches", &org.key, &json!({"contact_id": ada}))
        .await;
    assert_error(&blocked, StatusCode::UNPROCESSABLE_ENTITY, "pitch_blocked");
    let logged = pitch_log(app, org.id).await;
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].status, "blocked");
    assert_eq!(
        (logged[0].prompt_tokens, logged[0].completion_tokens),
        (42, 7)
    );
    // The model did the work, so the budget is spent.
    let refused = app
        .post("/api/v1/pitches", &org.key, &json!({"contact_id": ada}))
        .await;
    assert_error(
        &refused,
        StatusCode::TOO_MANY_REQUESTS,
        "agent_budget_exhausted",
    );
}
