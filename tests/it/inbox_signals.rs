//! Inbox signals and the remaining socket commands: operators see each other come online, go
//! offline and type; `assign` works over the socket; a client that stops reading is cut off
//! with 4008 and, resuming by cursor, gets every event exactly once.

use futures_util::StreamExt;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::inbox_ws::{Socket, chat_with_contact, command, connect, next_json};
use crate::support::{TestApp, test_config};
use switchboard::channels::ingest::{IngestConfig, Ingestor};
use switchboard::domain::{ChannelId, InboundMessage, InboundSender, Role};

/// The next frame of `kind` (`type`), skipping others.
async fn next_of(socket: &mut Socket, kind: &str) -> Value {
    loop {
        let frame = next_json(socket).await;
        if frame["type"] == kind {
            return frame;
        }
    }
}

#[actix_web::test]
async fn operators_see_each_other_come_online_type_and_leave() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let chat = chat_with_contact(&app, &org).await;
    let owner = app.login(&org.owner_email, &org.owner_password, None).await;
    let operator = app.member_token(&org, Role::Operator).await;

    let mut watcher = connect(&app, &owner, None).await.expect("owner connects");
    next_of(&mut watcher, "hello").await;
    command(&mut watcher, json!({"type": "subscribe", "id": "s"})).await;
    next_of(&mut watcher, "ack").await;

    let mut typist = connect(&app, &operator, None)
        .await
        .expect("operator connects");
    let online = next_of(&mut watcher, "presence").await;
    assert_eq!(online["data"]["status"], "online");
    let operator_id = online["data"]["user_id"].clone();
    assert_ne!(operator_id, json!(org.owner_id), "{online}");
    assert!(online.get("seq").is_none(), "signals carry no cursor");

    next_of(&mut typist, "hello").await;
    command(
        &mut typist,
        json!({"type": "typing", "id": "t1", "chat_id": chat}),
    )
    .await;
    assert_eq!(next_of(&mut typist, "ack").await["id"], "t1");
    let typing = next_of(&mut watcher, "typing").await;
    assert_eq!(typing["chat_id"], json!(chat));
    assert_eq!(typing["data"]["active"], true);
    assert_eq!(typing["data"]["typist"]["kind"], "operator");
    assert_eq!(typing["data"]["typist"]["user_id"], operator_id);

    command(
        &mut typist,
        json!({"type": "typing", "id": "t2", "chat_id": chat, "active": false}),
    )
    .await;
    assert_eq!(
        next_of(&mut watcher, "typing").await["data"]["active"],
        false
    );

    // A chat of another organisation is not there to type in.
    let other = app.create_org("other").await;
    let foreign = chat_with_contact(&app, &other).await;
    command(
        &mut typist,
        json!({"type": "typing", "id": "t3", "chat_id": foreign}),
    )
    .await;
    let refused = next_of(&mut typist, "error").await;
    assert_eq!(
        (refused["id"].clone(), refused["code"].clone()),
        (json!("t3"), json!("not_found"))
    );

    drop(typist);
    let offline = next_of(&mut watcher, "presence").await;
    assert_eq!(offline["data"]["status"], "offline");
    assert_eq!(offline["data"]["user_id"], operator_id);
}

#[actix_web::test]
async fn an_api_key_cannot_type_but_can_assign_over_the_socket() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let chat = chat_with_contact(&app, &org).await;
    let mut socket = connect(&app, &org.key, None).await.expect("connects");
    next_of(&mut socket, "hello").await;
    command(&mut socket, json!({"type": "subscribe", "id": "s"})).await;
    next_of(&mut socket, "ack").await;

    command(
        &mut socket,
        json!({"type": "typing", "id": "t", "chat_id": chat}),
    )
    .await;
    assert_eq!(next_of(&mut socket, "error").await["code"], "not_a_person");

    command(
        &mut socket,
        json!({"type": "assign", "id": "a", "chat_id": chat, "user_id": org.owner_id}),
    )
    .await;
    let ack = next_of(&mut socket, "ack").await;
    assert_eq!(ack["data"]["assigned_user_id"], json!(org.owner_id));
    let updated = next_of(&mut socket, "chat.updated").await;
    assert_eq!(
        updated["data"]["chat"]["assigned_user_id"],
        json!(org.owner_id)
    );

    command(
        &mut socket,
        json!({"type": "assign", "id": "b", "chat_id": chat, "user_id": uuid::Uuid::now_v7()}),
    )
    .await;
    assert_eq!(
        next_of(&mut socket, "error").await["code"],
        "invalid_reference"
    );
}

