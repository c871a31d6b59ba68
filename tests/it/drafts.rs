//! AI drafts under human review: approval queues the draft once (message, outbox row, preview and
//! `draft.resolved` event together), an edited approval sends the edit, a rejection sends
//! nothing, a decided draft cannot be decided again, and another tenant cannot touch it. The same
//! decisions over the inbox WebSocket.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::chats::{Fixture, fixture, new_chat};
use crate::support::{TestApp, TestOrg, assert_error};
use switchboard::db::models::{Event, Message, MessageInsertForm};
use switchboard::db::schema::outbox;
use switchboard::domain::{
    ChannelId, ChatId, Direction, DraftState, MessageId, MessageStatus, Scope, SenderKind,
};

/// A chat with an agent's draft waiting for review; returns (chat id, draft id).
async fn chat_with_draft(
    app: &TestApp,
    org: &TestOrg,
    fx: &Fixture,
    body: &str,
) -> (String, String) {
    let chat = new_chat(app, org, fx).await;
    let draft = insert_draft(app, org, &chat, &fx.channel, body).await;
    (chat, draft)
}

/// Inserts an AI draft (`pending_approval`) the way an agent turn stores one.
pub async fn insert_draft(
    app: &TestApp,
    org: &TestOrg,
    chat: &str,
    channel: &str,
    body: &str,
) -> String {
    let mut conn = app.ctx.db().get().await.expect("db");
    let form = MessageInsertForm {
        id: MessageId::new(),
        organization_id: org.id,
        chat_id: ChatId(chat.parse().expect("chat id")),
        channel_id: ChannelId(channel.parse().expect("channel id")),
        direction: Direction::Outbound,
        sender_kind: SenderKind::Agent,
        sender_user_id: None,
        sender_agent_id: None,
        body: body.to_owned(),
        status: MessageStatus::Queued,
        draft_state: Some(DraftState::PendingApproval),
        external_id: None,
        reply_to_message_id: None,
    };
    Message::create(&mut conn, &form)
        .await
        .expect("draft")
        .id
        .to_string()
}

/// Outbox rows that would send this message.
async fn outbox_rows(app: &TestApp, org: &TestOrg, message: &str) -> usize {
    let mut conn = app.ctx.db().get().await.expect("db");
    let payloads: Vec<Value> = outbox::table
        .filter(outbox::organization_id.eq(org.id))
        .select(outbox::payload)
        .load(&mut conn)
        .await
        .expect("outbox");
    payloads
        .iter()
        .filter(|p| p["message_id"] == message)
        .count()
}

/// The organisation's stored events of one type.
async fn events_of(app: &TestApp, org: &TestOrg, event_type: &str) -> Vec<Event> {
    let mut conn = app.ctx.db().get().await.expect("db");
    Event::list_after(&mut conn, org.id, 0, None, 1000)
        .await
        .expect("events")
        .into_iter()
        .filter(|e| e.event_type == event_type)
        .collect()
}

fn approve_path(chat: &str, draft: &str) -> String {
    format!("/api/v1/chats/{chat}/messages/{draft}/approve")
}

fn reject_path(chat: &str, draft: &str) -> String {
    format!("/api/v1/chats/{chat}/messages/{draft}/reject")
}

