//! Chats: lifecycle and workflow checks, list filters and the recent-activity cursor,
//! assignment rules, tenant isolation of chats and their messages. Messages themselves
//! (operator sends, pagination) are in `messages.rs`; the fixtures below serve both.

mod messages;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{TestApp, TestOrg, assert_error};
use switchboard::db::schema::{ai_agents, chats, outbox};
use switchboard::domain::{OrganizationId, Scope};

/// A contact and a web channel to start chats with.
pub struct Fixture {
    /// Contact id.
    pub contact: String,
    /// Channel id.
    pub channel: String,
}

pub async fn fixture(app: &TestApp, org: &TestOrg, label: &str) -> Fixture {
    let (status, contact) = app
        .post(
            "/api/v1/contacts",
            &org.key,
            &json!({"name": format!("Lead {label}")}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{contact}");
    let (status, channel) = app
        .post(
            "/api/v1/channels",
            &org.key,
            &json!({"name": format!("web {label}"), "kind": "web"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{channel}");
    Fixture {
        contact: contact["id"].as_str().expect("id").to_owned(),
        channel: channel["id"].as_str().expect("id").to_owned(),
    }
}

pub async fn new_chat(app: &TestApp, org: &TestOrg, fx: &Fixture) -> String {
    let (status, chat) = app
        .post(
            "/api/v1/chats",
            &org.key,
            &json!({"contact_id": fx.contact, "channel_id": fx.channel}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{chat}");
    chat["id"].as_str().expect("id").to_owned()
}

pub async fn send(app: &TestApp, credential: &str, chat: &str, body: &str) -> (StatusCode, Value) {
    app.post(
        &format!("/api/v1/chats/{chat}/messages"),
        credential,
        &json!({ "body": body }),
    )
    .await
}

/// An agent row, written directly (the agents API is not needed to assign one).
pub async fn insert_agent(app: &TestApp, org: OrganizationId) -> String {
    let id = Uuid::now_v7();
    let mut conn = app.ctx.db().get().await.expect("db");
    diesel::insert_into(ai_agents::table)
        .values((
            ai_agents::id.eq(id),
            ai_agents::organization_id.eq(org),
            ai_agents::name.eq(format!("sdr-{id}")),
            ai_agents::kind.eq("sdr"),
            ai_agents::model.eq("llama3.1"),
            ai_agents::prompt_template.eq("sdr"),
        ))
        .execute(&mut conn)
        .await
        .expect("agent");
    id.to_string()
}

/// The ids of a list answer, sorted (for filters, whose order is tested elsewhere).
pub async fn ids(app: &TestApp, path: &str, credential: &str) -> Vec<String> {
    let (status, page) = app.get(path, credential).await;
    assert_eq!(status, StatusCode::OK, "{path}: {page}");
    let mut ids: Vec<String> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|c| c["id"].as_str().map(str::to_owned))
        .collect();
    ids.sort();
    ids
}

pub fn sorted(mut ids: Vec<&String>) -> Vec<String> {
    ids.sort();
    ids.into_iter().cloned().collect()
}

/// Follows `next_cursor` to the end and returns every id in order.
pub async fn walk(app: &TestApp, path: &str, credential: &str, limit: u32) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let sep = if path.contains('?') { '&' } else { '?' };
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit={limit}&cursor={c}"),
            None => format!("{path}{sep}limit={limit}"),
        };
        let (status, page) = app.get(&url, credential).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= limit as usize);
        seen.extend(
            items
                .iter()
                .filter_map(|i| i["id"].as_str().map(str::to_owned)),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    seen
}

#[actix_web::test]
async fn chat_lifecycle_and_workflow_rules() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let fx = fixture(&app, &org, "a").await;
    let (status, chat) = app
        .post(
            "/api/v1/chats",
            &org.key,
            &json!({"contact_id": fx.contact, "channel_id": fx.channel, "subject": "Pricing"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{chat}");
    let id = chat["id"].as_str().expect("id").to_owned();
    assert_eq!(
        chat["external_thread_id"],
        id.as_str(),
        "defaults to a fresh id"
    );
    assert_eq!(
        (chat["status"].as_str(), chat["autonomy"].as_str()),
        (Some("open"), Some("draft"))
    );
    assert!(chat["last_message_at"].is_null());
    let path = format!("/api/v1/chats/{id}");

    let duplicate = app
        .post(
            "/api/v1/chats",
            &org.key,
            &json!({"contact_id": fx.contact, "channel_id": fx.channel, "external_thread_id": id}),
        )
        .await;
    assert_error(&duplicate, StatusCode::CONFLICT, "already_exists");
    let other = app.create_org("other").await;
    let foreign = fixture(&app, &other, "x").await;
    let foreign_contact = app
        .post(
            "/api/v1/chats",
            &org.key,
            &json!({"contact_id": foreign.contact, "channel_id": fx.channel}),
        )
        .await;
    assert_error(
        &foreign_contact,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_reference",
    );
    assert_eq!(foreign_contact.1["error"]["details"]["field"], "contact_id");
    let foreign_channel = app
        .post(
            "/api/v1/chats",
            &org.key,
            &json!({"contact_id": fx.contact, "channel_id": foreign.channel}),
        )
        .await;
    assert_error(
        &foreign_channel,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_reference",
    );
    assert_eq!(foreign_channel.1["error"]["details"]["field"], "channel_id");

    let (status, got) = app.get(&path, &org.key).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["subject"], "Pricing");

    let no_until = app
        .patch(&path, &org.key, &json!({"status": "snoozed"}))
        .await;
    assert_error(
        &no_until,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert!(no_until.1["error"]["details"]["fields"]["snoozed_until"].is_array());
    let past = chrono::Utc::now() - chrono::Duration::hours(1);
    let in_past = app
        .patch(
            &path,
            &org.key,
            &json!({"status": "snoozed", "snoozed_until": past}),
        )
        .await;
    assert_error(
        &in_past,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let stray = app
        .patch(
            &path,
            &org.key,
            &json!({"snoozed_until": chrono::Utc::now() + chrono::Duration::hours(1)}),
        )
        .await;
    assert_error(
        &stray,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );

    let until = chrono::Utc::now() + chrono::Duration::days(2);
    let (status, snoozed) = app
        .patch(
            &path,
            &org.key,
            &json!({"status": "snoozed", "snoozed_until": until, "autonomy": "auto"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{snoozed}");
    assert_eq!(snoozed["status"], "snoozed");
    assert!(snoozed["snoozed_until"].is_string());
    assert_eq!(snoozed["autonomy"], "auto");

    let (status, reopened) = app
        .patch(&path, &org.key, &json!({"status": "open", "subject": null}))
        .await;
    assert_eq!(status, StatusCode::OK, "{reopened}");
    assert!(
        reopened["snoozed_until"].is_null(),
        "leaving snoozed ends the snooze"
    );
    assert!(reopened["subject"].is_null());
    assert_eq!(reopened["autonomy"], "auto", "absent fields stay");

    let (_, log) = app
        .get(&format!("/api/v1/audit-logs?resource_id={id}"), &org.key)
        .await;
    let actions: Vec<&str> = log["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, vec!["update", "update", "create"], "{log}");
    assert_eq!(log["items"][0]["before"]["status"], "snoozed");
    assert_eq!(log["items"][0]["after"]["status"], "open");
}

#[actix_web::test]
async fn chats_filter_by_status_assignee_unread_channel_and_contact() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let fx = fixture(&app, &org, "a").await;
    let fy = fixture(&app, &org, "b").await;
    let mine = new_chat(&app, &org, &fx).await;
    let agents = new_chat(&app, &org, &fx).await;
    let resolved = new_chat(&app, &org, &fx).await;
    let unread = new_chat(&app, &org, &fx).await;
    let elsewhere = new_chat(&app, &org, &fy).await;
    let agent = insert_agent(&app, org.id).await;

    for (chat, body) in [
        (&mine, json!({"user_id": org.owner_id})),
        (&agents, json!({"agent_id": agent})),
    ] {
        let (status, assigned) = app
            .post(&format!("/api/v1/chats/{chat}/assign"), &org.key, &body)
            .await;
        assert_eq!(status, StatusCode::OK, "{assigned}");
    }
    let (status, _) = app
        .patch(
            &format!("/api/v1/chats/{resolved}"),
            &org.key,
            &json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    {
        // Inbound messages raise the unread count; set it directly here.
        let mut conn = app.ctx.db().get().await.expect("db");
        diesel::update(chats::table.filter(chats::id.eq(unread.parse::<Uuid>().expect("uuid"))))
            .set(chats::unread_count.eq(3))
            .execute(&mut conn)
            .await
            .expect("unread");
    }

    let key = &org.key;
    assert_eq!(
        ids(&app, "/api/v1/chats?status=resolved", key).await,
        vec![resolved.clone()]
    );
    assert_eq!(
        ids(&app, "/api/v1/chats?assignee=unassigned", key).await,
        sorted(vec![&resolved, &unread, &elsewhere])
    );
    assert_eq!(
        ids(&app, "/api/v1/chats?assignee=agent", key).await,
        vec![agents.clone()]
    );
    assert_eq!(
        ids(
            &app,
            &format!("/api/v1/chats?assigned_agent_id={agent}"),
            key
        )
        .await,
        vec![agents.clone()]
    );
    assert_eq!(
        ids(
            &app,
            &format!("/api/v1/chats?assigned_user_id={}", org.owner_id),
            key
        )
        .await,
        vec![mine.clone()]
    );
    let owner = app
        .login(&org.owner_email, &org.owner_password, Some(&org.slug))
        .await;
    assert_eq!(
        ids(&app, "/api/v1/chats?assignee=me", &owner).await,
        vec![mine.clone()]
    );
    let operator = app
        .member_token(&org, switchboard::domain::Role::Operator)
        .await;
    assert_eq!(
        ids(&app, "/api/v1/chats?assignee=me", &operator).await,
        Vec::<String>::new()
    );
    assert_error(
        &app.get("/api/v1/chats?assignee=me", key).await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    );
    assert_error(
        &app.get("/api/v1/chats?assignee=everyone", key).await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    );
    assert_error(
        &app.get(
            &format!("/api/v1/chats?assignee=agent&assigned_agent_id={agent}"),
            key,
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    );
    assert_eq!(
        ids(
            &app,
            &format!("/api/v1/chats?channel_id={}", fy.channel),
            key
        )
        .await,
        vec![elsewhere.clone()]
    );
    assert_eq!(
        ids(
            &app,
            &format!("/api/v1/chats?contact_id={}", fy.contact),
            key
        )
        .await,
        vec![elsewhere.clone()]
    );
    assert_eq!(
        ids(
            &app,
            &format!("/api/v1/chats?contact_id={}&status=open", fx.contact),
            key
        )
        .await,
        sorted(vec![&mine, &agents, &unread])
    );

    assert_eq!(
        ids(&app, "/api/v1/chats?unread=true", key).await,
        vec![unread.clone()]
    );
    let reader = app.key_with(&org, &[Scope::Read]).await;
    assert_error(
        &app.post(
            &format!("/api/v1/chats/{unread}/read"),
            &reader,
            &json!(null),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let (status, read) = app
        .post(&format!("/api/v1/chats/{unread}/read"), key, &json!(null))
        .await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["unread_count"], 0);
    assert_eq!(
        ids(&app, "/api/v1/chats?unread=true", key).await,
        Vec::<String>::new()
    );
}

#[actix_web::test]
async fn chats_list_by_recent_activity_across_pages() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let fx = fixture(&app, &org, "a").await;
    let mut chats = Vec::new();
    for _ in 0..5 {
        chats.push(new_chat(&app, &org, &fx).await);
    }
    let [a, b, c, d, e] = <[String; 5]>::try_from(chats).expect("five");
    for chat in [&b, &d, &a] {
        let (status, sent) = send(&app, &org.key, chat, "hello").await;
        assert_eq!(status, StatusCode::CREATED, "{sent}");
    }
    // Newest activity first; chats without messages last, newest first among themselves.
    let expected = vec![a, d, b, e, c];
    for limit in [1, 2, 3, 10] {
        assert_eq!(
            walk(&app, "/api/v1/chats", &org.key, limit).await,
            expected,
            "limit {limit}"
        );
    }
    assert_error(
        &app.get("/api/v1/chats?cursor=garbage", &org.key).await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    );
}

#[actix_web::test]
async fn chats_assign_to_members_and_agents_only() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let fx = fixture(&app, &org, "a").await;
    let chat = new_chat(&app, &org, &fx).await;
    let path = format!("/api/v1/chats/{chat}/assign");
    let agent = insert_agent(&app, org.id).await;
    let other = app.create_org("other").await;
    let foreign_agent = insert_agent(&app, other.id).await;

    let (status, to_user) = app
        .post(&path, &org.key, &json!({"user_id": org.owner_id}))
        .await;
    assert_eq!(status, StatusCode::OK, "{to_user}");
    assert_eq!(to_user["assigned_user_id"], org.owner_id.to_string());

    let (status, to_agent) = app.post(&path, &org.key, &json!({"agent_id": agent})).await;
    assert_eq!(status, StatusCode::OK, "{to_agent}");
    assert_eq!(to_agent["assigned_agent_id"], agent.as_str());
    assert!(
        to_agent["assigned_user_id"].is_null(),
        "one assignee at a time"
    );

    let both = app
        .post(
            &path,
            &org.key,
            &json!({"user_id": org.owner_id, "agent_id": agent}),
        )
        .await;
    assert_error(&both, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let outsider = app
        .post(&path, &org.key, &json!({"user_id": other.owner_id}))
        .await;
    assert_error(
        &outsider,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_reference",
    );
    assert_eq!(outsider.1["error"]["details"]["field"], "user_id");
    let unknown = app
        .post(&path, &org.key, &json!({"user_id": Uuid::now_v7()}))
        .await;
    assert_error(
        &unknown,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_reference",
    );
    let theirs = app
        .post(&path, &org.key, &json!({"agent_id": foreign_agent}))
        .await;
    assert_error(
        &theirs,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_reference",
    );
    assert_eq!(theirs.1["error"]["details"]["field"], "agent_id");
    let (_, still) = app.get(&format!("/api/v1/chats/{chat}"), &org.key).await;
    assert_eq!(
        still["assigned_agent_id"],
        agent.as_str(),
        "refusals change nothing"
    );

    for unassign in [json!({}), json!(null)] {
        let (status, _) = app
            .post(&path, &org.key, &json!({"user_id": org.owner_id}))
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, cleared) = app.post(&path, &org.key, &unassign).await;
        assert_eq!(status, StatusCode::OK, "{cleared}");
        assert!(cleared["assigned_user_id"].is_null() && cleared["assigned_agent_id"].is_null());
    }

    let (_, log) = app
        .get(&format!("/api/v1/audit-logs?resource_id={chat}"), &org.key)
        .await;
    let first_assign = log["items"]
        .as_array()
        .expect("items")
        .iter()
        .rev()
        .find(|e| e["action"] == "assign")
        .expect("an assign entry");
    assert_eq!(
        first_assign["after"]["assigned_user_id"],
        org.owner_id.to_string()
    );
    assert!(first_assign["before"]["assigned_user_id"].is_null());
}

#[actix_web::test]
async fn chats_and_messages_are_isolated() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let fx = fixture(&app, &org, "a").await;
    let chat = new_chat(&app, &org, &fx).await;
    let (status, _) = send(&app, &org.key, &chat, "private").await;
    assert_eq!(status, StatusCode::CREATED);

    let intruder = app.create_org("intruder").await;
    let key = &intruder.key;
    let path = format!("/api/v1/chats/{chat}");
    for got in [
        app.get(&path, key).await,
        app.patch(&path, key, &json!({})).await,
        app.patch(&path, key, &json!({"status": "resolved"})).await,
        app.post(&format!("{path}/assign"), key, &json!({})).await,
        app.post(&format!("{path}/read"), key, &json!(null)).await,
        app.get(&format!("{path}/messages"), key).await,
        send(&app, key, &chat, "let me in").await,
    ] {
        assert_error(&got, StatusCode::NOT_FOUND, "not_found");
    }
    assert_eq!(ids(&app, "/api/v1/chats", key).await, Vec::<String>::new());

    let (_, own) = app.get(&path, &org.key).await;
    assert_eq!(own["status"], "open", "the intruder changed nothing");
    let (_, listed) = app.get(&format!("{path}/messages"), &org.key).await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(1));
    let mut conn = app.ctx.db().get().await.expect("db");
    let queued: i64 = outbox::table
        .filter(outbox::organization_id.eq(intruder.id))
        .count()
        .get_result(&mut conn)
        .await
        .expect("count");
    assert_eq!(queued, 0);
}
