//! The group-commit loop: gather, commit once, answer each caller, then tell the listeners.
//! A batch whose transaction fails is retried message by message, so one bad message cannot
//! sink the others. Items are processed in organisation order, so concurrent batches on several
//! nodes take organisation row locks (for event cursors) in the same order and cannot deadlock.

use diesel_async::AsyncConnection;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::bulk::persist_batch;
use super::persist::{ChannelOwner, channel_owners};
use super::{IngestConfig, IngestError, IngestListener, IngestOutcome, Reply};
use crate::db::DbPool;
use crate::domain::InboundMessage;

type Item = (InboundMessage, Reply);

pub(super) async fn run(
    pool: DbPool,
    config: IngestConfig,
    mut receiver: mpsc::Receiver<Item>,
    listeners: Vec<Arc<dyn IngestListener>>,
) {
    while let Some(first) = receiver.recv().await {
        let mut batch = vec![first];
        let deadline = Instant::now() + config.linger;
        while batch.len() < config.max_batch {
            match tokio::time::timeout_at(deadline, receiver.recv()).await {
                Ok(Some(item)) => batch.push(item),
                Ok(None) | Err(_) => break,
            }
        }
        let size = batch.len();
        let started = std::time::Instant::now();
        commit_batch(&pool, batch, &listeners).await;
        metrics::histogram!("ingest_batch_size").record(size as f64);
        metrics::histogram!("ingest_batch_duration_seconds")
            .record(started.elapsed().as_secs_f64());
    }
}

async fn commit_batch(pool: &DbPool, batch: Vec<Item>, listeners: &[Arc<dyn IngestListener>]) {
    let mut conn = match pool.get().await {
        Ok(conn) => conn,
        Err(e) => {
            for (_, reply) in batch {
                let _ = reply.send(Err(IngestError::Database(format!(
                    "no database connection: {e}"
                ))));
            }
            return;
        }
    };
    let ids: Vec<_> = batch.iter().map(|(m, _)| m.channel_id).collect();
    let owners: HashMap<_, ChannelOwner> = match channel_owners(&mut conn, &ids).await {
        Ok(owners) => owners.into_iter().map(|o| (o.id, o)).collect(),
        Err(e) => {
            for (_, reply) in batch {
                let _ = reply.send(Err(IngestError::Database(e.to_string())));
            }
            return;
        }
    };
    let mut ready: Vec<(ChannelOwner, InboundMessage, Reply)> = Vec::with_capacity(batch.len());
    for (message, reply) in batch {
        match owners.get(&message.channel_id) {
            None => {
                let _ = reply.send(Err(IngestError::UnknownChannel));
            }
            Some(owner) if !owner.active => {
                let _ = reply.send(Err(IngestError::InactiveChannel));
            }
            Some(owner) => ready.push((*owner, message, reply)),
        }
    }
    ready.sort_by_key(|(owner, _, _)| owner.organization_id);

    let work: Vec<(ChannelOwner, InboundMessage)> =
        ready.iter().map(|(o, m, _)| (*o, m.clone())).collect();
    let together = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| persist_batch(conn, &work).await)
        .await;
    let results: Vec<Result<IngestOutcome, IngestError>> = match together {
        Ok(outcomes) => outcomes.into_iter().map(Ok).collect(),
        Err(_) if work.len() > 1 => {
            // Isolate the failing message: each one alone in its own transaction.
            let mut results = Vec::with_capacity(work.len());
            for item in work.chunks(1) {
                let alone = conn
                    .transaction::<_, diesel::result::Error, _>(async |conn| {
                        persist_batch(conn, item).await
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
    // Listeners (the chat actors' router, the event publisher) hear of each committed message
    // before its sender is acknowledged.
    for outcome in results.iter().flatten().filter(|o| !o.duplicate) {
        for listener in listeners {
            listener.committed(outcome);
        }
    }
    for ((_, _, reply), result) in ready.into_iter().zip(results) {
        let _ = reply.send(result);
    }
}
