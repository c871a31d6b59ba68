//! The tool gate and approvals over real PostgreSQL: every deny path answers a structured
//! refusal before anything runs, ids of another organisation or contact are refused, tools run
//! against the chat's own contact, and a call waiting for a human runs exactly once however
//! many times it is approved — through the REST API.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::chats::{Fixture, fixture, new_chat};
use crate::deals::{id_of, stage_of};
use crate::pipelines::create_pipeline;
use crate::support::{TestApp, TestOrg, assert_error};
use switchboard::db::models::{Channel, ChannelInsertForm};
use switchboard::db::schema::{contacts, messages, outbox, tool_approvals};
use switchboard::domain::{
    AgentId, ChannelId, ChannelKind, ChatId, ContactId, ExecutionId, OrganizationId,
};
use switchboard::tools::{
    MAX_ARGUMENT_BYTES, ToolCall, ToolExecutor, ToolOutcome, ToolRegistry, ToolScope,
};

const ALL: &[&str] = &[
    "lookup_contact",
    "update_contact",
    "move_deal_stage",
    "schedule_followup",
    "handoff_to_human",
    "send_email",
];

struct Setup {
    org: TestOrg,
    fx: Fixture,
    scope: ToolScope,
}

async fn setup(app: &TestApp, label: &str) -> Setup {
    let org = app.create_org(label).await;
    let fx = fixture(app, &org, label).await;
    let chat = new_chat(app, &org, &fx).await;
    let scope = ToolScope {
        organization_id: org.id,
        chat_id: ChatId(chat.parse().expect("chat id")),
        contact_id: ContactId(fx.contact.parse().expect("contact id")),
        agent_id: None::<AgentId>,
        execution_id: ExecutionId::new(),
        allowed: ALL.iter().map(|s| (*s).to_owned()).collect(),
        approval_required: Vec::new(),
    };
    Setup { org, fx, scope }
}

/// Runs one call through the executor (the trait's `execute`, not diesel's).
async fn exec(tools: &ToolRegistry, scope: ToolScope, call: ToolCall) -> ToolOutcome {
    ToolExecutor::execute(tools, scope, call).await
}

fn call(name: &str, arguments: Value) -> ToolCall {
    ToolCall {
        id: None,
        name: name.to_owned(),
        arguments,
    }
}

