//! One dispatcher stepped round by round: order within a chat, what each outcome does to the row
//! and its message, and which rows a dispatcher leaves alone.

use chrono::TimeDelta;
use std::time::Duration;

use super::{Recorder, Setup, assert_row, assert_status, config};
use switchboard::actors::outbox::{Delivery, SendError};
use switchboard::domain::{MessageStatus, OutboxStatus};

#[actix_web::test]
async fn each_chat_is_delivered_in_order_even_when_a_later_row_is_due_first() {
    let s = Setup::new("outbox_order").await;
    let (chat_a, chat_b) = (s.chat().await, s.chat().await);
    let a1 = s.queue(&chat_a, "first to A").await;
    let a2 = s.queue(&chat_a, "second to A").await;
    let b1 = s.queue(&chat_b, "only to B").await;
    // A's first message is backing off; its second is due.
    s.exec(&format!(
        "UPDATE outbox SET next_attempt_at = now() + interval '1 hour' \
         WHERE idempotency_key = 'message:{a1}'"
    ))
    .await;
    let sender = Recorder::scripted(vec![]);
    let dispatcher = s.dispatcher(sender.clone(), config());

    assert_eq!(dispatcher.run_round().await.expect("round"), 1);
    assert_eq!(
        sender.delivered(),
        vec![b1],
        "A's second waits for A's first"
    );
    assert_row(&s.row(a2).await, OutboxStatus::Pending, 0);

    s.make_due(a1).await;
    assert_eq!(
        dispatcher.run_round().await.expect("round"),
        1,
        "only A's head"
    );
    assert_eq!(dispatcher.run_round().await.expect("round"), 1);
    assert_eq!(dispatcher.run_round().await.expect("round"), 0, "drained");
    assert_eq!(sender.delivered(), vec![b1, a1, a2]);

    for id in [a1, a2, b1] {
        assert_row(&s.row(id).await, OutboxStatus::Sent, 1);
        let message = s.message(id).await;
        assert_status(&message, MessageStatus::Sent);
        assert!(message.sent_at.is_some(), "{message:?}");
        assert_eq!(message.external_id, Some(format!("ext-{id}")));
    }
    let metrics = s.app.ctx.metrics().render();
    assert!(
        metrics.contains("outbox_sent_total{kind=\"message.send\"}"),
        "{metrics}"
    );
    s.finish().await;
}

#[actix_web::test]
async fn a_transient_failure_is_retried_after_backoff_and_then_succeeds() {
    let s = Setup::new("outbox_retry").await;
    let chat = s.chat().await;
    let m = s.queue(&chat, "hello").await;
    let sender = Recorder::scripted(vec![Err(SendError::transient("connection reset"))]);
    let dispatcher = s.dispatcher(sender.clone(), config());

    assert_eq!(dispatcher.run_round().await.expect("round"), 1);
    let row = s.row(m).await;
    assert_row(&row, OutboxStatus::Pending, 1);
    assert_eq!(row.last_error.as_deref(), Some("connection reset"));
    // First retry: the 1 s base with equal jitter, i.e. between 0.5 s and 1 s after the failure.
    let wait = row.next_attempt_at - row.updated_at;
    assert!(
        wait >= TimeDelta::milliseconds(500) && wait <= TimeDelta::seconds(1),
        "{wait:?}"
    );
    assert_status(&s.message(m).await, MessageStatus::Queued);
    assert_eq!(
        dispatcher.run_round().await.expect("round"),
        0,
        "not due before its backoff"
    );

    s.make_due(m).await;
    assert_eq!(dispatcher.run_round().await.expect("round"), 1);
    let row = s.row(m).await;
    assert_row(&row, OutboxStatus::Sent, 2);
    assert_eq!(row.last_error, None);
    assert_eq!(sender.calls(), vec![m, m]);
    assert_status(&s.message(m).await, MessageStatus::Sent);
    s.finish().await;
}

#[actix_web::test]
async fn the_channels_retry_after_is_honoured_exactly() {
    let s = Setup::new("outbox_retry_after").await;
    let chat = s.chat().await;
    let m = s.queue(&chat, "hello").await;
    let sender = Recorder::scripted(vec![Err(SendError::Transient {
        reason: "429 Too Many Requests".into(),
        retry_after: Some(Duration::from_secs(37)),
    })]);
    let dispatcher = s.dispatcher(sender, config());

    dispatcher.run_round().await.expect("round");
    let row = s.row(m).await;
    assert_row(&row, OutboxStatus::Pending, 1);
    assert_eq!(row.next_attempt_at - row.updated_at, TimeDelta::seconds(37));
    assert_eq!(row.last_error.as_deref(), Some("429 Too Many Requests"));
    s.finish().await;
}