/// A socket whose kernel receive buffer is tiny, so a client that stops reading backs up fast.
async fn tight_socket(app: &TestApp, key: &str) -> Socket {
    let addr: std::net::SocketAddr = app
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("addr");
    let tcp = tokio::net::TcpSocket::new_v4().expect("socket");
    tcp.set_recv_buffer_size(4096).expect("rcvbuf");
    let stream = tcp.connect(addr).await.expect("connect");
    let url = format!("{}/ws/inbox", app.base.replace("http://", "ws://"));
    let mut request = url.into_client_request().expect("request");
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {key}").parse().expect("header"),
    );
    let (socket, _) =
        tokio_tungstenite::client_async(request, tokio_tungstenite::MaybeTlsStream::Plain(stream))
            .await
            .expect("upgrade");
    socket
}

#[actix_web::test]
async fn a_slow_consumer_is_cut_off_and_resumes_by_cursor_with_nothing_missed() {
    let mut config = test_config();
    config.server.inbox_queue_capacity = 8;
    let app = TestApp::spawn_with(config).await;
    let org = app.create_org("acme").await;
    let (_, channel) = app
        .post(
            "/api/v1/channels",
            &org.key,
            &json!({"name": "web", "kind": "web"}),
        )
        .await;
    let channel: ChannelId = serde_json::from_value(channel["id"].clone()).expect("id");

    let mut slow = tight_socket(&app, &org.key).await;
    let hello = next_of(&mut slow, "hello").await;
    command(
        &mut slow,
        json!({"type": "subscribe", "id": "s", "cursor": hello["cursor"]}),
    )
    .await;
    next_of(&mut slow, "ack").await;

    // Far more than the queue and the socket buffers hold, while the client reads nothing.
    let ingestor = Ingestor::start(
        app.ctx.db().clone(),
        IngestConfig::default(),
        vec![Arc::new(app.ctx.publisher().clone())],
    );
    let total = 400;
    let body = "x".repeat(12_000);
    let sends = (0..total).map(|i| {
        let ingestor = ingestor.clone();
        let text = body.clone();
        async move {
            ingestor
                .ingest(InboundMessage {
                    channel_id: channel,
                    external_thread_id: format!("t{}", i % 10),
                    external_message_id: format!("m{i}"),
                    sender: InboundSender {
                        name: Some("Lead".into()),
                        ..Default::default()
                    },
                    text,
                    attachments: Vec::new(),
                    reply_to_external_id: None,
                    received_at: chrono::Utc::now(),
                    metadata: json!({}),
                })
                .await
        }
    });
    for outcome in futures_util::future::join_all(sends).await {
        outcome.expect("ingested");
    }
    let mut conn = app.ctx.db().get().await.expect("db");
    let last = switchboard::db::models::Event::latest_seq(&mut conn, org.id)
        .await
        .expect("seq");
    drop(conn);

    // Now read: whatever was buffered, then the close with 4008.
    let mut seen: Vec<i64> = Vec::new();
    let close_code = loop {
        let frame = tokio::time::timeout(Duration::from_secs(30), slow.next())
            .await
            .expect("the server closes a client that fell behind")
            .expect("stream open")
            .expect("frame");
        match frame {
            Frame::Text(text) => {
                let value: Value = serde_json::from_str(&text).expect("json");
                if let Some(seq) = value["seq"].as_i64() {
                    seen.push(seq);
                }
            }
            Frame::Close(Some(reason)) => break u16::from(reason.code),
            Frame::Close(None) => break 0,
            _ => {}
        }
    };
    assert_eq!(close_code, 4008, "slow consumer close code");
    assert!((seen.len() as i64) < last, "it was cut off before the end");

    let cursor = seen
        .last()
        .copied()
        .or(hello["cursor"].as_i64())
        .expect("cursor");
    let mut again = connect(&app, &org.key, None).await.expect("reconnects");
    next_of(&mut again, "hello").await;
    command(
        &mut again,
        json!({"type": "subscribe", "id": "r", "cursor": cursor}),
    )
    .await;
    while seen.last().copied() != Some(last) {
        let frame = next_json(&mut again).await;
        if let Some(seq) = frame["seq"].as_i64() {
            seen.push(seq);
        }
    }
    let start = hello["cursor"].as_i64().expect("cursor");
    assert_eq!(
        seen,
        ((start + 1)..=last).collect::<Vec<_>>(),
        "every event once, in order"
    );
}
