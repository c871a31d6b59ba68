//! Durable ingest under open-loop load: `Ingestor` (group commit) against the real PostgreSQL.
//! Messages are injected at a fixed target rate, whatever the answers do (open loop), one task
//! per message, spread over many chats (threads of web channels in several organisations). Each
//! call's ack latency (call → `Ok`, i.e. committed) goes into an HDR histogram; the ingest
//! worker's own batch metrics are captured with a small `metrics` recorder.
//!
//! Run: `eval "$(deploy/dev/env switchboard_bench)" && cargo bench --bench ingest`.
//! Parameters (environment): `INGEST_RATES` (msg/s list), `INGEST_SECS`, `INGEST_SWEEP`
//! (`linger_ms:max_batch` list), `INGEST_SWEEP_RATE`, `INGEST_SWEEP_SECS`, `INGEST_ORGS`,
//! `INGEST_CHATS`, `INGEST_POOL`, `INGEST_WORKERS` (overlapping batch workers).

mod common;

use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

use switchboard::channels::ingest::{IngestConfig, IngestError, IngestOutcome, Ingestor};
use switchboard::db::DbPool;
use switchboard::domain::ChannelId;

use common::{Services, latency_histogram, latency_line, param, param_list, record};

fn main() -> anyhow::Result<()> {
    if !common::should_run() {
        return Ok(());
    }
    let batches = BatchRecorder::default();
    metrics::set_global_recorder(batches.clone())
        .map_err(|_| anyhow::anyhow!("a metrics recorder is already installed"))?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(batches))
}

/// One measured run.
struct Plan {
    config: IngestConfig,
    rate: u64,
    secs: u64,
}

async fn run(batches: BatchRecorder) -> anyhow::Result<()> {
    let rates: Vec<u64> = param_list("INGEST_RATES", "500,5000,10000,20000");
    let secs: u64 = param("INGEST_SECS", 10);
    let sweep: Vec<String> = param_list("INGEST_SWEEP", "1:128,1:512,2:128,2:512,5:128,5:512");
    let sweep_rate: u64 = param("INGEST_SWEEP_RATE", 10_000);
    let sweep_secs: u64 = param("INGEST_SWEEP_SECS", 5);
    let orgs: usize = param("INGEST_ORGS", 4).max(1);
    let chat_count: usize = param("INGEST_CHATS", 2000).max(1);
    let pool_size: usize = param("INGEST_POOL", 4).max(1);
    let workers: usize = param("INGEST_WORKERS", IngestConfig::default().workers).max(1);
    common::print_header(
        "ingest",
        "Durable ingest (group commit) under open-loop load; ack latency = ingest() call to Ok (committed).",
        &[
            ("INGEST_RATES", format!("{rates:?}")),
            ("INGEST_SECS", secs.to_string()),
            ("INGEST_SWEEP", format!("{sweep:?} (linger_ms:max_batch)")),
            ("INGEST_SWEEP_RATE", sweep_rate.to_string()),
            ("INGEST_SWEEP_SECS", sweep_secs.to_string()),
            ("INGEST_ORGS", orgs.to_string()),
            ("INGEST_CHATS", chat_count.to_string()),
            ("INGEST_POOL", pool_size.to_string()),
            ("INGEST_WORKERS", workers.to_string()),
        ],
    );

    let services = Services::from_env()?;
    services.migrate().await?;
    let mut config = services.config();
    config.database.pool_size = pool_size;
    let pool = switchboard::db::build_pool(&config.database)?;
    let mut tenants = Vec::with_capacity(orgs);
    {
        let mut conn = pool.get().await?;
        println!("postgres: {}", common::postgres_settings(&mut conn).await);
        for i in 0..orgs {
            tenants.push(common::create_tenant(&mut conn, &format!("bench-ingest-{i}")).await?);
        }
    }
    let tag = uuid::Uuid::now_v7().simple().to_string();
    let chats: Arc<Vec<(ChannelId, String)>> = Arc::new(
        (0..chat_count)
            .map(|i| (tenants[i % orgs].channel, format!("t{i}-{tag}")))
            .collect(),
    );
    let mut next_id = 0u64;

    // Warm-up (not measured): the first message of each chat creates its contact and chat.
    let started = Instant::now();
    let ingestor = Ingestor::start(pool.clone(), IngestConfig::default(), Vec::new());
    let mut tasks = JoinSet::new();
    let mut warm_errors = 0u64;
    for (channel, thread) in chats.iter() {
        if tasks.len() >= 256
            && let Some(Ok(Err(_))) = tasks.join_next().await
        {
            warm_errors += 1;
        }
        let message = common::inbound(*channel, thread, format!("{tag}-{next_id}"), "hello".into());
        next_id += 1;
        let ingestor = ingestor.clone();
        tasks.spawn(async move { ingestor.ingest(message).await });
    }
    while let Some(result) = tasks.join_next().await {
        if !matches!(result, Ok(Ok(_))) {
            warm_errors += 1;
        }
    }
    drop(ingestor);
    println!(
        "warm-up: {chat_count} chats over {orgs} organisations created in {:.1} s ({warm_errors} errors)",
        started.elapsed().as_secs_f64()
    );

    let default = IngestConfig {
        workers,
        ..IngestConfig::default()
    };
    let mut plans: Vec<Plan> = rates
        .iter()
        .map(|&rate| Plan {
            config: default,
            rate,
            secs,
        })
        .collect();
    for entry in &sweep {
        let Some((linger, max_batch)) = entry.split_once(':') else {
            anyhow::bail!("INGEST_SWEEP entries look like linger_ms:max_batch, got {entry}");
        };
        plans.push(Plan {
            config: IngestConfig {
                linger: Duration::from_millis(linger.parse()?),
                max_batch: max_batch.parse()?,
                ..default
            },
            rate: sweep_rate,
            secs: sweep_secs,
        });
    }

    println!();
    println!(
        "queue_capacity={} for every run (beyond it callers get Saturated at once)",
        default.queue_capacity
    );
    for plan in &plans {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let result = run_one(&pool, &chats, plan, &batches, &tag, &mut next_id).await;
        result.print(plan);
    }
    Ok(())
}