fn rejected_code(outcome: &ToolOutcome) -> &str {
    match outcome {
        ToolOutcome::Rejected { code, .. } => code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn done(outcome: ToolOutcome) -> Value {
    match outcome {
        ToolOutcome::Done { result } => result,
        other => panic!("expected a result, got {other:?}"),
    }
}

/// A deal of the setup's contact in a fresh pipeline; returns (deal id, pipeline JSON).
async fn deal_for(app: &TestApp, s: &Setup, contact: &str) -> (String, Value) {
    let pipeline = create_pipeline(
        app,
        &s.org.key,
        &format!("Pipe {}", uuid::Uuid::now_v7()),
        &["Lead", "Demo", "Won"],
    )
    .await;
    let (status, deal) = app
        .post(
            "/api/v1/deals",
            &s.org.key,
            &json!({"name": "Rollout", "pipeline_id": pipeline["id"], "contact_id": contact}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{deal}");
    (id_of(&deal), pipeline)
}

#[actix_web::test]
async fn every_deny_path_refuses_before_running() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "tools-deny").await;
    let tools = ToolRegistry::new(&app.ctx);

    let o = exec(&tools, s.scope.clone(), call("drop_tables", json!({}))).await;
    assert_eq!(rejected_code(&o), "unknown_tool");

    let mut narrow = s.scope.clone();
    narrow.allowed = vec!["lookup_contact".into()];
    let o = exec(
        &tools,
        narrow,
        call("update_contact", json!({"add_tags": ["vip"]})),
    )
    .await;
    assert_eq!(rejected_code(&o), "tool_not_allowed");

    let huge = "x".repeat(MAX_ARGUMENT_BYTES + 1);
    let o = exec(
        &tools,
        s.scope.clone(),
        call("schedule_followup", json!({"in_hours": 2, "note": huge})),
    )
    .await;
    assert_eq!(rejected_code(&o), "arguments_too_large");

    for bad in [
        json!({"in_hours": 2, "note": "x", "extra": true}),
        json!({"in_hours": "soon", "note": "x"}),
        json!({"note": "x"}),
        json!({"in_hours": 0, "note": "x"}),
        json!([1, 2]),
    ] {
        let o = exec(
            &tools,
            s.scope.clone(),
            call("schedule_followup", bad.clone()),
        )
        .await;
        assert_eq!(rejected_code(&o), "invalid_arguments", "{bad}");
    }
    let o = exec(
        &tools,
        s.scope.clone(),
        call("update_contact", json!({"timezone": "Mars/Olympus"})),
    )
    .await;
    assert_eq!(rejected_code(&o), "invalid_arguments");

    // Nothing above ran: the contact is unchanged and no follow-up was queued.
    let mut conn = app.ctx.db().get().await.expect("db");
    let queued: i64 = outbox::table
        .filter(outbox::organization_id.eq(s.org.id))
        .filter(outbox::kind.eq("agent.followup"))
        .count()
        .get_result(&mut conn)
        .await
        .expect("count");
    assert_eq!(queued, 0);
}

#[actix_web::test]
async fn ids_of_another_organisation_or_contact_are_refused() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "tools-xorg").await;
    let other = setup(&app, "tools-xorg-other").await;
    let tools = ToolRegistry::new(&app.ctx);
    let (foreign_deal, foreign_pipeline) = deal_for(&app, &other, &other.fx.contact).await;
    let o = exec(
        &tools,
        s.scope.clone(),
        call(
            "move_deal_stage",
            json!({"deal_id": foreign_deal, "stage_id": stage_of(&foreign_pipeline, 1)}),
        ),
    )
    .await;
    assert_eq!(rejected_code(&o), "unknown_id");

    // Same organisation, but another contact's deal.
    let second = fixture(&app, &s.org, "tools-xorg-second").await;
    let (their_deal, pipeline) = deal_for(&app, &s, &second.contact).await;
    let o = exec(
        &tools,
        s.scope.clone(),
        call(
            "move_deal_stage",
            json!({"deal_id": their_deal, "stage_id": stage_of(&pipeline, 1)}),
        ),
    )
    .await;
    assert_eq!(rejected_code(&o), "not_this_contact");

    // Own deal, but a stage of another organisation's pipeline.
    let (own_deal, _) = deal_for(&app, &s, &s.fx.contact).await;
    let o = exec(
        &tools,
        s.scope.clone(),
        call(
            "move_deal_stage",
            json!({"deal_id": own_deal, "stage_id": stage_of(&foreign_pipeline, 1)}),
        ),
    )
    .await;
    assert_eq!(rejected_code(&o), "unknown_id");

    // The foreign deal did not move.
    let (_, deal) = app
        .get(&format!("/api/v1/deals/{foreign_deal}"), &other.org.key)
        .await;
    assert_eq!(
        deal["stage_id"].as_str(),
        Some(stage_of(&foreign_pipeline, 0).as_str())
    );
}

#[actix_web::test]
async fn tools_act_on_the_chats_contact() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "tools-run").await;
    let tools = ToolRegistry::new(&app.ctx);
    let (deal, pipeline) = deal_for(&app, &s, &s.fx.contact).await;

    let specs = tools.specs(&["lookup_contact".into(), "nope".into()]);
    assert_eq!(specs.len(), 1);
    assert_eq!(specs[0].parameters["type"], "object");
    assert_eq!(specs[0].parameters["additionalProperties"], false);

    let looked = done(exec(&tools, s.scope.clone(), call("lookup_contact", json!({}))).await);
    assert_eq!(looked["name"], "Lead tools-run");
    assert_eq!(looked["deals"][0]["id"].as_str(), Some(deal.as_str()));
    assert_eq!(
        looked["deals"][0]["stages"].as_array().map(Vec::len),
        Some(3)
    );

    done(
        exec(
            &tools,
            s.scope.clone(),
            call(
                "update_contact",
                json!({"title": "CTO", "add_tags": ["vip"], "timezone": "Europe/Berlin",
                           "attributes": {"seats": 40}}),
            ),
        )
        .await,
    );
    let (_, contact) = app
        .get(&format!("/api/v1/contacts/{}", s.fx.contact), &s.org.key)
        .await;
    assert_eq!(contact["title"], "CTO");
    assert_eq!(contact["tags"], json!(["vip"]));
    assert_eq!(contact["timezone"], "Europe/Berlin");
    assert_eq!(contact["attributes"]["seats"], 40);

    let moved = done(
        exec(
            &tools,
            s.scope.clone(),
            call(
                "move_deal_stage",
                json!({"deal_id": deal, "stage_id": stage_of(&pipeline, 2)}),
            ),
        )
        .await,
    );
    assert_eq!(moved["stage"], "Won");

    let scheduled = done(
        exec(
            &tools,
            s.scope.clone(),
            call(
                "schedule_followup",
                json!({"in_hours": 48, "note": "ask about budget"}),
            ),
        )
        .await,
    );
    let mut conn = app.ctx.db().get().await.expect("db");
    let (due, payload): (chrono::DateTime<chrono::Utc>, Value) = outbox::table
        .filter(outbox::organization_id.eq(s.org.id))
        .filter(outbox::kind.eq("agent.followup"))
        .select((outbox::next_attempt_at, outbox::payload))
        .first(&mut conn)
        .await
        .expect("follow-up row");
    assert!(due > chrono::Utc::now() + chrono::Duration::hours(47));
    assert_eq!(payload["note"], "ask about budget");
    assert_eq!(payload["contact_id"].as_str(), Some(s.fx.contact.as_str()));
    assert!(scheduled["followup_id"].is_string());

    let o = exec(
        &tools,
        s.scope.clone(),
        call(
            "handoff_to_human",
            json!({"reason": "wants a custom contract"}),
        ),
    )
    .await;
    assert_eq!(
        o,
        ToolOutcome::Handoff {
            reason: "wants a custom contract".into()
        }
    );
}