#[actix_web::test]
async fn a_permanent_failure_dead_letters_at_once_and_fails_the_message() {
    let s = Setup::new("outbox_permanent").await;
    let chat = s.chat().await;
    let m1 = s.queue(&chat, "hello").await;
    let m2 = s.queue(&chat, "anyone there?").await;
    let sender = Recorder::scripted(vec![Err(SendError::permanent(
        "Forbidden: bot was blocked by the user",
    ))]);
    let dispatcher = s.dispatcher(sender.clone(), config());

    assert_eq!(dispatcher.run_round().await.expect("round"), 1);
    let row = s.row(m1).await;
    assert_row(&row, OutboxStatus::Dead, 1);
    assert_eq!(
        row.last_error.as_deref(),
        Some("Forbidden: bot was blocked by the user")
    );
    let message = s.message(m1).await;
    assert_status(&message, MessageStatus::Failed);
    assert_eq!(message.sent_at, None);

    // The dead row no longer holds its chat up.
    assert_eq!(dispatcher.run_round().await.expect("round"), 1);
    assert_eq!(sender.calls(), vec![m1, m2], "no retry of the dead one");
    assert_status(&s.message(m2).await, MessageStatus::Sent);
    s.finish().await;
}

#[actix_web::test]
async fn a_row_out_of_attempts_is_dead_lettered() {
    let s = Setup::new("outbox_max_attempts").await;
    let chat = s.chat().await;
    let m = s.queue(&chat, "hello").await;
    let down = || Err(SendError::transient("connection refused"));
    let sender = Recorder::scripted(vec![down(), down(), down(), down()]);
    let dispatcher = s.dispatcher(sender.clone(), config());

    for attempt in 1..=2 {
        dispatcher.run_round().await.expect("round");
        assert_row(&s.row(m).await, OutboxStatus::Pending, attempt);
        s.make_due(m).await;
    }
    dispatcher.run_round().await.expect("round");
    let row = s.row(m).await;
    assert_row(&row, OutboxStatus::Dead, 3);
    assert_eq!(
        row.last_error.as_deref(),
        Some("gave up after 3 attempts: connection refused")
    );
    assert_status(&s.message(m).await, MessageStatus::Failed);
    s.make_due(m).await;
    assert_eq!(dispatcher.run_round().await.expect("round"), 0);
    assert_eq!(sender.calls().len(), 3);
    s.finish().await;
}

#[actix_web::test]
async fn a_dead_row_does_not_block_the_next_row_of_its_chat() {
    let s = Setup::new("outbox_dead_head").await;
    let chat = s.chat().await;
    let m1 = s.queue(&chat, "never delivered").await;
    let m2 = s.queue(&chat, "next").await;
    s.exec(&format!(
        "UPDATE outbox SET status = 'dead', attempts = 8, last_error = 'old failure' \
         WHERE idempotency_key = 'message:{m1}'"
    ))
    .await;
    let sender = Recorder::scripted(vec![]);
    let dispatcher = s.dispatcher(sender.clone(), config());

    assert_eq!(dispatcher.run_round().await.expect("round"), 1);
    assert_eq!(sender.delivered(), vec![m2]);
    assert_row(&s.row(m1).await, OutboxStatus::Dead, 8);
    s.finish().await;
}

#[actix_web::test]
async fn kinds_without_a_sender_are_left_for_nodes_that_have_one() {
    let s = Setup::new("outbox_kinds").await;
    let chat = s.chat().await;
    let m = s.queue(&chat, "hello").await;
    s.exec("UPDATE outbox SET kind = 'webhook.deliver'").await;
    let sender = Recorder::scripted(vec![]);
    let dispatcher = s.dispatcher(sender.clone(), config());

    assert_eq!(dispatcher.run_round().await.expect("round"), 0);
    let row = s.row(m).await;
    assert_row(&row, OutboxStatus::Pending, 0);
    assert!(sender.calls().is_empty());

    s.exec("UPDATE outbox SET kind = 'message.send'").await;
    assert_eq!(dispatcher.run_round().await.expect("round"), 1);
    assert_eq!(sender.delivered(), vec![m]);
    s.finish().await;
}

#[actix_web::test]
async fn a_send_without_an_external_id_still_marks_the_message_sent() {
    let s = Setup::new("outbox_no_external").await;
    let chat = s.chat().await;
    let m = s.queue(&chat, "hello").await;
    let sender = Recorder::scripted(vec![Ok(Delivery::default())]);
    s.dispatcher(sender, config())
        .run_round()
        .await
        .expect("round");
    let message = s.message(m).await;
    assert_status(&message, MessageStatus::Sent);
    assert_eq!(message.external_id, None);
    s.finish().await;
}
