//! Durable ingest and the inbox event log: a message is committed before the caller hears back,
//! listeners hear of it before that, duplicates are absorbed, cursors are gapless under load.

use chrono::Utc;
use serde_json::json;
use std::sync::{Arc, Mutex};

use crate::support::{TestApp, TestOrg};
use switchboard::channels::ingest::{
    IngestConfig, IngestError, IngestListener, IngestOutcome, Ingestor,
};
use switchboard::db::models::{Event, Message};
use switchboard::domain::{ChannelId, InboundMessage, InboundSender, MessageId};
use switchboard::inbox::{EventPublisher, HubMessage, InboxHub};

pub(crate) async fn web_channel(app: &TestApp, org: &TestOrg, active: bool) -> ChannelId {
    let (status, channel) = app
        .post("/api/v1/channels", &org.key, &json!({"name": format!("web-{}", uuid::Uuid::now_v7()), "kind": "web", "active": active}))
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{channel}");
    serde_json::from_value(channel["id"].clone()).expect("id")
}

pub(crate) fn inbound(channel: ChannelId, thread: &str, id: &str, text: &str) -> InboundMessage {
    InboundMessage {
        channel_id: channel,
        external_thread_id: thread.into(),
        external_message_id: id.into(),
        sender: InboundSender {
            name: Some("Visitor".into()),
            email: Some(format!("{thread}@example.test")),
            ..Default::default()
        },
        text: text.into(),
        attachments: Vec::new(),
        reply_to_external_id: None,
        received_at: Utc::now(),
        metadata: json!({}),
    }
}

/// Records what it hears and checks the message is already committed when it does.
struct CommittedProbe {
    ctx: switchboard::context::AppContext,
    heard: Mutex<Vec<MessageId>>,
    visible_in_db: Mutex<Vec<bool>>,
}

impl IngestListener for CommittedProbe {
    fn committed(&self, outcome: &IngestOutcome) {
        if let Ok(mut heard) = self.heard.lock() {
            heard.push(outcome.message.id);
        }
        // Look from another connection: only a committed row is visible there.
        let ctx = self.ctx.clone();
        let id = outcome.message.id;
        let org = outcome.chat.organization_id;
        let chat = outcome.chat.id;
        let visible = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let url = ctx.config().database.url.expose().clone();
                let mut conn =
                    <diesel_async::AsyncPgConnection as diesel_async::AsyncConnection>::establish(
                        &url,
                    )
                    .await
                    .expect("connect");
                Message::find_in_chat(&mut conn, org, chat, id)
                    .await
                    .is_ok()
            })
        })
        .join()
        .unwrap_or(false);
        if let Ok(mut seen) = self.visible_in_db.lock() {
            seen.push(visible);
        }
    }
}

#[actix_web::test]
async fn a_message_is_committed_before_anyone_is_told_and_duplicates_are_absorbed() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let channel = web_channel(&app, &org, true).await;
    let probe = Arc::new(CommittedProbe {
        ctx: app.ctx.clone(),
        heard: Mutex::new(Vec::new()),
        visible_in_db: Mutex::new(Vec::new()),
    });
    let ingestor = Ingestor::start(
        app.ctx.db().clone(),
        IngestConfig::default(),
        vec![probe.clone()],
    );

    let first = ingestor
        .ingest(inbound(channel, "t1", "m1", "Hello, is anyone there?"))
        .await
        .expect("ingest");
    assert!(!first.duplicate);
    assert_eq!(
        probe.heard.lock().map(|h| h.clone()).unwrap_or_default(),
        vec![first.message.id],
        "told before the ack"
    );
    assert_eq!(
        probe
            .visible_in_db
            .lock()
            .map(|v| v.clone())
            .unwrap_or_default(),
        vec![true],
        "committed before told"
    );
    assert_eq!(
        first
            .events
            .iter()
            .map(|e| e.event_type.as_str())
            .collect::<Vec<_>>(),
        vec!["chat.created", "message.created"]
    );
    assert_eq!(first.chat.unread_count, 1);

    let again = ingestor
        .ingest(inbound(channel, "t1", "m1", "Hello, is anyone there?"))
        .await
        .expect("ingest");
    assert!(again.duplicate);
    assert_eq!(again.message.id, first.message.id);
    assert!(again.events.is_empty());
    assert_eq!(
        probe.heard.lock().map(|h| h.len()).unwrap_or_default(),
        1,
        "a duplicate tells nobody"
    );

    let second = ingestor
        .ingest(inbound(channel, "t1", "m2", "Anyone?"))
        .await
        .expect("ingest");
    assert_eq!(second.chat.id, first.chat.id, "same thread, same chat");
    assert_eq!(second.chat.unread_count, 2);
    let (_, messages) = app
        .get(
            &format!("/api/v1/chats/{}/messages", first.chat.id),
            &org.key,
        )
        .await;
    assert_eq!(messages["items"].as_array().map(Vec::len), Some(2));
}

