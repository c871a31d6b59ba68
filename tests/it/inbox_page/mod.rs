//! The web inbox page: served from the binary with a strict policy, and driven end to end in
//! headless Chromium (the scripts in `e2e/`, run with Node and playwright-core, which
//! `deploy/dev/test` installs): two operators see each other live, a reconnect misses nothing and
//! repeats nothing, and a draft approved in the page is queued for delivery. The helpers below
//! start a server the page can talk to and seed what the scripts look at.

mod agent_live;
mod agents;
mod live;
mod review;
mod serving;

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use crate::support::{PASSWORD, TestApp, TestOrg, test_config};
use switchboard::domain::{ChannelId, ChatId, InboundMessage, InboundSender};

/// A server whose configuration allows its own origin, as a page served by it needs.
pub async fn page_app() -> TestApp {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let mut config = test_config();
    config.server.public_url = base.clone();
    config.server.allowed_origins = vec![base];
    TestApp::spawn_on(listener, config).await
}

/// Runs `node e2e/<script> <base> <args>` and returns the JSON it printed; the page must have
/// raised no script error and logged no console error (a CSP violation among them).
pub async fn run_script(app: &TestApp, script: &str, args: Value) -> Value {
    let root = env!("CARGO_MANIFEST_DIR");
    let node_dir = std::env::var("SB_NODE_DIR").unwrap_or_else(|_| format!("{root}/.dev/node"));
    assert!(
        Path::new(&node_dir)
            .join("node_modules/playwright-core")
            .is_dir(),
        "playwright-core is not installed in {node_dir}: run the tests with deploy/dev/test \
         (it installs Chromium and playwright-core)"
    );
    let mut command = tokio::process::Command::new("node");
    command
        .arg(format!("{root}/e2e/{script}"))
        .arg(&app.base)
        .arg(args.to_string())
        .env("SB_NODE_DIR", &node_dir)
        .current_dir(root)
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(90), command.output())
        .await
        .expect("the browser script finishes within 90 s")
        .expect("node runs (is Node.js installed?)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "e2e/{script} failed ({}):\n{stderr}\n{stdout}",
        output.status
    );
    let result: Value = stdout
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str(line).ok())
        .unwrap_or_else(|| panic!("e2e/{script} printed no JSON: {stdout}"));
    assert_eq!(result["errors"], json!([]), "errors in the page: {result}");
    result
}

/// A browser script that reports stages as it goes (`{"stage": ...}` lines) before its result.
pub struct StagedScript {
    child: tokio::process::Child,
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    seen: Vec<String>,
}

impl StagedScript {
    /// Starts `node e2e/<script> <base> <args>` as [`run_script`] does, reading as it prints.
    pub fn start(app: &TestApp, script: &str, args: Value) -> Self {
        use tokio::io::AsyncBufReadExt;
        let root = env!("CARGO_MANIFEST_DIR");
        let node_dir = std::env::var("SB_NODE_DIR").unwrap_or_else(|_| format!("{root}/.dev/node"));
        let mut child = tokio::process::Command::new("node")
            .arg(format!("{root}/e2e/{script}"))
            .arg(&app.base)
            .arg(args.to_string())
            .env("SB_NODE_DIR", &node_dir)
            .current_dir(root)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs (is Node.js installed?)");
        let stdout = child.stdout.take().expect("stdout");
        Self {
            child,
            lines: tokio::io::BufReader::new(stdout).lines(),
            seen: Vec::new(),
        }
    }

    /// Waits until the script reports `stage` (it fails on its own within its wait limits).
    pub async fn reached(&mut self, stage: &str) {
        loop {
            let line = tokio::time::timeout(Duration::from_secs(90), self.lines.next_line())
                .await
                .expect("the browser script reports within 90 s")
                .expect("read the script's output");
            let Some(line) = line else {
                panic!("the browser script ended before {stage}: {:?}", self.seen);
            };
            let reported = serde_json::from_str::<Value>(&line)
                .ok()
                .and_then(|v| v["stage"].as_str().map(str::to_owned));
            self.seen.push(line);
            if reported.as_deref() == Some(stage) {
                return;
            }
        }
    }

    /// The script's result (its last JSON line); it must have exited 0 with no page errors.
    pub async fn finish(mut self) -> Value {
        while let Ok(Ok(Some(line))) =
            tokio::time::timeout(Duration::from_secs(90), self.lines.next_line()).await
        {
            self.seen.push(line);
        }
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("the browser script exits")
            .expect("wait for node");
        assert!(
            status.success(),
            "the browser script failed ({status}): {:?}",
            self.seen
        );
        let result: Value = self
            .seen
            .iter()
            .rev()
            .find_map(|line| serde_json::from_str(line).ok())
            .unwrap_or_else(|| panic!("the browser script printed no JSON: {:?}", self.seen));
        assert_eq!(result["errors"], json!([]), "errors in the page: {result}");
        result
    }
}

/// A member with a name and the test password; returns (user id, credentials for the form).
pub async fn member(app: &TestApp, org: &TestOrg, name: &str) -> (String, Value) {
    let email = format!(
        "{}-{}@example.test",
        name.to_lowercase().replace(' ', "."),
        uuid::Uuid::now_v7().simple()
    );
    let (status, added) = app
        .post(
            "/api/v1/members",
            &org.key,
            &json!({"email": email, "name": name, "role": "operator", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    let user = added["user_id"].as_str().expect("user id").to_owned();
    (
        user,
        json!({"email": email, "password": PASSWORD, "organization": org.slug}),
    )
}

pub async fn channel(app: &TestApp, org: &TestOrg, body: Value) -> ChannelId {
    let (status, created) = app.post("/api/v1/channels", &org.key, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    serde_json::from_value(created["id"].clone()).expect("id")
}

/// A contact writes in through a channel (ingest creates the contact and the chat).
pub async fn inbound(
    app: &TestApp,
    channel: ChannelId,
    sender: InboundSender,
    text: &str,
) -> ChatId {
    let thread = sender
        .email
        .clone()
        .or(sender.telegram_username.clone())
        .unwrap_or_default();
    let outcome = app
        .node
        .ingestor
        .ingest(InboundMessage {
            channel_id: channel,
            external_thread_id: thread,
            external_message_id: uuid::Uuid::now_v7().to_string(),
            sender,
            text: text.into(),
            attachments: Vec::new(),
            reply_to_external_id: None,
            received_at: Utc::now(),
            metadata: json!({}),
        })
        .await
        .expect("ingest");
    outcome.chat.id
}

pub fn person(name: &str, email: &str) -> InboundSender {
    InboundSender {
        name: Some(name.into()),
        email: Some(email.into()),
        ..Default::default()
    }
}