#[actix_web::test]
async fn approving_a_draft_queues_it_exactly_once() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let fx = fixture(&app, &org, "a").await;
    let (chat, draft) =
        chat_with_draft(&app, &org, &fx, "Happy to set up a demo on Tuesday.").await;
    let operator = app
        .login(&org.owner_email, &org.owner_password, Some(&org.slug))
        .await;
    assert_eq!(
        outbox_rows(&app, &org, &draft).await,
        0,
        "a draft is not sent"
    );

    // Two reviewers click at once: one approval executes, the other is told it is decided.
    let path = approve_path(&chat, &draft);
    let empty = json!({});
    let (first, second) = tokio::join!(
        app.post(&path, &operator, &empty),
        app.post(&path, &org.key, &empty),
    );
    let mut statuses = [first.0, second.0];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CONFLICT],
        "{first:?} {second:?}"
    );
    let (approved, refused) = if first.0 == StatusCode::OK {
        (first.1, second)
    } else {
        (second.1, first)
    };
    assert_error(&refused, StatusCode::CONFLICT, "draft_not_pending");
    assert_eq!(approved["draft_state"], "approved");
    assert_eq!(approved["status"], "queued");
    assert_eq!(approved["body"], "Happy to set up a demo on Tuesday.");
    assert_eq!(approved["sender_kind"], "agent", "still the agent's words");
    assert_eq!(outbox_rows(&app, &org, &draft).await, 1);

    let again = app.post(&path, &operator, &json!({})).await;
    assert_error(&again, StatusCode::CONFLICT, "draft_not_pending");
    assert_error(
        &app.post(&reject_path(&chat, &draft), &operator, &json!({}))
            .await,
        StatusCode::CONFLICT,
        "draft_not_pending",
    );
    assert_eq!(outbox_rows(&app, &org, &draft).await, 1, "queued once");

    let (_, listed) = app.get(&format!("/api/v1/chats/{chat}"), &org.key).await;
    assert_eq!(
        listed["last_message_preview"], "Happy to set up a demo on Tuesday.",
        "the chat list shows what was sent"
    );
    let resolved = events_of(&app, &org, "draft.resolved").await;
    assert_eq!(resolved.len(), 1, "{resolved:?}");
    assert_eq!(
        resolved[0].chat_id.map(|c| c.to_string()),
        Some(chat.clone())
    );
    assert_eq!(resolved[0].payload["decision"], "approved");
    assert_eq!(resolved[0].payload["message"]["id"], draft.as_str());
    assert_eq!(resolved[0].payload["chat"]["id"], chat.as_str());

    let (_, log) = app
        .get(&format!("/api/v1/audit-logs?resource_id={draft}"), &org.key)
        .await;
    assert_eq!(log["items"].as_array().map(Vec::len), Some(1), "{log}");
    assert_eq!(log["items"][0]["action"], "approve");
    assert_eq!(log["items"][0]["after"]["draft_state"], "approved");
}