#[actix_web::test]
async fn bad_input_is_refused_with_a_reason() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let inactive = web_channel(&app, &org, false).await;
    let ingestor = Ingestor::start(app.ctx.db().clone(), IngestConfig::default(), Vec::new());
    let unknown = ingestor
        .ingest(inbound(ChannelId::new(), "t", "m", "hi"))
        .await;
    assert!(
        matches!(unknown, Err(IngestError::UnknownChannel)),
        "{unknown:?}"
    );
    let off = ingestor.ingest(inbound(inactive, "t", "m", "hi")).await;
    assert!(matches!(off, Err(IngestError::InactiveChannel)), "{off:?}");
    let empty = ingestor.ingest(inbound(inactive, "t", "m", "   ")).await;
    assert!(matches!(empty, Err(IngestError::Invalid(_))), "{empty:?}");
}

#[actix_web::test]
async fn concurrent_ingests_share_transactions_and_cursors_stay_gapless() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let channel = web_channel(&app, &org, true).await;
    let ingestor = Ingestor::start(app.ctx.db().clone(), IngestConfig::default(), Vec::new());
    let calls = (0..200).map(|i| {
        let ingestor = ingestor.clone();
        async move {
            ingestor
                .ingest(inbound(
                    channel,
                    &format!("thread-{}", i % 20),
                    &format!("msg-{i}"),
                    "ping",
                ))
                .await
        }
    });
    let outcomes = futures_util::future::join_all(calls).await;
    assert!(
        outcomes.iter().all(Result::is_ok),
        "{:?}",
        outcomes.iter().find(|o| o.is_err())
    );

    let mut conn = app.ctx.db().get().await.expect("db");
    let events = Event::list_after(&mut conn, org.id, 0, None, 1000)
        .await
        .expect("events");
    assert_eq!(events.len(), 220, "20 chats created + 200 messages");
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=220).collect::<Vec<_>>(),
        "cursors are gapless and ordered"
    );
    assert_eq!(
        Event::latest_seq(&mut conn, org.id).await.expect("seq"),
        220
    );
}

#[actix_web::test]
async fn events_reach_local_subscribers_of_their_organisation_only() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let other = app.create_org("globex").await;
    let channel = web_channel(&app, &org, true).await;
    let hub = InboxHub::new();
    let publisher = EventPublisher::new(
        app.ctx.redis(),
        app.ctx.config().redis.key_prefix.clone(),
        hub.clone(),
    );
    let ingestor = Ingestor::start(
        app.ctx.db().clone(),
        IngestConfig::default(),
        vec![Arc::new(publisher)],
    );
    let mut mine = hub.subscribe(org.id, 16);
    let mut theirs = hub.subscribe(other.id, 16);

    ingestor
        .ingest(inbound(channel, "t", "m", "hello"))
        .await
        .expect("ingest");
    let mut types = Vec::new();
    for _ in 0..2 {
        match mine.receiver.try_recv() {
            Ok(HubMessage::Event(event)) => types.push((event.event_type.clone(), event.seq)),
            other => panic!("expected an event, got {other:?}"),
        }
    }
    assert_eq!(
        types,
        vec![
            ("chat.created".to_owned(), 1),
            ("message.created".to_owned(), 2)
        ]
    );
    assert!(
        theirs.receiver.try_recv().is_err(),
        "another tenant hears nothing"
    );

    let mut slow = hub.subscribe(org.id, 1);
    ingestor
        .ingest(inbound(channel, "t", "m2", "one"))
        .await
        .expect("ingest");
    ingestor
        .ingest(inbound(channel, "t", "m3", "two"))
        .await
        .expect("ingest");
    assert!(slow.overflowed(), "a full queue cuts the subscriber off");
    assert!(matches!(slow.receiver.try_recv(), Ok(HubMessage::Event(_))));
    assert!(slow.receiver.try_recv().is_err(), "and its queue is closed");
}