async fn email_channel(app: &TestApp, org: OrganizationId) -> ChannelId {
    let mut conn = app.ctx.db().get().await.expect("db");
    Channel::create(
        &mut conn,
        &ChannelInsertForm {
            id: ChannelId::new(),
            organization_id: org,
            kind: ChannelKind::Email,
            name: format!("mail {}", uuid::Uuid::now_v7()),
            settings: json!({}),
            secret_refs: json!({}),
            active: true,
        },
    )
    .await
    .expect("email channel")
    .id
}

#[actix_web::test]
async fn send_email_reaches_only_the_contact_and_honours_suppression() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "tools-email").await;
    let tools = ToolRegistry::new(&app.ctx);
    let args = json!({"subject": "Your demo", "body": "Hi! Here is the recording."});

    let o = exec(&tools, s.scope.clone(), call("send_email", args.clone())).await;
    assert_eq!(rejected_code(&o), "no_email_address");

    let mut conn = app.ctx.db().get().await.expect("db");
    diesel::update(contacts::table.filter(contacts::id.eq(s.scope.contact_id)))
        .set(contacts::email.eq(Some("lead@example.test")))
        .execute(&mut conn)
        .await
        .expect("email");
    let o = exec(&tools, s.scope.clone(), call("send_email", args.clone())).await;
    assert_eq!(rejected_code(&o), "no_email_channel");

    let channel = email_channel(&app, s.org.id).await;
    let sent = done(exec(&tools, s.scope.clone(), call("send_email", args.clone())).await);
    let message_id: uuid::Uuid = sent["message_id"]
        .as_str()
        .expect("id")
        .parse()
        .expect("uuid");
    let (body, channel_of, status): (String, ChannelId, String) = messages::table
        .filter(messages::id.eq(message_id))
        .select((messages::body, messages::channel_id, messages::status))
        .first(&mut conn)
        .await
        .expect("message");
    assert_eq!(body, "Hi! Here is the recording.");
    assert_eq!(channel_of, channel);
    assert_eq!(status, "queued");
    let queued: i64 = outbox::table
        .filter(outbox::organization_id.eq(s.org.id))
        .filter(outbox::kind.eq("message.send"))
        .count()
        .get_result(&mut conn)
        .await
        .expect("count");
    assert_eq!(queued, 1);

    // Opted out: refused, nothing more queued.
    switchboard::rails::suppress_on_opt_out(&mut conn, s.org.id, s.scope.contact_id)
        .await
        .expect("opt out");
    let o = exec(&tools, s.scope.clone(), call("send_email", args)).await;
    assert_eq!(rejected_code(&o), "contact_suppressed");
}