#[actix_web::test]
async fn an_edited_approval_sends_the_edit() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let fx = fixture(&app, &org, "a").await;
    let (chat, draft) = chat_with_draft(&app, &org, &fx, "Our price is $10.").await;
    let path = approve_path(&chat, &draft);

    for bad in [json!({"body": "   "}), json!({"body": "é".repeat(16_001)})] {
        let refused = app.post(&path, &org.key, &bad).await;
        assert_error(
            &refused,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert!(refused.1["error"]["details"]["fields"]["body"].is_array());
    }
    assert_error(
        &app.post(&path, &org.key, &json!({"text": "typo"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(
        outbox_rows(&app, &org, &draft).await,
        0,
        "refusals queue nothing"
    );

    let (status, approved) = app
        .post(
            &path,
            &org.key,
            &json!({"body": "Our price is $12 per seat."}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_eq!(approved["body"], "Our price is $12 per seat.");
    assert_eq!(approved["draft_state"], "approved");
    assert_eq!(outbox_rows(&app, &org, &draft).await, 1);
    let (_, page) = app
        .get(&format!("/api/v1/chats/{chat}/messages"), &org.key)
        .await;
    assert_eq!(
        page["items"][0]["body"], "Our price is $12 per seat.",
        "stored edited"
    );
    let resolved = events_of(&app, &org, "draft.resolved").await;
    assert_eq!(resolved[0].payload["edited"], true);
}

#[actix_web::test]
async fn a_rejected_draft_is_never_sent() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let fx = fixture(&app, &org, "a").await;
    let (chat, draft) = chat_with_draft(&app, &org, &fx, "Buy now!!!").await;

    let (status, rejected) = app
        .post(&reject_path(&chat, &draft), &org.key, &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{rejected}");
    assert_eq!(rejected["draft_state"], "rejected");
    assert_eq!(rejected["body"], "Buy now!!!");
    assert_eq!(outbox_rows(&app, &org, &draft).await, 0);
    assert_error(
        &app.post(&approve_path(&chat, &draft), &org.key, &json!({}))
            .await,
        StatusCode::CONFLICT,
        "draft_not_pending",
    );
    assert_eq!(
        outbox_rows(&app, &org, &draft).await,
        0,
        "a rejection is final"
    );
    let (_, listed) = app.get(&format!("/api/v1/chats/{chat}"), &org.key).await;
    assert!(listed["last_message_preview"].is_null(), "{listed}");
    let resolved = events_of(&app, &org, "draft.resolved").await;
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0].payload["decision"], "rejected");

    // An operator's own message is no draft.
    let (_, sent) = crate::chats::send(&app, &org.key, &chat, "hello").await;
    let sent = sent["id"].as_str().expect("id").to_owned();
    assert_error(
        &app.post(&approve_path(&chat, &sent), &org.key, &json!({}))
            .await,
        StatusCode::CONFLICT,
        "draft_not_pending",
    );
}

#[actix_web::test]
async fn drafts_are_decided_only_inside_their_tenant_and_chat_with_write() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let fx = fixture(&app, &org, "a").await;
    let (chat, draft) = chat_with_draft(&app, &org, &fx, "Hi there").await;
    let other_chat = new_chat(&app, &org, &fx).await;
    let intruder = app.create_org("globex").await;

    for path in [approve_path(&chat, &draft), reject_path(&chat, &draft)] {
        assert_error(
            &app.post(&path, &intruder.key, &json!({})).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
    }
    let wrong_chat = app
        .post(&approve_path(&other_chat, &draft), &org.key, &json!({}))
        .await;
    assert_error(&wrong_chat, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(wrong_chat.1["error"]["details"]["resource"], "message");
    let unknown = uuid::Uuid::now_v7().to_string();
    assert_error(
        &app.post(&approve_path(&chat, &unknown), &org.key, &json!({}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let reader = app.key_with(&org, &[Scope::Read]).await;
    assert_error(
        &app.post(&approve_path(&chat, &draft), &reader, &json!({}))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_eq!(outbox_rows(&app, &org, &draft).await, 0);
    let (_, page) = app
        .get(
            &format!("/api/v1/chats/{chat}/messages?draft_state=pending_approval"),
            &org.key,
        )
        .await;
    assert_eq!(page["items"][0]["id"], draft.as_str(), "still pending");
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_json(socket: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(5), socket.next())
            .await
            .expect("a frame within 5s")
            .expect("stream open")
            .expect("frame");
        if let Frame::Text(text) = frame {
            return serde_json::from_str(&text).expect("json frame");
        }
    }
}

/// Sends a command and returns its answer (`ack` or `error`), skipping events.
async fn command(socket: &mut Socket, value: Value) -> Value {
    socket
        .send(Frame::Text(value.to_string().into()))
        .await
        .expect("send");
    loop {
        let frame = next_json(socket).await;
        if frame["type"] == "ack" || frame["type"] == "error" {
            return frame;
        }
    }
}

#[actix_web::test]
async fn the_inbox_socket_approves_and_rejects_drafts() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let fx = fixture(&app, &org, "a").await;
    let (chat, first) = chat_with_draft(&app, &org, &fx, "Draft one").await;
    let second = insert_draft(&app, &org, &chat, &fx.channel, "Draft two").await;

    let url = format!("{}/ws/inbox", app.base.replace("http://", "ws://"));
    let mut request = url.into_client_request().expect("request");
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {}", org.key).parse().expect("header"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("connect");
    assert_eq!(next_json(&mut socket).await["type"], "hello");
    command(&mut socket, json!({"type": "subscribe", "id": "s"})).await;

    let ack = command(
        &mut socket,
        json!({"type": "approve_draft", "id": "a1", "chat_id": chat, "message_id": first,
               "body": "Draft one, edited"}),
    )
    .await;
    assert_eq!(
        (ack["type"].as_str(), ack["id"].as_str()),
        (Some("ack"), Some("a1")),
        "{ack}"
    );
    assert_eq!(ack["data"]["draft_state"], "approved");
    assert_eq!(ack["data"]["body"], "Draft one, edited");
    let event = next_json(&mut socket).await;
    assert_eq!(event["type"], "draft.resolved", "{event}");
    assert_eq!(event["data"]["message"]["id"], first.as_str());
    assert_eq!(outbox_rows(&app, &org, &first).await, 1);

    let twice = command(
        &mut socket,
        json!({"type": "approve_draft", "id": "a2", "chat_id": chat, "message_id": first}),
    )
    .await;
    assert_eq!(
        (twice["type"].as_str(), twice["code"].as_str()),
        (Some("error"), Some("draft_not_pending"))
    );

    let ack = command(
        &mut socket,
        json!({"type": "reject_draft", "id": "r1", "chat_id": chat, "message_id": second}),
    )
    .await;
    assert_eq!(ack["data"]["draft_state"], "rejected", "{ack}");
    assert_eq!(outbox_rows(&app, &org, &second).await, 0);
}