/// What one run measured.
#[derive(Default)]
struct Tally {
    ok: u64,
    duplicates: u64,
    errors: BTreeMap<&'static str, u64>,
    ack: Option<Histogram<u64>>,
    last_answer: Option<Instant>,
}

impl Tally {
    fn add(&mut self, result: &Result<IngestOutcome, IngestError>, took: Duration, at: Instant) {
        self.last_answer = Some(self.last_answer.map_or(at, |last| last.max(at)));
        match result {
            Ok(outcome) => {
                self.ok += 1;
                if outcome.duplicate {
                    self.duplicates += 1;
                }
                record(self.ack.get_or_insert_with(latency_histogram), took);
            }
            Err(e) => {
                let kind = match e {
                    IngestError::UnknownChannel => "unknown_channel",
                    IngestError::InactiveChannel => "inactive_channel",
                    IngestError::Invalid(_) => "invalid",
                    IngestError::Saturated => "saturated",
                    IngestError::Database(_) => "database",
                    IngestError::Stopped => "stopped",
                };
                *self.errors.entry(kind).or_default() += 1;
            }
        }
    }
}

struct RunResult {
    sending: common::OpenLoop,
    tally: Tally,
    batch_sizes: Histogram<u64>,
    batch_micros: Histogram<u64>,
}

async fn run_one(
    pool: &DbPool,
    chats: &Arc<Vec<(ChannelId, String)>>,
    plan: &Plan,
    batches: &BatchRecorder,
    tag: &str,
    next_id: &mut u64,
) -> RunResult {
    batches.reset();
    let ingestor = Ingestor::start(pool.clone(), plan.config, Vec::new());
    let tally = Arc::new(Mutex::new(Tally::default()));
    let first_id = *next_id;
    let sending = common::open_loop(plan.rate, plan.secs, |i| {
        let n = first_id + i;
        let (channel, thread) = &chats[(n as usize) % chats.len()];
        let message = common::inbound(
            *channel,
            thread,
            format!("{tag}-{n}"),
            format!("benchmark message {n}: hello, do you ship to Lisbon?"),
        );
        let ingestor = ingestor.clone();
        let tally = tally.clone();
        async move {
            let called = Instant::now();
            let result = ingestor.ingest(message).await;
            let done = Instant::now();
            if let Ok(mut tally) = tally.lock() {
                tally.add(&result, done - called, done);
            }
        }
    })
    .await;
    *next_id += sending.sent;
    drop(ingestor);
    let tally = match Arc::try_unwrap(tally) {
        Ok(mutex) => mutex.into_inner().unwrap_or_default(),
        Err(_) => Tally::default(),
    };
    let (batch_sizes, batch_micros) = batches.take();
    RunResult {
        sending,
        tally,
        batch_sizes,
        batch_micros,
    }
}

