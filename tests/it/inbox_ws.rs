//! The inbox WebSocket: authentication before upgrade, live events of one's own organisation
//! only, commands with acks, and exact resume by cursor after a disconnect.

use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::{TestApp, TestOrg};

pub(crate) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub(crate) async fn connect(
    app: &TestApp,
    credential: &str,
    origin: Option<&str>,
) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    let url = format!("{}/ws/inbox", app.base.replace("http://", "ws://"));
    let mut request = url.into_client_request()?;
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {credential}").parse().expect("header"),
    );
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", origin.parse().expect("header"));
    }
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(socket, _)| socket)
}

pub(crate) async fn next_json(socket: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(5), socket.next())
            .await
            .expect("a frame within 5s")
            .expect("stream open")
            .expect("frame");
        match frame {
            Frame::Text(text) => return serde_json::from_str(&text).expect("json frame"),
            Frame::Ping(_) | Frame::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

pub(crate) async fn command(socket: &mut Socket, value: Value) {
    socket
        .send(Frame::Text(value.to_string().into()))
        .await
        .expect("send");
}

pub(crate) async fn chat_with_contact(app: &TestApp, org: &TestOrg) -> String {
    let (_, channel) = app
        .post(
            "/api/v1/channels",
            &org.key,
            &json!({"name": "web", "kind": "web"}),
        )
        .await;
    let (_, contact) = app
        .post("/api/v1/contacts", &org.key, &json!({"name": "Lead"}))
        .await;
    let (status, chat) = app
        .post(
            "/api/v1/chats",
            &org.key,
            &json!({"contact_id": contact["id"], "channel_id": channel["id"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{chat}");
    chat["id"].as_str().expect("id").to_owned()
}

#[actix_web::test]
async fn the_upgrade_checks_credentials_and_origin() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    assert!(
        connect(&app, "sk_nonsense", None).await.is_err(),
        "a bad key is refused before the upgrade"
    );
    assert!(
        connect(&app, &org.key, Some("https://evil.example"))
            .await
            .is_err(),
        "a foreign origin is refused"
    );
    let mut ok = connect(&app, &org.key, Some("http://127.0.0.1:8080"))
        .await
        .expect("allowed origin");
    assert_eq!(next_json(&mut ok).await["type"], "hello");

    let (status, ticket) = app
        .post("/api/v1/inbox/tickets", &org.key, &json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    let url = format!(
        "{}/ws/inbox?ticket={}",
        app.base.replace("http://", "ws://"),
        ticket["ticket"].as_str().expect("ticket")
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .expect("ticket works");
    assert_eq!(next_json(&mut socket).await["type"], "hello");
    assert!(
        tokio_tungstenite::connect_async(url.as_str())
            .await
            .is_err(),
        "a ticket works once"
    );
}

#[actix_web::test]
async fn live_events_commands_and_tenant_isolation() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let other = app.create_org("globex").await;
    let chat = chat_with_contact(&app, &org).await;

    let mut mine = connect(&app, &org.key, None).await.expect("connect");
    let mut theirs = connect(&app, &other.key, None).await.expect("connect");
    assert_eq!(next_json(&mut mine).await["type"], "hello");
    assert_eq!(next_json(&mut theirs).await["type"], "hello");
    command(&mut mine, json!({"type": "subscribe", "id": "s1"})).await;
    command(&mut theirs, json!({"type": "subscribe", "id": "s1"})).await;
    assert_eq!(next_json(&mut mine).await["type"], "ack");
    assert_eq!(next_json(&mut theirs).await["type"], "ack");

    let (status, _) = app
        .post(
            &format!("/api/v1/chats/{chat}/messages"),
            &org.key,
            &json!({"body": "from REST"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let event = next_json(&mut mine).await;
    assert_eq!(event["type"], "message.created", "{event}");
    assert_eq!(event["data"]["message"]["body"], "from REST");
    assert_eq!(event["v"], 1);
    let first_seq = event["seq"].as_i64().expect("seq");

    command(
        &mut mine,
        json!({"type": "send", "id": "c2", "chat_id": chat, "body": "from the inbox"}),
    )
    .await;
    let mut frames = [next_json(&mut mine).await, next_json(&mut mine).await];
    frames.sort_by_key(|f| f["type"].as_str().map(str::to_owned));
    assert_eq!(frames[0]["type"], "ack");
    assert_eq!(frames[0]["id"], "c2");
    assert_eq!(frames[0]["data"]["body"], "from the inbox");
    assert_eq!(frames[1]["type"], "message.created");
    assert_eq!(frames[1]["seq"].as_i64(), Some(first_seq + 1));

    command(
        &mut mine,
        json!({"type": "send", "id": "c3", "chat_id": uuid::Uuid::now_v7(), "body": "x"}),
    )
    .await;
    let error = next_json(&mut mine).await;
    assert_eq!(
        (
            error["type"].as_str(),
            error["id"].as_str(),
            error["code"].as_str()
        ),
        (Some("error"), Some("c3"), Some("not_found"))
    );
    command(&mut mine, json!({"type": "launch"})).await;
    assert_eq!(next_json(&mut mine).await["code"], "invalid_command");

    command(
        &mut theirs,
        json!({"type": "send", "id": "x", "chat_id": chat, "body": "intrusion"}),
    )
    .await;
    let refused = next_json(&mut theirs).await;
    assert_eq!(
        refused["code"], "not_found",
        "another tenant cannot write into the chat: {refused}"
    );
    let nothing = tokio::time::timeout(std::time::Duration::from_millis(300), theirs.next()).await;
    assert!(nothing.is_err(), "another tenant received {nothing:?}");
}

#[actix_web::test]
async fn a_reconnecting_client_gets_exactly_what_it_missed() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let chat = chat_with_contact(&app, &org).await;
    let mut socket = connect(&app, &org.key, None).await.expect("connect");
    next_json(&mut socket).await;
    command(&mut socket, json!({"type": "subscribe", "id": "s"})).await;
    next_json(&mut socket).await;
    app.post(
        &format!("/api/v1/chats/{chat}/messages"),
        &org.key,
        &json!({"body": "one"}),
    )
    .await;
    let seen = next_json(&mut socket).await["seq"].as_i64().expect("seq");
    socket.close(None).await.expect("close");

    for body in ["two", "three", "four"] {
        app.post(
            &format!("/api/v1/chats/{chat}/messages"),
            &org.key,
            &json!({"body": body}),
        )
        .await;
    }
    let mut socket = connect(&app, &org.key, None).await.expect("reconnect");
    assert_eq!(
        next_json(&mut socket).await["cursor"].as_i64(),
        Some(seen + 3)
    );
    command(
        &mut socket,
        json!({"type": "subscribe", "id": "resume", "cursor": seen}),
    )
    .await;
    let mut bodies = Vec::new();
    let mut seqs = Vec::new();
    loop {
        let frame = next_json(&mut socket).await;
        if frame["type"] == "ack" {
            assert_eq!(frame["cursor"].as_i64(), Some(seen + 3));
            break;
        }
        seqs.push(frame["seq"].as_i64().expect("seq"));
        bodies.push(
            frame["data"]["message"]["body"]
                .as_str()
                .expect("body")
                .to_owned(),
        );
    }
    assert_eq!(bodies, vec!["two", "three", "four"]);
    assert_eq!(seqs, vec![seen + 1, seen + 2, seen + 3]);
    app.post(
        &format!("/api/v1/chats/{chat}/messages"),
        &org.key,
        &json!({"body": "five"}),
    )
    .await;
    let live = next_json(&mut socket).await;
    assert_eq!(
        (
            live["seq"].as_i64(),
            live["data"]["message"]["body"].as_str()
        ),
        (Some(seen + 4), Some("five")),
        "then live, no gap, no duplicate"
    );
}

#[actix_web::test]
async fn chat_creation_assignment_and_changes_are_announced() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let mut socket = connect(&app, &org.key, None).await.expect("connect");
    next_json(&mut socket).await;
    command(&mut socket, json!({"type": "subscribe", "id": "s"})).await;
    next_json(&mut socket).await;

    let chat = chat_with_contact(&app, &org).await;
    let created = next_json(&mut socket).await;
    assert_eq!(
        (created["type"].as_str(), created["chat_id"].as_str()),
        (Some("chat.created"), Some(chat.as_str()))
    );

    let (status, _) = app
        .post(
            &format!("/api/v1/chats/{chat}/assign"),
            &org.key,
            &json!({"user_id": org.owner_id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let assigned = next_json(&mut socket).await;
    assert_eq!(assigned["type"], "chat.updated");
    assert_eq!(
        assigned["data"]["chat"]["assigned_user_id"],
        json!(org.owner_id)
    );

    let (status, _) = app
        .patch(
            &format!("/api/v1/chats/{chat}"),
            &org.key,
            &json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let resolved = next_json(&mut socket).await;
    assert_eq!(
        (
            resolved["type"].as_str(),
            resolved["data"]["chat"]["status"].as_str()
        ),
        (Some("chat.updated"), Some("resolved"))
    );

    app.post(
        &format!("/api/v1/chats/{chat}/messages"),
        &org.key,
        &json!({"body": "hello"}),
    )
    .await;
    let message = next_json(&mut socket).await;
    assert_eq!(
        message["data"]["chat"]["last_message_preview"], "hello",
        "the event carries the chat after the message"
    );
}