#[actix_web::test]
async fn approval_runs_a_waiting_call_exactly_once() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "tools-approve").await;
    let other = app.create_org("tools-approve-other").await;
    let tools = ToolRegistry::new(&app.ctx);
    let (deal, pipeline) = deal_for(&app, &s, &s.fx.contact).await;
    let mut scope = s.scope.clone();
    scope.approval_required = vec!["move_deal_stage".into(), "update_contact".into()];

    // A cross-organisation id is refused before any approval is stored.
    let o = exec(
        &tools,
        scope.clone(),
        call(
            "move_deal_stage",
            json!({"deal_id": uuid::Uuid::now_v7(), "stage_id": stage_of(&pipeline, 1)}),
        ),
    )
    .await;
    assert_eq!(rejected_code(&o), "unknown_id");

    let o = exec(
        &tools,
        scope.clone(),
        call(
            "move_deal_stage",
            json!({"deal_id": deal, "stage_id": stage_of(&pipeline, 1)}),
        ),
    )
    .await;
    let ToolOutcome::AwaitingApproval { approval_id } = o else {
        panic!("expected to wait, got {o:?}");
    };
    // Not run yet.
    let (_, d) = app.get(&format!("/api/v1/deals/{deal}"), &s.org.key).await;
    assert_eq!(
        d["stage_id"].as_str(),
        Some(stage_of(&pipeline, 0).as_str())
    );

    let (status, list) = app
        .get("/api/v1/tool-approvals?status=pending", &s.org.key)
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(list["items"][0]["tool"], "move_deal_stage");
    assert_eq!(list["items"][0]["status"], "pending");

    // Another organisation neither sees nor decides it.
    let path = format!("/api/v1/tool-approvals/{approval_id}");
    assert_error(
        &app.get(&path, &other.key).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &app.post(&format!("{path}/approve"), &other.key, &json!({}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let (_, others) = app.get("/api/v1/tool-approvals", &other.key).await;
    assert_eq!(others["items"], json!([]));

    // Two approvals at once: one runs it, the other is told it is already decided.
    let approve = format!("{path}/approve");
    let empty = json!({});
    let (a, b) = tokio::join!(
        app.post(&approve, &s.org.key, &empty),
        app.post(&approve, &s.org.key, &empty)
    );
    let mut answers = [a, b];
    answers.sort_by_key(|(status, _)| status.as_u16());
    assert_eq!(answers[0].0, StatusCode::OK, "{}", answers[0].1);
    assert_eq!(answers[0].1["status"], "executed");
    assert_eq!(answers[0].1["result"]["stage"], "Demo");
    assert_error(&answers[1], StatusCode::CONFLICT, "approval_not_pending");
    let (_, d) = app.get(&format!("/api/v1/deals/{deal}"), &s.org.key).await;
    assert_eq!(
        d["stage_id"].as_str(),
        Some(stage_of(&pipeline, 1).as_str())
    );
    assert_error(
        &app.post(&format!("{path}/reject"), &s.org.key, &json!({}))
            .await,
        StatusCode::CONFLICT,
        "approval_not_pending",
    );

    // A rejected call never runs.
    let o = exec(
        &tools,
        scope.clone(),
        call("update_contact", json!({"title": "Intern"})),
    )
    .await;
    let ToolOutcome::AwaitingApproval { approval_id } = o else {
        panic!("expected to wait, got {o:?}");
    };
    let path = format!("/api/v1/tool-approvals/{approval_id}");
    let (status, row) = app
        .post(
            &format!("{path}/reject"),
            &s.org.key,
            &json!({"note": "no"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{row}");
    assert_eq!(row["status"], "rejected");
    assert_error(
        &app.post(&format!("{path}/approve"), &s.org.key, &json!({}))
            .await,
        StatusCode::CONFLICT,
        "approval_not_pending",
    );
    let (_, contact) = app
        .get(&format!("/api/v1/contacts/{}", s.fx.contact), &s.org.key)
        .await;
    assert_ne!(contact["title"], "Intern");

    let mut conn = app.ctx.db().get().await.expect("db");
    let decided: Vec<String> = tool_approvals::table
        .filter(tool_approvals::organization_id.eq(s.org.id))
        .select(tool_approvals::status)
        .order(tool_approvals::created_at)
        .load(&mut conn)
        .await
        .expect("rows");
    assert_eq!(decided, vec!["executed".to_owned(), "rejected".to_owned()]);
}

#[actix_web::test]
async fn an_approved_call_that_became_invalid_fails_without_running() {
    let app = TestApp::spawn().await;
    let s = setup(&app, "tools-stale").await;
    let tools = ToolRegistry::new(&app.ctx);
    let (deal, pipeline) = deal_for(&app, &s, &s.fx.contact).await;
    let mut scope = s.scope.clone();
    scope.approval_required = vec!["move_deal_stage".into()];
    let o = exec(
        &tools,
        scope,
        call(
            "move_deal_stage",
            json!({"deal_id": deal, "stage_id": stage_of(&pipeline, 2)}),
        ),
    )
    .await;
    let ToolOutcome::AwaitingApproval { approval_id } = o else {
        panic!("expected to wait, got {o:?}");
    };
    // Meanwhile the deal is given to another contact.
    let second = fixture(&app, &s.org, "tools-stale-2").await;
    let (status, _) = app
        .patch(
            &format!("/api/v1/deals/{deal}"),
            &s.org.key,
            &json!({"contact_id": second.contact}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, row) = app
        .post(
            &format!("/api/v1/tool-approvals/{approval_id}/approve"),
            &s.org.key,
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{row}");
    assert_eq!(row["status"], "failed");
    assert_eq!(row["result"]["error"]["code"], "not_this_contact");
    let (_, d) = app.get(&format!("/api/v1/deals/{deal}"), &s.org.key).await;
    assert_eq!(
        d["stage_id"].as_str(),
        Some(stage_of(&pipeline, 0).as_str())
    );
}

#[actix_web::test]
async fn memory_tools_write_and_recall_for_the_chats_contact_only() {
    use crate::agent_llm::llm_config;
    use crate::ollama_server::OllamaServer;
    use std::sync::Arc;
    use switchboard::llm::LlmClient;
    use switchboard::memory::LongTermMemory;

    let app = TestApp::spawn().await;
    let s = setup(&app, "tools-memory").await;
    let mut scope = s.scope.clone();
    scope.allowed = vec!["remember".into(), "search_memory".into()];

    let without = ToolRegistry::new(&app.ctx);
    let o = exec(
        &without,
        scope.clone(),
        call("remember", json!({"kind": "fact", "content": "x"})),
    )
    .await;
    assert_eq!(rejected_code(&o), "tool_unavailable");

    let server = OllamaServer::start(384);
    let client = LlmClient::new(&llm_config(&server.url, 0)).expect("client");
    let tools = ToolRegistry::new(&app.ctx)
        .with_memory(LongTermMemory::new(app.ctx.db().clone(), Arc::new(client)));
    let o = exec(
        &tools,
        scope.clone(),
        call("remember", json!({"kind": "rumour", "content": "x"})),
    )
    .await;
    assert_eq!(rejected_code(&o), "invalid_arguments");
    done(
        exec(
            &tools,
            scope.clone(),
            call(
                "remember",
                json!({"kind": "preference", "content": "prefers email over phone calls"}),
            ),
        )
        .await,
    );
    let found = done(
        exec(
            &tools,
            scope.clone(),
            call(
                "search_memory",
                json!({"query": "how to contact them", "k": 3}),
            ),
        )
        .await,
    );
    assert_eq!(
        found["memories"][0]["content"],
        "prefers email over phone calls"
    );

    // Another contact's chat recalls nothing of it.
    let second = fixture(&app, &s.org, "tools-memory-2").await;
    let mut theirs = scope.clone();
    theirs.contact_id = ContactId(second.contact.parse().expect("id"));
    let found = done(
        exec(
            &tools,
            theirs,
            call("search_memory", json!({"query": "how to contact them"})),
        )
        .await,
    );
    assert_eq!(found["memories"], json!([]));
}

#[actix_web::test]
async fn an_approved_remember_through_the_api_stores_a_memory() {
    use crate::ollama_server::OllamaServer;
    use crate::support::test_config;
    use switchboard::db::schema::agent_memories;

    let server = OllamaServer::start(384);
    let mut config = test_config();
    config.llm.base_url = server.url.clone();
    let app = TestApp::spawn_with(config).await;
    let s = setup(&app, "tools-approved-memory").await;
    let mut scope = s.scope.clone();
    scope.allowed = vec!["remember".into()];
    scope.approval_required = vec!["remember".into()];
    // Only queues the call; the approval runs it through the app's own registry.
    let tools = ToolRegistry::new(&app.ctx);
    let o = exec(
        &tools,
        scope.clone(),
        call(
            "remember",
            json!({"kind": "fact", "content": "renews the contract every March"}),
        ),
    )
    .await;
    let ToolOutcome::AwaitingApproval { approval_id } = o else {
        panic!("expected to wait, got {o:?}");
    };
    let (status, row) = app
        .post(
            &format!("/api/v1/tool-approvals/{approval_id}/approve"),
            &s.org.key,
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{row}");
    assert_eq!(row["status"], "executed", "{row}");

    let mut conn = app.ctx.db().get().await.expect("db");
    let stored: Vec<String> = agent_memories::table
        .filter(agent_memories::organization_id.eq(s.org.id))
        .filter(agent_memories::contact_id.eq(scope.contact_id))
        .select(agent_memories::content)
        .load(&mut conn)
        .await
        .expect("rows");
    assert_eq!(stored, vec!["renews the contract every March".to_owned()]);
}
