//! The email edge against a real SMTP server (aiosmtpd) and real PostgreSQL/Redis: outbound
//! headers, threading, DKIM verified by dkimpy, SMTP outcomes; one-click unsubscribe; inbound
//! MIME through the signed webhook (fixtures in `tests/fixtures/email/`); the IMAP poller
//! against a real dovecot.

mod agent_loop;
mod imap;
mod imap_server;
mod inbound;
mod outbound;
mod smtp_sink;
mod unsubscribe;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Once;
use std::time::{Duration, Instant};

use crate::support::{TestApp, TestOrg};
use smtp_sink::SmtpSink;
use switchboard::db::models::{Message, OutboxEntry};
use switchboard::db::schema::{messages, outbox};
use switchboard::domain::{MessageId, MessageStatus, OutboxStatus};

/// Name of the environment variable holding the test DKIM key (a throwaway key committed
/// for tests only: `tests/fixtures/email/dkim-test-only.key.pem`).
pub const DKIM_KEY_ENV: &str = "SB_TEST_EMAIL_DKIM_KEY";

/// Name of the environment variable holding the test channel's inbound webhook secret.
pub const INBOUND_SECRET_ENV: &str = "SB_TEST_EMAIL_INBOUND_SECRET";
/// Its value.
pub const INBOUND_SECRET: &str = "test-inbound-secret-0123456789abcdef";

/// Fixture path.
pub fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/email")
        .join(name)
}

fn set_dkim_env() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let pem = std::fs::read_to_string(fixture("dkim-test-only.key.pem")).expect("dkim key");
        // SAFETY: set once, before any channel reads it, to the same value every time; the
        // process reads the environment only through std, which serialises access.
        unsafe {
            std::env::set_var(DKIM_KEY_ENV, pem);
            std::env::set_var(INBOUND_SECRET_ENV, INBOUND_SECRET);
        }
    });
}

/// A server, an organisation, an email channel pointed at a fresh SMTP sink, and a contact.
pub struct EmailSetup {
    pub app: TestApp,
    /// The database of its own (see `new`).
    pub _db: crate::migrations::TempDatabase,
    pub org: TestOrg,
    pub sink: SmtpSink,
    pub channel: String,
    /// Where refused inbound mail is kept.
    pub rejected: tempfile::TempDir,
}

impl EmailSetup {
    pub async fn new() -> Self {
        Self::with_extra(json!({}), json!({})).await
    }

    /// Like `new`, with more channel settings and secret references (e.g. an IMAP mailbox).
    pub async fn with_extra(extra_settings: Value, extra_secrets: Value) -> Self {
        Self::build(extra_settings, extra_secrets, None).await
    }

    /// Like `new`, with agents answering through the model server at `llm_url`.
    pub async fn with_model(llm_url: &str) -> Self {
        Self::build(json!({}), json!({}), Some(llm_url)).await
    }

    async fn build(extra_settings: Value, extra_secrets: Value, llm_url: Option<&str>) -> Self {
        set_dkim_env();
        let sink = SmtpSink::start().await;
        let rejected = tempfile::tempdir().expect("tempdir");
        // A database of its own: this node delivers, and must not claim other tests' rows.
        let db = crate::migrations::TempDatabase::create("email").await;
        switchboard::db::migrate::run_pending(&db.url)
            .await
            .expect("migrate");
        let mut config = crate::support::test_config();
        config.database.url = db.url.clone().into();
        config.server.deliver_messages = true;
        config.email.rejected_dir = rejected.path().to_owned();
        config.email.inbound_max_bytes = 256 * 1024;
        if let Some(url) = llm_url {
            config.llm = crate::agent_llm::llm_config(url, 0);
        }
        let app = TestApp::spawn_with(config).await;
        let org = app.create_org("email").await;
        let mut settings = json!({
                        "from_address": "sales@acme.test",
                        "from_name": "Acme Sales",
                        "smtp_host": "127.0.0.1",
                        "smtp_port": sink.port,
                        "smtp_tls": "none",
                        "smtp_timeout_secs": 10,
                        "dkim_selector": "sb2026",
                        "default_subject": "Hello from Acme"
        });
        let mut secrets = json!({
                        "dkim_private_key": DKIM_KEY_ENV,
                        "inbound_secret": INBOUND_SECRET_ENV
        });
        for (into, from) in [
            (&mut settings, extra_settings),
            (&mut secrets, extra_secrets),
        ] {
            if let (Some(into), Value::Object(from)) = (into.as_object_mut(), from) {
                into.extend(from);
            }
        }
        let (status, channel) = app
            .post(
                "/api/v1/channels",
                &org.key,
                &json!({
                    "name": "sales mail",
                    "kind": "email",
                    "settings": settings,
                    "secret_refs": secrets
                }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{channel}");
        let channel = channel["id"].as_str().expect("id").to_owned();
        Self {
            app,
            _db: db,
            org,
            sink,
            channel,
            rejected,
        }
    }

    /// A contact with `email` and a chat with them on the email channel; returns the chat id.
    pub async fn chat_with(&self, email: &str) -> (String, String) {
        let (status, contact) = self
            .app
            .post(
                "/api/v1/contacts",
                &self.org.key,
                &json!({"name": "Ann Customer", "email": email}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{contact}");
        let contact = contact["id"].as_str().expect("id").to_owned();
        let (status, chat) = self
            .app
            .post(
                "/api/v1/chats",
                &self.org.key,
                &json!({"contact_id": contact, "channel_id": self.channel}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{chat}");
        (chat["id"].as_str().expect("id").to_owned(), contact)
    }

    /// An operator's reply through the API (queued + outbox row); returns the message id.
    pub async fn send(&self, chat: &str, body: &str) -> MessageId {
        let (status, message) = self
            .app
            .post(
                &format!("/api/v1/chats/{chat}/messages"),
                &self.org.key,
                &json!({ "body": body }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{message}");
        serde_json::from_value(message["id"].clone()).expect("message id")
    }

    pub async fn message(&self, id: MessageId) -> Message {
        let mut conn = self.app.ctx.db().get().await.expect("db");
        messages::table
            .filter(messages::id.eq(id))
            .select(Message::as_select())
            .first(&mut conn)
            .await
            .expect("message")
    }

    pub async fn outbox_row(&self, id: MessageId) -> OutboxEntry {
        let mut conn = self.app.ctx.db().get().await.expect("db");
        outbox::table
            .filter(outbox::organization_id.eq(self.org.id))
            .filter(outbox::idempotency_key.eq(format!("message:{id}")))
            .select(OutboxEntry::as_select())
            .first(&mut conn)
            .await
            .expect("outbox row")
    }

    /// Waits until the outbox settled the message's row (sent or dead). The deadline is for
    /// broken code, not a timing assertion: it covers retries with backoff on a loaded machine.
    pub async fn settled(&self, id: MessageId) -> (Message, OutboxEntry) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let row = self.outbox_row(id).await;
            if matches!(row.status, OutboxStatus::Sent | OutboxStatus::Dead) {
                return (self.message(id).await, row);
            }
            assert!(
                Instant::now() < deadline,
                "outbox row never settled: {row:?}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// Whether the message ended in `status`.
pub fn assert_status(message: &Message, status: MessageStatus) {
    assert_eq!(message.status, status, "{message:?}");
}

/// A header's value (unfolded) from raw message bytes, via mail-parser.
pub fn header(raw: &[u8], name: &str) -> Option<String> {
    let parsed = mail_parser::MessageParser::default().parse(raw)?;
    parsed
        .header_raw(name)
        .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
}
