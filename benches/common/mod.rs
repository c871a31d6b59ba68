//! Shared setup for the benchmark programs in `benches/`: reading parameters, printing the
//! machine and the command so the output can be pasted into `docs/benchmarks.md`, connecting to
//! the real PostgreSQL and Redis, creating tenants with a web channel, and summarising latency
//! histograms. Each benchmark uses only part of it.
#![allow(dead_code)]

use anyhow::Context as _;
use chrono::Utc;
use diesel::sql_types::Text;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use hdrhistogram::Histogram;
use serde_json::json;
use std::str::FromStr;
use std::time::Duration;

use switchboard::config::{Config, Sensitive};
use switchboard::db::models::{Channel, ChannelInsertForm};
use switchboard::domain::{
    ChannelId, ChannelKind, InboundMessage, InboundSender, OrganizationId, Role,
};
use switchboard::seed;

/// `cargo bench` passes `--bench`; `cargo test --all-targets` runs bench binaries without it, and
/// a benchmark must not take minutes there.
pub fn should_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// A parameter from the environment, or its default.
pub fn param<T: FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// A comma-separated list parameter.
pub fn param_list<T: FromStr>(name: &str, default: &str) -> Vec<T> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_owned())
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// `MemTotal` from /proc/meminfo, in KiB.
fn mem_total_kib() -> u64 {
    read("/proc/meminfo")
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The 1, 5 and 15 minute load averages.
pub fn loadavg() -> String {
    read("/proc/loadavg")
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Prints what was run, where and when, and with which parameters.
pub fn print_header(bench: &str, purpose: &str, params: &[(&str, String)]) {
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = read("/proc/sys/kernel/osrelease");
    println!("== switchboard benchmark: {bench} ==");
    println!("{purpose}");
    println!("command:  cargo bench --bench {bench}");
    println!(
        "argv:     {}",
        std::env::args().collect::<Vec<_>>().join(" ")
    );
    println!(
        "date:     {}",
        Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    println!(
        "machine:  nproc={cores}, cpu=\"{cpu}\", MemTotal={:.1} GiB, kernel {}",
        mem_total_kib() as f64 / 1024.0 / 1024.0,
        kernel.trim()
    );
    println!(
        "load:     /proc/loadavg {} (other work on the machine skews the figures)",
        read("/proc/loadavg").trim()
    );
    println!("parameters (environment variable = value):");
    for (name, value) in params {
        println!("  {name}={value}");
    }
}

/// The services the benchmarks run against (`eval "$(deploy/dev/env switchboard_bench)"`).
pub struct Services {
    /// PostgreSQL.
    pub database_url: String,
    /// Redis.
    pub redis_url: String,
}

impl Services {
    /// From `DATABASE_URL` and `REDIS_URL`.
    pub fn from_env() -> anyhow::Result<Self> {
        let hint = "run `eval \"$(deploy/dev/env switchboard_bench)\"` first";
        Ok(Self {
            database_url: std::env::var("DATABASE_URL")
                .with_context(|| format!("DATABASE_URL is not set: {hint}"))?,
            redis_url: std::env::var("REDIS_URL")
                .with_context(|| format!("REDIS_URL is not set: {hint}"))?,
        })
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        switchboard::db::migrate::run_pending(&self.database_url).await?;
        Ok(())
    }

    /// A configuration for an in-process server or worker, with its own Redis key prefix.
    pub fn config(&self) -> Config {
        let mut config = Config::default();
        config.database.url = Sensitive::new(self.database_url.clone());
        config.redis.url = Sensitive::new(self.redis_url.clone());
        config.redis.key_prefix = format!("sbbench:{}:", uuid::Uuid::now_v7());
        config.auth.jwt_secret = Sensitive::new(random_secret());
        config.llm.base_url = "http://127.0.0.1:9".into();
        config
    }
}

/// A throwaway signing secret.
pub fn random_secret() -> String {
    format!("bench-{}-{}", uuid::Uuid::new_v4(), uuid::Uuid::new_v4())
}

/// One line naming the PostgreSQL and its durability settings.
pub async fn postgres_settings(conn: &mut AsyncPgConnection) -> String {
    let mut parts = Vec::new();
    for name in [
        "server_version",
        "fsync",
        "synchronous_commit",
        "wal_sync_method",
        "shared_buffers",
        "max_connections",
    ] {
        let value: Result<String, _> = diesel::select(diesel::dsl::sql::<Text>(&format!(
            "current_setting('{name}')"
        )))
        .get_result(conn)
        .await;
        parts.push(format!(
            "{name}={}",
            value.unwrap_or_else(|e| format!("? ({e})"))
        ));
    }
    parts.push(format!(
        "SELECT 1 round trip {:.0} µs (mean of 500)",
        round_trip_micros(conn).await
    ));
    parts.join(", ")
}

/// Mean time of a trivial query (`SELECT 1`, 500 in a row) on one connection: the round trip that
/// every statement of the ingest path pays at least once.
pub async fn round_trip_micros(conn: &mut AsyncPgConnection) -> f64 {
    let rounds = 500u32;
    let started = std::time::Instant::now();
    for _ in 0..rounds {
        let _: Result<i32, _> = diesel::select(diesel::dsl::sql::<diesel::sql_types::Integer>("1"))
            .get_result(conn)
            .await;
    }
    started.elapsed().as_secs_f64() * 1_000_000.0 / f64::from(rounds)
}

/// An organisation with an owner API key and one active web channel.
pub struct Tenant {
    /// The organisation.
    pub org: OrganizationId,
    /// An API key with every scope.
    pub key: String,
    /// Its web channel.
    pub channel: ChannelId,
}

/// Creates a tenant through the same functions the product and its tests use.
pub async fn create_tenant(conn: &mut AsyncPgConnection, label: &str) -> anyhow::Result<Tenant> {
    let unique = uuid::Uuid::now_v7().simple().to_string();
    let slug = format!("{label}-{}", &unique[unique.len() - 12..]);
    let email = format!("bench-owner-{unique}@example.test");
    let created =
        seed::create_organization(conn, label, &slug, &email, "bench password, not secret").await?;
    let org = created.organization.id;
    let (_, key) = seed::create_api_key(conn, org, "bench", Role::Owner.scopes(), None).await?;
    let channel = Channel::create(
        conn,
        &ChannelInsertForm {
            id: ChannelId::new(),
            organization_id: org,
            kind: ChannelKind::Web,
            name: format!("bench-web-{unique}"),
            settings: json!({}),
            secret_refs: json!({}),
            active: true,
        },
    )
    .await?;
    Ok(Tenant {
        org,
        key,
        channel: channel.id,
    })
}

/// A web visitor's message in thread `thread` of `channel`.
pub fn inbound(channel: ChannelId, thread: &str, id: String, text: String) -> InboundMessage {
    InboundMessage {
        channel_id: channel,
        external_thread_id: thread.to_owned(),
        external_message_id: id,
        sender: InboundSender {
            name: Some(format!("Visitor {thread}")),
            email: Some(format!("{thread}@bench.example.test")),
            ..Default::default()
        },
        text,
        attachments: Vec::new(),
        reply_to_external_id: None,
        received_at: Utc::now(),
        metadata: json!({}),
    }
}

/// A latency histogram in microseconds, 1 µs to 100 s, 3 significant digits.
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 100_000_000, 3).expect("constant bounds are valid")
}

/// Records a duration (saturating at the histogram's top).
pub fn record(histogram: &mut Histogram<u64>, elapsed: Duration) {
    let micros = (elapsed.as_micros() as u64).clamp(1, 100_000_000);
    let _ = histogram.record(micros);
}

fn ms(micros: u64) -> String {
    format!("{:.2}", micros as f64 / 1000.0)
}

/// `n=… p50=… p90=… p99=… p99.9=… max=… ms`.
pub fn latency_line(histogram: &Histogram<u64>) -> String {
    if histogram.is_empty() {
        return "n=0".into();
    }
    format!(
        "n={} p50={} p90={} p99={} p99.9={} max={} ms",
        histogram.len(),
        ms(histogram.value_at_quantile(0.50)),
        ms(histogram.value_at_quantile(0.90)),
        ms(histogram.value_at_quantile(0.99)),
        ms(histogram.value_at_quantile(0.999)),
        ms(histogram.max()),
    )
}

/// How an open-loop run went on the sending side.
pub struct OpenLoop {
    /// Calls started.
    pub sent: u64,
    /// When the first was due.
    pub started: std::time::Instant,
    /// From the first send to the last (≈ the planned duration when the generator kept up).
    pub send_window: Duration,
    /// Furthest any call started behind its schedule (large = the generator itself fell behind).
    pub max_lag: Duration,
}

/// Starts `call(n)` for n = 0, 1, … at `rate` per second for `secs` seconds, each as its own task,
/// without waiting for earlier calls (open loop); returns once every call has finished.
pub async fn open_loop<F, Fut>(rate: u64, secs: u64, mut call: F) -> OpenLoop
where
    F: FnMut(u64) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let total = rate * secs;
    let mut tasks = tokio::task::JoinSet::new();
    let mut ticker = tokio::time::interval(Duration::from_millis(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let started = std::time::Instant::now();
    let mut sent = 0u64;
    let mut max_lag = Duration::ZERO;
    while sent < total {
        ticker.tick().await;
        let due = ((started.elapsed().as_secs_f64() * rate as f64) as u64).min(total);
        while sent < due {
            let intended = started + Duration::from_secs_f64(sent as f64 / rate as f64);
            max_lag = max_lag.max(std::time::Instant::now().saturating_duration_since(intended));
            tasks.spawn(call(sent));
            sent += 1;
        }
        while tasks.try_join_next().is_some() {}
    }
    let send_window = started.elapsed();
    while tasks.join_next().await.is_some() {}
    OpenLoop {
        sent,
        started,
        send_window,
        max_lag,
    }
}