impl RunResult {
    fn print(&self, plan: &Plan) {
        let config = &plan.config;
        println!(
            "--- run: offered {} msg/s for {} s, linger={} ms, max_batch={}, workers={} (loadavg after: {}) ---",
            plan.rate,
            plan.secs,
            config.linger.as_millis(),
            config.max_batch,
            config.workers,
            common::loadavg()
        );
        let until = self
            .tally
            .last_answer
            .map_or(Duration::ZERO, |t| t.duration_since(self.sending.started));
        let achieved = if until.is_zero() {
            0.0
        } else {
            self.tally.ok as f64 / until.as_secs_f64()
        };
        println!(
            "  sent {} in {:.2} s (generator lag max {:.1} ms); ok {} (duplicates {}); errors {:?}",
            self.sending.sent,
            self.sending.send_window.as_secs_f64(),
            self.sending.max_lag.as_secs_f64() * 1000.0,
            self.tally.ok,
            self.tally.duplicates,
            self.tally.errors
        );
        println!(
            "  achieved {:.0} msg/s committed (ok / time from first send to last answer, {:.2} s)",
            achieved,
            until.as_secs_f64()
        );
        match &self.tally.ack {
            Some(ack) => println!("  ack latency: {}", latency_line(ack)),
            None => println!("  ack latency: n=0"),
        }
        if !self.batch_sizes.is_empty() {
            println!(
                "  batches: {} commits, size mean {:.1} p50 {} p99 {} max {}; commit time {}",
                self.batch_sizes.len(),
                self.batch_sizes.mean(),
                self.batch_sizes.value_at_quantile(0.5),
                self.batch_sizes.value_at_quantile(0.99),
                self.batch_sizes.max(),
                latency_line(&self.batch_micros)
            );
            let per_message = self.batch_micros.mean() * self.batch_micros.len() as f64
                / (self.batch_sizes.mean() * self.batch_sizes.len() as f64).max(1.0);
            println!(
                "  batch time per message {:.0} µs (each worker: ceiling ≈ {:.0} msg/s)",
                per_message,
                1_000_000.0 / per_message.max(1.0)
            );
        }
    }
}

/// Captures the ingest worker's `ingest_batch_size` and `ingest_batch_duration_seconds`.
#[derive(Clone)]
struct BatchRecorder {
    sizes: Arc<Mutex<Histogram<u64>>>,
    micros: Arc<Mutex<Histogram<u64>>>,
}

impl Default for BatchRecorder {
    fn default() -> Self {
        Self {
            sizes: Arc::new(Mutex::new(latency_histogram())),
            micros: Arc::new(Mutex::new(latency_histogram())),
        }
    }
}

impl BatchRecorder {
    fn reset(&self) {
        for h in [&self.sizes, &self.micros] {
            if let Ok(mut h) = h.lock() {
                h.reset();
            }
        }
    }

    fn take(&self) -> (Histogram<u64>, Histogram<u64>) {
        let copy = |h: &Arc<Mutex<Histogram<u64>>>| {
            h.lock()
                .map(|h| h.clone())
                .unwrap_or_else(|_| latency_histogram())
        };
        (copy(&self.sizes), copy(&self.micros))
    }
}

struct Sink {
    histogram: Arc<Mutex<Histogram<u64>>>,
    scale: f64,
}

impl metrics::HistogramFn for Sink {
    fn record(&self, value: f64) {
        if let Ok(mut h) = self.histogram.lock() {
            let _ = h.record(((value * self.scale).round() as u64).max(1));
        }
    }
}

impl metrics::Recorder for BatchRecorder {
    fn describe_counter(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_gauge(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_histogram(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }

    fn register_counter(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        metrics::Counter::noop()
    }

    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::noop()
    }

    fn register_histogram(
        &self,
        key: &metrics::Key,
        _: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        let (histogram, scale) = match key.name() {
            "ingest_batch_size" => (self.sizes.clone(), 1.0),
            "ingest_batch_duration_seconds" => (self.micros.clone(), 1_000_000.0),
            _ => return metrics::Histogram::noop(),
        };
        metrics::Histogram::from_arc(Arc::new(Sink { histogram, scale }))
    }
}
