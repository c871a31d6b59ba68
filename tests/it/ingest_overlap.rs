//! Ingest with overlapping batch workers: several batches are written at once, yet each chat's
//! messages reach listeners in arrival order and are stamped in that order, the chat row shows
//! the newest, duplicates across concurrent batches are absorbed, and a reader following the
//! event log by cursor never sees a cursor before a smaller one of the same organisation has
//! committed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::ingest::{inbound, web_channel};
use crate::support::TestApp;
use switchboard::channels::ingest::{IngestConfig, IngestListener, IngestOutcome, Ingestor};
use switchboard::db::models::{Chat, Event};
use switchboard::domain::{ChatId, MessageId};

/// Small batches written by two workers, so that many batches overlap.
fn overlapping() -> IngestConfig {
    IngestConfig {
        max_batch: 3,
        linger: Duration::from_millis(1),
        workers: 2,
        ..IngestConfig::default()
    }
}

/// Records which messages it hears of, in order.
#[derive(Default)]
struct Heard(Mutex<Vec<(ChatId, MessageId)>>);

impl IngestListener for Heard {
    fn committed(&self, outcome: &IngestOutcome) {
        if let Ok(mut heard) = self.0.lock() {
            heard.push((outcome.chat.id, outcome.message.id));
        }
    }
}

#[actix_web::test]
async fn overlapping_batches_keep_each_chat_in_arrival_order_and_absorb_redeliveries() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let channel = web_channel(&app, &org, true).await;
    let heard = Arc::new(Heard::default());
    let ingestor = Ingestor::start(app.ctx.db().clone(), overlapping(), vec![heard.clone()]);

    // 90 messages over 3 threads; every 10th call redelivers the message sent 5 calls earlier.
    let sent: Vec<(String, String, String)> = (0..90)
        .map(|i| {
            let id = if i % 10 == 9 { i - 5 } else { i };
            let text = if i % 10 == 9 {
                "again".to_owned()
            } else {
                format!("text {i}")
            };
            (format!("t-{}", id % 3), format!("m-{id}"), text)
        })
        .collect();
    // `join_all` polls the calls in order on its first pass, so they enter the queue in order.
    let calls = sent.iter().map(|(thread, id, text)| {
        let ingestor = ingestor.clone();
        let message = inbound(channel, thread, id, text);
        async move { ingestor.ingest(message).await }
    });
    let outcomes: Vec<IngestOutcome> = futures_util::future::join_all(calls)
        .await
        .into_iter()
        .map(|o| o.expect("ingested"))
        .collect();

    let mut first_delivery: HashMap<&str, MessageId> = HashMap::new();
    let mut per_chat: HashMap<ChatId, Vec<&IngestOutcome>> = HashMap::new();
    for ((_, id, _), outcome) in sent.iter().zip(&outcomes) {
        match first_delivery.get(id.as_str()) {
            Some(original) => {
                assert!(outcome.duplicate, "{id} was delivered before");
                assert_eq!(outcome.message.id, *original, "{id} keeps its first row");
                assert!(outcome.events.is_empty());
            }
            None => {
                assert!(!outcome.duplicate, "{id} is new");
                first_delivery.insert(id, outcome.message.id);
                per_chat.entry(outcome.chat.id).or_default().push(outcome);
            }
        }
    }
    assert_eq!(first_delivery.len(), 81);
    assert_eq!(per_chat.len(), 3);

    let heard: Vec<(ChatId, MessageId)> = heard.0.lock().map(|h| h.clone()).unwrap_or_default();
    assert_eq!(heard.len(), 81, "listeners hear of each new message once");
    let mut conn = app.ctx.db().get().await.expect("db");
    let events = Event::list_after(&mut conn, org.id, 0, None, 1000)
        .await
        .expect("events");
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=84).collect::<Vec<_>>(),
        "3 chats + 81 messages, gapless"
    );
    for (chat, arrived) in &per_chat {
        let in_arrival: Vec<MessageId> = arrived.iter().map(|o| o.message.id).collect();
        let in_hearing: Vec<MessageId> = heard
            .iter()
            .filter(|(c, _)| c == chat)
            .map(|(_, m)| *m)
            .collect();
        assert_eq!(
            in_hearing, in_arrival,
            "listeners hear a chat in arrival order"
        );
        // Overlapping batches may commit a chat's messages out of arrival order (the later batch
        // first), so the log holds each exactly once in commit order; clients order a chat's
        // messages by `created_at`, which follows arrival.
        let mut in_log: Vec<MessageId> = events
            .iter()
            .filter(|e| e.chat_id == Some(*chat) && e.event_type == "message.created")
            .map(|e| {
                serde_json::from_value(e.payload["message"]["id"].clone()).expect("message id")
            })
            .collect();
        let mut expected = in_arrival.clone();
        in_log.sort();
        expected.sort();
        assert_eq!(
            in_log, expected,
            "the event log has each message of the chat once"
        );
        assert!(
            arrived
                .windows(2)
                .all(|w| w[0].message.created_at <= w[1].message.created_at),
            "a later message is never stamped earlier"
        );
        let stored = Chat::find(&mut conn, org.id, *chat).await.expect("chat");
        let last = arrived.last().expect("a message");
        assert_eq!(
            stored.last_message_preview.as_deref(),
            Some(last.message.body.as_str())
        );
        assert_eq!(stored.unread_count as usize, arrived.len());
    }
}

#[actix_web::test]
async fn a_reader_following_cursors_never_sees_one_before_a_smaller_one_commits() {
    let app = TestApp::spawn().await;
    let orgs = [app.create_org("north").await, app.create_org("south").await];
    let channels = [
        web_channel(&app, &orgs[0], true).await,
        web_channel(&app, &orgs[1], true).await,
    ];
    let ingestor = Ingestor::start(app.ctx.db().clone(), overlapping(), Vec::new());
    let watched = orgs[0].id;
    let pool = app.ctx.db().clone();
    // 20 chats + 200 messages land in the watched organisation.
    let expected = 220;
    let reader = tokio::spawn(async move {
        let mut conn = pool.get().await.expect("db");
        let mut last = 0;
        let mut reads = 0;
        while last < expected {
            let page = Event::list_after(&mut conn, watched, last, None, 1000)
                .await
                .expect("events");
            for event in page {
                assert_eq!(
                    event.seq,
                    last + 1,
                    "after {last} the reader saw {} first: a smaller cursor was not visible yet",
                    event.seq
                );
                last = event.seq;
            }
            reads += 1;
            tokio::task::yield_now().await;
        }
        reads
    });
    let calls = (0..400).map(|i| {
        let ingestor = ingestor.clone();
        let message = inbound(
            channels[i % 2],
            &format!("t-{}", i % 40),
            &format!("m-{i}"),
            "hello",
        );
        async move { ingestor.ingest(message).await }
    });
    let outcomes = futures_util::future::join_all(calls).await;
    assert!(
        outcomes.iter().all(Result::is_ok),
        "every message is stored"
    );
    let reads = reader.await.expect("the reader saw every cursor in order");
    assert!(reads > 1, "the reader read while ingest was running");
}
