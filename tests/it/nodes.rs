//! Two `serve` processes sharing one PostgreSQL and one Redis behave as one system: an event made
//! on node A reaches an inbox client on node B, and a client of a node that dies resumes on the
//! other by cursor with nothing missed.

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::{TestApp, test_config};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open(app: &TestApp, key: &str, cursor: Option<i64>) -> Socket {
    let mut request = format!("{}/ws/inbox", app.base.replace("http://", "ws://"))
        .into_client_request()
        .expect("request");
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {key}").parse().expect("header"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("connect");
    assert_eq!(next(&mut socket).await["type"], "hello");
    socket
        .send(Frame::Text(
            json!({"type": "subscribe", "id": "s", "cursor": cursor})
                .to_string()
                .into(),
        ))
        .await
        .expect("send");
    socket
}

async fn next(socket: &mut Socket) -> Value {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a frame within 5s")
        {
            Some(Ok(Frame::Text(text))) => return serde_json::from_str(&text).expect("json"),
            Some(Ok(_)) => continue,
            other => panic!("socket ended: {other:?}"),
        }
    }
}

/// The next frames until (and without) the ack.
async fn until_ack(socket: &mut Socket) -> Vec<Value> {
    let mut frames = Vec::new();
    loop {
        let frame = next(socket).await;
        if frame["type"] == "ack" {
            return frames;
        }
        frames.push(frame);
    }
}

#[actix_web::test]
async fn events_cross_nodes_and_clients_of_a_dead_node_resume_elsewhere() {
    let config_a = test_config();
    let mut config_b = test_config();
    config_b.redis.key_prefix = config_a.redis.key_prefix.clone();
    config_b.auth.jwt_secret = config_a.auth.jwt_secret.clone();
    let a = TestApp::spawn_with(config_a).await;
    let b = TestApp::spawn_with(config_b).await;
    for node in [&a, &b] {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !node.ctx.hub().is_listening() {
            assert!(
                std::time::Instant::now() < deadline,
                "the Redis listener never started"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let org = a.create_org("acme").await;
    let (_, channel) = a
        .post(
            "/api/v1/channels",
            &org.key,
            &json!({"name": "web", "kind": "web"}),
        )
        .await;
    let (_, contact) = a
        .post("/api/v1/contacts", &org.key, &json!({"name": "Lead"}))
        .await;
    let (_, chat) = a
        .post(
            "/api/v1/chats",
            &org.key,
            &json!({"contact_id": contact["id"], "channel_id": channel["id"]}),
        )
        .await;
    let path = format!(
        "/api/v1/chats/{}/messages",
        chat["id"].as_str().expect("chat")
    );

    let mut on_b = open(&b, &org.key, None).await;
    assert!(until_ack(&mut on_b).await.is_empty());
    let mut on_a = open(&a, &org.key, None).await;
    assert!(until_ack(&mut on_a).await.is_empty());

    a.post(&path, &org.key, &json!({"body": "made on A"})).await;
    let crossed = next(&mut on_b).await;
    assert_eq!(
        crossed["data"]["message"]["body"], "made on A",
        "node B's client sees node A's event"
    );
    let seen_on_a = next(&mut on_a).await;
    assert_eq!(seen_on_a["seq"], crossed["seq"]);
    let last_seen = seen_on_a["seq"].as_i64().expect("seq");

    // Node A goes down; its client reconnects to B with its cursor.
    a.handle.stop(false).await;
    for body in ["while A was down 1", "while A was down 2"] {
        b.post(&path, &org.key, &json!({"body": body})).await;
    }
    let mut moved = open(&b, &org.key, Some(last_seen)).await;
    let missed: Vec<String> = until_ack(&mut moved)
        .await
        .iter()
        .filter_map(|f| f["data"]["message"]["body"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        missed,
        vec!["while A was down 1", "while A was down 2"],
        "nothing missed, nothing twice"
    );
    b.post(&path, &org.key, &json!({"body": "live again"}))
        .await;
    assert_eq!(
        next(&mut moved).await["data"]["message"]["body"],
        "live again"
    );
}
