//! The group-commit loop: gather, commit once, answer each caller, then tell the listeners.
//! A batch whose transaction fails is retried message by message, so one bad message cannot
//! sink the others. Items are processed in organisation order, so concurrent batches (of this
//! node's workers or of other nodes) take organisation row locks (for event cursors) in the same
//! order and cannot deadlock.
//!
//! Several workers overlap: one gathers the next batch while others write theirs. Gathering is
//! one at a time (the queue sits behind a lock), and each batch takes a ticket as it closes;
//! listeners are told and callers answered in ticket order, so a chat's messages reach its actor
//! and its senders in arrival order even when a later batch commits first. Event cursors need
//! nothing more: a batch takes its organisations' row locks to draw cursors and holds them to
//! its commit, so a larger cursor of the same organisation can only be drawn, and become
//! visible, after the smaller one committed.

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::time::Instant;

use super::bulk::persist_batch;
use super::persist::{ChannelOwner, channel_owners};
use super::{IngestConfig, IngestError, IngestListener, IngestOutcome, Reply};
use crate::db::DbPool;
use crate::domain::InboundMessage;

type Item = (InboundMessage, Reply);

/// The queue and the ticket of the batch closed last.
struct Gate {
    receiver: mpsc::Receiver<Item>,
    previous: Option<oneshot::Receiver<()>>,
}

/// A batch's place in the answer order: wait for `previous`, answer, then release `done`.
/// Dropping `done` (a worker that stopped) releases the next batch too.
struct Ticket {
    previous: Option<oneshot::Receiver<()>>,
    done: oneshot::Sender<()>,
}

pub(super) async fn run(
    pool: DbPool,
    config: IngestConfig,
    receiver: mpsc::Receiver<Item>,
    listeners: Vec<Arc<dyn IngestListener>>,
) {
    let gate = Arc::new(Mutex::new(Gate {
        receiver,
        previous: None,
    }));
    let listeners: Arc<[Arc<dyn IngestListener>]> = listeners.into();
    let workers = (0..config.workers.max(1)).map(|_| {
        tokio::spawn(worker(
            pool.clone(),
            config,
            gate.clone(),
            listeners.clone(),
        ))
    });
    futures_util::future::join_all(workers).await;
}

async fn worker(
    pool: DbPool,
    config: IngestConfig,
    gate: Arc<Mutex<Gate>>,
    listeners: Arc<[Arc<dyn IngestListener>]>,
) {
    loop {
        let Some((batch, at, ticket)) = gather(&gate, &config).await else {
            return;
        };
        let size = batch.len();
        let started = std::time::Instant::now();
        let answers = commit_batch(&pool, batch, at).await;
        metrics::histogram!("ingest_batch_size").record(size as f64);
        metrics::histogram!("ingest_batch_duration_seconds")
            .record(started.elapsed().as_secs_f64());
        if let Some(previous) = ticket.previous {
            // An error only means the earlier worker stopped; its batch is answered either way.
            let _ = previous.await;
        }
        answer(answers, &listeners);
        let _ = ticket.done.send(());
    }
}

/// Takes the queue, waits for a first message, then gathers up to `max_batch` within `linger`.
/// The batch's time and ticket are taken before the queue is let go, so both follow arrival.
async fn gather(
    gate: &Mutex<Gate>,
    config: &IngestConfig,
) -> Option<(Vec<Item>, DateTime<Utc>, Ticket)> {
    let mut gate = gate.lock().await;
    let first = gate.receiver.recv().await?;
    let mut batch = vec![first];
    let deadline = Instant::now() + config.linger;
    while batch.len() < config.max_batch {
        match tokio::time::timeout_at(deadline, gate.receiver.recv()).await {
            Ok(Some(item)) => batch.push(item),
            Ok(None) | Err(_) => break,
        }
    }
    let (done, next) = oneshot::channel();
    let ticket = Ticket {
        previous: gate.previous.replace(next),
        done,
    };
    Some((batch, Utc::now(), ticket))
}

/// Each caller's answer, in the order the listeners should hear of them.
type Answers = Vec<(Reply, Result<IngestOutcome, IngestError>)>;

/// Listeners (the chat actors' router, the event publisher) hear of each committed message
/// before its sender is acknowledged.
fn answer(answers: Answers, listeners: &[Arc<dyn IngestListener>]) {
    for outcome in answers.iter().filter_map(|(_, r)| r.as_ref().ok()) {
        if !outcome.duplicate {
            for listener in listeners {
                listener.committed(outcome);
            }
        }
    }
    for (reply, result) in answers {
        let _ = reply.send(result);
    }
}

async fn commit_batch(pool: &DbPool, batch: Vec<Item>, at: DateTime<Utc>) -> Answers {
    let fail_all = |batch: Vec<Item>, error: IngestError| -> Answers {
        batch
            .into_iter()
            .map(|(_, reply)| (reply, Err(error.clone())))
            .collect()
    };
    let mut conn = match pool.get().await {
        Ok(conn) => conn,
        Err(e) => {
            let error = IngestError::Database(format!("no database connection: {e}"));
            return fail_all(batch, error);
        }
    };
    let ids: Vec<_> = batch.iter().map(|(m, _)| m.channel_id).collect();
    let owners: HashMap<_, ChannelOwner> = match channel_owners(&mut conn, &ids).await {
        Ok(owners) => owners.into_iter().map(|o| (o.id, o)).collect(),
        Err(e) => return fail_all(batch, IngestError::Database(e.to_string())),
    };
    let mut answers: Answers = Vec::with_capacity(batch.len());
    let mut ready: Vec<(ChannelOwner, InboundMessage, Reply)> = Vec::with_capacity(batch.len());
    for (message, reply) in batch {
        match owners.get(&message.channel_id) {
            None => answers.push((reply, Err(IngestError::UnknownChannel))),
            Some(owner) if !owner.active => {
                answers.push((reply, Err(IngestError::InactiveChannel)));
            }
            Some(owner) => ready.push((*owner, message, reply)),
        }
    }
    // Organisation first (the lock order), then thread, so concurrent batches also create new
    // chats in one order; the sort is stable, so a chat's messages keep their arrival order.
    ready.sort_by(|(a, m, _), (b, n, _)| {
        (a.organization_id, a.id, &m.external_thread_id).cmp(&(
            b.organization_id,
            b.id,
            &n.external_thread_id,
        ))
    });

    let (work, replies): (Vec<(ChannelOwner, InboundMessage)>, Vec<Reply>) =
        ready.into_iter().map(|(o, m, r)| ((o, m), r)).unzip();
    let together = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            persist_batch(conn, &work, at).await
        })
        .await;
    let results: Vec<Result<IngestOutcome, IngestError>> = match together {
        Ok(outcomes) => outcomes.into_iter().map(Ok).collect(),
        Err(_) if work.len() > 1 => {
            // Isolate the failing message: each one alone in its own transaction.
            let mut results = Vec::with_capacity(work.len());
            for item in work.chunks(1) {
                let alone = conn
                    .transaction::<_, diesel::result::Error, _>(async |conn| {
                        persist_batch(conn, item, at).await
                    })
                    .await
                    .map_err(|e| IngestError::Database(e.to_string()))
                    .and_then(|mut outcomes| {
                        outcomes
                            .pop()
                            .ok_or_else(|| IngestError::Database("no outcome".into()))
                    });
                results.push(alone);
            }
            results
        }
        Err(e) => vec![Err(IngestError::Database(e.to_string()))],
    };
    answers.extend(replies.into_iter().zip(results));
    answers
}
