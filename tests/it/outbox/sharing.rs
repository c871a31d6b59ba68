//! Dispatchers as they run in production: background tasks, several nodes on one table, nodes
//! that crash mid-claim, wake-ups and graceful stop.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

use super::{Recorder, Setup, assert_row, config, message_id, registry};
use futures_util::future::BoxFuture;
use switchboard::actors::outbox::{
    Delivery, OutboundSender, OutboxConfig, OutboxDispatcher, SendError, SenderRegistry,
};
use switchboard::db::build_pool;
use switchboard::db::models::{MESSAGE_SEND, OutboxEntry};
use switchboard::domain::{MessageId, OutboxStatus};

/// Waits (with a generous deadline, so a broken dispatcher fails instead of hanging) until
/// `sender` has delivered `count` messages.
async fn delivered_at_least(sender: &Recorder, count: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while sender.delivered().len() < count {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {count} delivered",
            sender.delivered().len()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[actix_web::test]
async fn two_dispatchers_on_one_database_deliver_everything_exactly_once_in_order() {
    let s = Setup::new("outbox_two_nodes").await;
    let mut queued: HashMap<String, Vec<MessageId>> = HashMap::new();
    for _ in 0..6 {
        let chat = s.chat().await;
        for n in 0..4 {
            let id = s.queue(&chat, &format!("message {n}")).await;
            queued.entry(chat.clone()).or_default().push(id);
        }
    }
    let total: usize = queued.values().map(Vec::len).sum();
    let sender = Arc::new(Recorder {
        pause: Some(Duration::from_millis(5)),
        ..Recorder::default()
    });
    let node = |pool| {
        let config = OutboxConfig {
            batch_size: 3,
            ..config()
        };
        OutboxDispatcher::new(pool, registry(sender.clone()), config).spawn()
    };
    let mut db = s.app.ctx.config().database.clone();
    db.pool_size = 4;
    let first = node(build_pool(&db).expect("pool"));
    let second = node(build_pool(&db).expect("pool"));
    first.notify();
    second.notify();
    delivered_at_least(&sender, total).await;
    first.shutdown().await;
    second.shutdown().await;

    let delivered = sender.delivered();
    let unique: HashSet<_> = delivered.iter().collect();
    assert_eq!(unique.len(), delivered.len(), "a row was sent twice");
    assert_eq!(delivered.len(), total, "every row was sent");
    assert_eq!(
        *sender.overlaps.lock().expect("lock"),
        vec![],
        "a chat had two sends in flight at once"
    );
    for (chat, ids) in &queued {
        let seen: Vec<_> = delivered.iter().filter(|id| ids.contains(id)).collect();
        assert_eq!(seen, ids.iter().collect::<Vec<_>>(), "order of chat {chat}");
        for id in ids {
            assert_row(&s.row(*id).await, OutboxStatus::Sent, 1);
        }
    }
    s.finish().await;
}

#[actix_web::test]
async fn a_crashed_nodes_claim_is_taken_over_once_its_lease_expires() {
    let s = Setup::new("outbox_crash").await;
    let chat = s.chat().await;
    let m1 = s.queue(&chat, "claimed by a node that died").await;
    let m2 = s.queue(&chat, "next").await;
    let claim = |until: &str| {
        format!(
            "UPDATE outbox SET status = 'sending', attempts = 1, locked_until = {until} \
             WHERE idempotency_key = 'message:{m1}'"
        )
    };
    let sender = Recorder::scripted(vec![]);
    let dispatcher = s.dispatcher(sender.clone(), config());

    // Another node holds a live claim: neither its row nor the row behind it is due.
    s.exec(&claim("now() + interval '1 minute'")).await;
    assert_eq!(dispatcher.run_round().await.expect("round"), 0);

    // That node died; its lease ran out. Its row comes back, still ahead of the next one.
    s.exec(&claim("now() - interval '1 second'")).await;
    assert_eq!(dispatcher.run_round().await.expect("round"), 1);
    assert_eq!(sender.delivered(), vec![m1]);
    assert_row(&s.row(m1).await, OutboxStatus::Sent, 2);
    assert_row(&s.row(m2).await, OutboxStatus::Pending, 0);
    assert_eq!(dispatcher.run_round().await.expect("round"), 1);
    assert_eq!(sender.delivered(), vec![m1, m2]);
    s.finish().await;
}

#[actix_web::test]
async fn notify_wakes_an_idle_dispatcher_without_waiting_for_the_poll() {
    let s = Setup::new("outbox_notify").await;
    let chat = s.chat().await;
    let m1 = s.queue(&chat, "picked up at start").await;
    let sender = Recorder::scripted(vec![]);
    let hour = OutboxConfig {
        poll_interval: Duration::from_secs(3600),
        ..config()
    };
    let handle = s.dispatcher(sender.clone(), hour).spawn();
    delivered_at_least(&sender, 1).await;
    tokio::time::sleep(Duration::from_millis(100)).await; // let it go idle

    let m2 = s.queue(&chat, "woken for").await;
    handle.notify();
    delivered_at_least(&sender, 2).await;
    assert_eq!(sender.delivered(), vec![m1, m2]);
    handle.shutdown().await;
    s.finish().await;
}

/// A channel that holds each send until the test lets it go.
struct Gate {
    entered: Notify,
    release: Notify,
}

impl OutboundSender for Gate {
    fn send<'a>(&'a self, _entry: &'a OutboxEntry) -> BoxFuture<'a, Result<Delivery, SendError>> {
        Box::pin(async move {
            self.entered.notify_one();
            self.release.notified().await;
            Ok(Delivery::default())
        })
    }
}

#[actix_web::test]
async fn shutdown_lets_the_send_in_flight_finish_and_record_its_outcome() {
    let s = Setup::new("outbox_shutdown").await;
    let chat = s.chat().await;
    let m = s.queue(&chat, "in flight").await;
    let gate = Arc::new(Gate {
        entered: Notify::new(),
        release: Notify::new(),
    });
    let senders = SenderRegistry::new().with(MESSAGE_SEND, gate.clone());
    let handle = OutboxDispatcher::new(s.app.ctx.db().clone(), senders, config()).spawn();
    gate.entered.notified().await;

    let stopping = tokio::spawn(handle.shutdown());
    tokio::task::yield_now().await;
    assert_row(&s.row(m).await, OutboxStatus::Sending, 1);
    gate.release.notify_one();
    stopping.await.expect("shutdown");
    assert_row(&s.row(m).await, OutboxStatus::Sent, 1);
    assert_eq!(message_id(&s.row(m).await), m);
    s.finish().await;
}
