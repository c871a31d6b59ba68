//! Redis emptied mid-run (`FLUSHALL` on a Redis of this test's own, as a restart without
//! persistence would): nothing is lost. Every message before and after is stored, every inbox
//! event reaches the live client in cursor order without a gap, and the chat's short-term window
//! is rebuilt from PostgreSQL with all of them.

use serde_json::{Value, json};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use switchboard::domain::{ChannelId, InboundMessage, InboundSender};

use crate::inbox_ws::{command, connect, next_json};
use crate::support::{TestApp, test_config};

/// A private `redis-server` (no persistence), killed when dropped.
struct PrivateRedis {
    child: Child,
    url: String,
}

impl PrivateRedis {
    async fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let binary = std::env::var("SB_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let child = Command::new(binary)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (Debian's redis-server package)");
        let url = format!("redis://127.0.0.1:{port}/");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(client) = redis::Client::open(url.as_str())
                && let Ok(mut conn) = client.get_multiplexed_async_connection().await
                && redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .is_ok()
            {
                break;
            }
            assert!(Instant::now() < deadline, "redis-server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self { child, url }
    }

    async fn flush_all(&self) {
        let client = redis::Client::open(self.url.as_str()).expect("client");
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .expect("redis");
        let _: () = redis::cmd("FLUSHALL")
            .query_async(&mut conn)
            .await
            .expect("flushall");
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn said(channel: ChannelId, id: &str, text: &str) -> InboundMessage {
    InboundMessage {
        sender: InboundSender {
            name: Some("Lead".into()),
            ..Default::default()
        },
        ..crate::ingest::inbound(channel, "flush-thread", id, text)
    }
}

/// Reads events until one `message.created` per expected body has arrived; returns them.
async fn created_events(socket: &mut crate::inbox_ws::Socket, count: usize) -> Vec<Value> {
    let mut seen = Vec::new();
    while seen.len() < count {
        let frame = next_json(socket).await;
        if frame["type"] == json!("message.created") {
            seen.push(frame);
        }
    }
    seen
}

#[actix_web::test]
async fn a_redis_flushed_mid_run_loses_nothing_and_the_window_is_rebuilt() {
    let redis = PrivateRedis::start().await;
    let mut config = test_config();
    config.redis.url = switchboard::config::Sensitive::new(redis.url.clone());
    let app = TestApp::spawn_with(config).await;
    let org = app.create_org("flush").await;
    let (status, channel) = app
        .post(
            "/api/v1/channels",
            &org.key,
            &json!({"name": "web", "kind": "web"}),
        )
        .await;
    assert!(status.is_success(), "{channel}");
    let channel: ChannelId = serde_json::from_value(channel["id"].clone()).expect("id");

    let mut socket = connect(&app, &org.key, None).await.expect("connect");
    assert_eq!(next_json(&mut socket).await["type"], json!("hello"));
    command(&mut socket, json!({"type": "subscribe", "id": "s"})).await;
    assert_eq!(next_json(&mut socket).await["type"], json!("ack"));

    let mut bodies = Vec::new();
    let mut chat = None;
    for n in 1..=3 {
        let text = format!("before the flush {n}");
        let stored = app
            .node
            .ingestor
            .ingest(said(channel, &format!("b{n}"), &text))
            .await
            .expect("ingest");
        chat = Some(stored.chat.id);
        bodies.push(text);
    }
    let chat = chat.expect("chat");
    // The window holds them before the flush.
    let mut conn = app.ctx.db().get().await.expect("db");
    let window = app
        .ctx
        .short_term()
        .window(&mut conn, org.id, chat)
        .await
        .expect("window");
    assert_eq!(window.len(), 3);

    redis.flush_all().await;

    for n in 1..=3 {
        let text = format!("after the flush {n}");
        app.node
            .ingestor
            .ingest(said(channel, &format!("a{n}"), &text))
            .await
            .expect("ingest");
        bodies.push(text);
    }
    let (status, reply) = app
        .post(
            &format!("/api/v1/chats/{chat}/messages"),
            &org.key,
            &json!({"body": "an operator, after the flush"}),
        )
        .await;
    assert_eq!(status.as_u16(), 201, "{reply}");
    bodies.push("an operator, after the flush".into());

    // Every message is stored.
    let (_, page) = app
        .get(&format!("/api/v1/chats/{chat}/messages"), &org.key)
        .await;
    let mut stored: Vec<String> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|m| m["body"].as_str().map(str::to_owned))
        .collect();
    stored.reverse();
    assert_eq!(stored, bodies);

    // The live client saw each one, in cursor order, without a gap.
    let events = created_events(&mut socket, bodies.len()).await;
    let seen: Vec<&str> = events
        .iter()
        .filter_map(|e| e["data"]["message"]["body"].as_str())
        .collect();
    assert_eq!(seen, bodies);
    let cursors: Vec<i64> = events.iter().filter_map(|e| e["seq"].as_i64()).collect();
    assert!(
        cursors.windows(2).all(|w| w[0] < w[1]),
        "cursors in order: {cursors:?}"
    );

    // The window lost its first three with the flush; the next read rebuilds all of it.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let window: Vec<String> = app
            .ctx
            .short_term()
            .window(&mut conn, org.id, chat)
            .await
            .expect("window")
            .into_iter()
            .map(|entry| entry.body)
            .collect();
        if window == bodies {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "window not rebuilt: {window:?} (expected {bodies:?})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
