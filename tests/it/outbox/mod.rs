//! The outbox dispatcher over real PostgreSQL: per-chat order, retries with backoff and the
//! channel's `retry_after`, dead-lettering, and (in `sharing.rs`) several dispatchers sharing one
//! table, crashed claims, wake-ups and graceful stop. Each test owns a throwaway database, so no
//! other test's outbox rows can be claimed by its dispatcher (or its rows by theirs). Rows are
//! queued through the real chat send API.

mod basics;
mod sharing;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use futures_util::future::BoxFuture;
use reqwest::StatusCode;
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::chats::{Fixture, fixture, new_chat, send};
use crate::migrations::TempDatabase;
use crate::support::{TestApp, TestOrg, test_config};
use switchboard::actors::outbox::{
    Delivery, OutboundSender, OutboxConfig, OutboxDispatcher, SendError, SenderRegistry,
};
use switchboard::db::migrate;
use switchboard::db::models::{MESSAGE_SEND, Message, OutboxEntry};
use switchboard::db::schema::{messages, outbox};
use switchboard::domain::{MessageId, MessageStatus, OutboxStatus};

/// A server over a database of this test's own, with one organisation and a web channel.
pub struct Setup {
    pub db: TempDatabase,
    pub app: TestApp,
    pub org: TestOrg,
    pub fx: Fixture,
}

impl Setup {
    pub async fn new(label: &str) -> Self {
        let db = TempDatabase::create(label).await;
        migrate::run_pending(&db.url).await.expect("migrate");
        let mut config = test_config();
        config.database.url = db.url.clone().into();
        let app = TestApp::spawn_with(config).await;
        let org = app.create_org("outbox").await;
        let fx = fixture(&app, &org, label).await;
        Self { db, app, org, fx }
    }

    /// A new chat of the organisation.
    pub async fn chat(&self) -> String {
        new_chat(&self.app, &self.org, &self.fx).await
    }

    /// An operator's message sent through the API: a queued message plus its outbox row.
    pub async fn queue(&self, chat: &str, body: &str) -> MessageId {
        let (status, message) = send(&self.app, &self.org.key, chat, body).await;
        assert_eq!(status, StatusCode::CREATED, "{message}");
        serde_json::from_value(message["id"].clone()).expect("message id")
    }

    /// The outbox row delivering `message`.
    pub async fn row(&self, message: MessageId) -> OutboxEntry {
        let mut conn = self.app.ctx.db().get().await.expect("db");
        outbox::table
            .filter(outbox::idempotency_key.eq(format!("message:{message}")))
            .select(OutboxEntry::as_select())
            .first(&mut conn)
            .await
            .expect("outbox row")
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

    /// Fast-forwards a waiting row: due now.
    pub async fn make_due(&self, message: MessageId) {
        let mut conn = self.app.ctx.db().get().await.expect("db");
        diesel::update(
            outbox::table.filter(outbox::idempotency_key.eq(format!("message:{message}"))),
        )
        .set(outbox::next_attempt_at.eq(diesel::dsl::now))
        .execute(&mut conn)
        .await
        .expect("make due");
    }

    /// Runs raw SQL against this test's database (to stage a crashed node or an old row).
    pub async fn exec(&self, sql: &str) {
        let mut conn = self.app.ctx.db().get().await.expect("db");
        diesel::sql_query(sql)
            .execute(&mut conn)
            .await
            .expect("sql");
    }

    /// A dispatcher on the app's pool delivering `message.send` through `sender`.
    pub fn dispatcher(&self, sender: Arc<Recorder>, config: OutboxConfig) -> OutboxDispatcher {
        OutboxDispatcher::new(self.app.ctx.db().clone(), registry(sender), config)
    }

    pub async fn finish(self) {
        self.db.drop().await;
    }
}

pub fn registry(sender: Arc<Recorder>) -> SenderRegistry {
    SenderRegistry::new().with(MESSAGE_SEND, sender)
}

/// Test pacing: tiny poll, one-second base backoff, three attempts.
pub fn config() -> OutboxConfig {
    OutboxConfig {
        poll_interval: Duration::from_millis(20),
        batch_size: 10,
        concurrency: 4,
        lease: Duration::from_secs(30),
        max_attempts: 3,
        base_backoff: Duration::from_secs(1),
        max_backoff: Duration::from_secs(10),
    }
}

/// A channel stand-in: answers from a script (then succeeds), records every call and every
/// successful delivery by message id, in order.
#[derive(Default)]
pub struct Recorder {
    script: Mutex<VecDeque<Result<Delivery, SendError>>>,
    pub calls: Mutex<Vec<MessageId>>,
    pub delivered: Mutex<Vec<MessageId>>,
    /// Each send yields for this long first, so concurrent dispatchers overlap.
    pub pause: Option<Duration>,
    /// Ordering keys with a send in progress.
    in_flight: Mutex<HashSet<String>>,
    /// Sends that started while another of their ordering key was in progress.
    pub overlaps: Mutex<Vec<MessageId>>,
}

impl Recorder {
    pub fn scripted(outcomes: Vec<Result<Delivery, SendError>>) -> Arc<Self> {
        Arc::new(Self {
            script: Mutex::new(outcomes.into()),
            ..Self::default()
        })
    }

    pub fn delivered(&self) -> Vec<MessageId> {
        self.delivered.lock().expect("lock").clone()
    }

    pub fn calls(&self) -> Vec<MessageId> {
        self.calls.lock().expect("lock").clone()
    }
}

pub fn message_id(entry: &OutboxEntry) -> MessageId {
    serde_json::from_value(entry.payload["message_id"].clone()).expect("payload message_id")
}

impl OutboundSender for Recorder {
    fn send<'a>(&'a self, entry: &'a OutboxEntry) -> BoxFuture<'a, Result<Delivery, SendError>> {
        Box::pin(async move {
            let message = message_id(entry);
            let key = entry.ordering_key.clone().unwrap_or_default();
            if !self.in_flight.lock().expect("lock").insert(key.clone()) {
                self.overlaps.lock().expect("lock").push(message);
            }
            if let Some(pause) = self.pause {
                tokio::time::sleep(pause).await;
            }
            self.in_flight.lock().expect("lock").remove(&key);
            self.calls.lock().expect("lock").push(message);
            let outcome = self
                .script
                .lock()
                .expect("lock")
                .pop_front()
                .unwrap_or_else(|| {
                    Ok(Delivery {
                        external_id: Some(format!("ext-{message}")),
                    })
                });
            if outcome.is_ok() {
                self.delivered.lock().expect("lock").push(message);
            }
            outcome
        })
    }
}

/// Asserts a message's delivery state.
#[track_caller]
pub fn assert_status(message: &Message, status: MessageStatus) {
    assert_eq!(message.status, status, "{message:?}");
}

/// Asserts an outbox row's state and attempt count.
#[track_caller]
pub fn assert_row(row: &OutboxEntry, status: OutboxStatus, attempts: i32) {
    assert_eq!((row.status, row.attempts), (status, attempts), "{row:?}");
}