#[actix_web::test]
async fn one_batch_absorbs_its_own_duplicates_counts_unread_and_links_replies() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let channel = web_channel(&app, &org, true).await;
    // A long linger makes the whole burst one batch.
    let config = IngestConfig {
        linger: std::time::Duration::from_millis(200),
        ..IngestConfig::default()
    };
    let ingestor = Ingestor::start(app.ctx.db().clone(), config, Vec::new());
    let stored_first = ingestor
        .ingest(inbound(channel, "t-old", "m-old", "earlier"))
        .await
        .expect("first");

    let mut reply = inbound(channel, "t-old", "m-reply", "answering you");
    reply.reply_to_external_id = Some("m-old".into());
    let burst = vec![
        inbound(channel, "t-new", "m-1", "one"),
        inbound(channel, "t-new", "m-2", "two"),
        inbound(channel, "t-new", "m-1", "one again"),
        inbound(channel, "t-old", "m-old", "redelivered"),
        reply,
    ];
    let calls = burst.into_iter().map(|m| {
        let ingestor = ingestor.clone();
        async move { ingestor.ingest(m).await }
    });
    let outcomes: Vec<IngestOutcome> = futures_util::future::join_all(calls)
        .await
        .into_iter()
        .map(|o| o.expect("ingested"))
        .collect();

    let duplicates: Vec<bool> = outcomes.iter().map(|o| o.duplicate).collect();
    assert_eq!(duplicates, [false, false, true, true, false]);
    assert_eq!(outcomes[2].message.id, outcomes[0].message.id);
    assert_eq!(outcomes[2].message.body, "one", "the first delivery wins");
    assert_eq!(outcomes[3].message.id, stored_first.message.id);
    assert_eq!(
        outcomes[4].message.reply_to_message_id,
        Some(stored_first.message.id)
    );
    assert_eq!(outcomes[0].chat.id, outcomes[1].chat.id, "one new chat");
    assert!(outcomes[2].events.is_empty() && outcomes[3].events.is_empty());

    let new_chat = outcomes[1].chat.id;
    let mut conn = app.ctx.db().get().await.expect("db");
    let chat = switchboard::db::models::Chat::find(&mut conn, org.id, new_chat)
        .await
        .expect("chat");
    assert_eq!(chat.unread_count, 2);
    assert_eq!(chat.last_message_preview.as_deref(), Some("two"));
    let events = Event::list_after(&mut conn, org.id, 0, None, 100)
        .await
        .expect("events");
    let kinds: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "chat.created").count(),
        2,
        "t-old and t-new announced once each: {kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "message.created").count(),
        4,
        "m-old, m-1, m-2, m-reply: {kinds:?}"
    );
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=6).collect::<Vec<_>>());
}

#[actix_web::test]
async fn a_message_the_database_refuses_fails_alone_and_the_rest_of_its_batch_is_stored() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let channel = web_channel(&app, &org, true).await;
    let config = IngestConfig {
        linger: std::time::Duration::from_millis(200),
        ..IngestConfig::default()
    };
    let ingestor = Ingestor::start(app.ctx.db().clone(), config, Vec::new());
    // PostgreSQL text cannot hold a NUL: the batch's insert fails as a whole, then each message
    // is written alone.
    let burst = vec![
        inbound(channel, "t-1", "m-1", "fine"),
        inbound(channel, "t-1", "m-2", "a \u{0} byte"),
        inbound(channel, "t-2", "m-3", "also fine"),
    ];
    let calls = burst.into_iter().map(|m| {
        let ingestor = ingestor.clone();
        async move { ingestor.ingest(m).await }
    });
    let outcomes = futures_util::future::join_all(calls).await;
    assert!(
        matches!(outcomes[1], Err(IngestError::Database(_))),
        "{:?}",
        outcomes[1]
    );
    let stored: Vec<&IngestOutcome> = [&outcomes[0], &outcomes[2]]
        .into_iter()
        .map(|o| o.as_ref().expect("the others are stored"))
        .collect();
    assert_eq!(stored[0].message.body, "fine");
    assert_eq!(stored[1].message.body, "also fine");

    let mut conn = app.ctx.db().get().await.expect("db");
    let events = Event::list_after(&mut conn, org.id, 0, None, 100)
        .await
        .expect("events");
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        [1, 2, 3, 4],
        "2 chats + 2 messages; the refused one took no cursor"
    );
}
