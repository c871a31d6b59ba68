//! Inbox fan-out end to end: the real server (`app::build_server`, in-process, on 127.0.0.1:0)
//! with WebSocket subscribers, and messages injected through the `Ingestor` with the inbox
//! `EventPublisher` as its listener, exactly as a channel edge would. Each message carries the
//! moment its `ingest()` call started (`bench-t=<ns>` in its text); each subscriber measures
//! from there to its receipt of the `message.created` frame: group commit, publish, hub,
//! session, WebSocket write and read.
//!
//! Threads: the server side (actix System thread: ingest worker, publisher, Redis listener; plus
//! the HTTP workers running the sessions) is apart from the load side (a Tokio runtime running
//! the generator and the WebSocket clients). All of it shares the machine with PostgreSQL and
//! Redis.
//!
//! Run: `eval "$(deploy/dev/env switchboard_bench)" && cargo bench --bench fanout`.
//! Parameters (environment): `FANOUT_RATES` (msg/s list), `FANOUT_SECS`, `FANOUT_ORGS`,
//! `FANOUT_SUBSCRIBERS` (per organisation), `FANOUT_CHATS`, `FANOUT_WORKERS` (HTTP workers, 0 =
//! one per core), `FANOUT_LOAD_THREADS`.

mod common;

use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, watch};
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use switchboard::channels::ingest::IngestOutcome;
use switchboard::channels::ingest::{IngestConfig, IngestError, IngestListener, Ingestor};
use switchboard::context::AppContext;
use switchboard::domain::ChannelId;
use switchboard::inbox::EventPublisher;

use common::{Services, latency_histogram, latency_line, param, param_list, record};

fn main() -> anyhow::Result<()> {
    if !common::should_run() {
        return Ok(());
    }
    let load_threads: usize = param("FANOUT_LOAD_THREADS", 2).max(1);
    let load = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(load_threads)
        .thread_name("bench-load")
        .enable_all()
        .build()?;
    let result = actix_web::rt::System::new().block_on(run(load.handle().clone(), load_threads));
    load.shutdown_timeout(Duration::from_secs(2));
    result
}

/// What one subscriber saw during the current run.
struct ClientStats {
    latency: Histogram<u64>,
    from_commit: Histogram<u64>,
    received: u64,
    ended: Option<String>,
}

struct Client {
    org: usize,
    stats: Arc<Mutex<ClientStats>>,
}

async fn run(load: tokio::runtime::Handle, load_threads: usize) -> anyhow::Result<()> {
    let rates: Vec<u64> = param_list("FANOUT_RATES", "500,5000");
    let secs: u64 = param("FANOUT_SECS", 10);
    let orgs: usize = param("FANOUT_ORGS", 10).max(1);
    let subscribers: usize = param("FANOUT_SUBSCRIBERS", 10).max(1);
    let chat_count: usize = param("FANOUT_CHATS", 500).max(1);
    let workers: usize = param("FANOUT_WORKERS", 0);
    common::print_header(
        "fanout",
        "Inbox fan-out end to end: ingest() call start -> message.created frame read by each WebSocket subscriber.",
        &[
            ("FANOUT_RATES", format!("{rates:?}")),
            ("FANOUT_SECS", secs.to_string()),
            ("FANOUT_ORGS", orgs.to_string()),
            (
                "FANOUT_SUBSCRIBERS",
                format!("{subscribers} per organisation"),
            ),
            ("FANOUT_CHATS", chat_count.to_string()),
            ("FANOUT_WORKERS", format!("{workers} (0 = one per core)")),
            ("FANOUT_LOAD_THREADS", load_threads.to_string()),
        ],
    );

    let services = Services::from_env()?;
    services.migrate().await?;
    let mut config = services.config();
    config.server.workers = workers;
    let ctx = AppContext::connect(config).await?;
    let mut tenants = Vec::with_capacity(orgs);
    {
        let mut conn = ctx.db().get().await?;
        println!("postgres: {}", common::postgres_settings(&mut conn).await);
        for i in 0..orgs {
            tenants.push(common::create_tenant(&mut conn, &format!("bench-fanout-{i}")).await?);
        }
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let running = switchboard::app::build_server(ctx.clone(), listener)?;
    let addr = running.addr;
    actix_web::rt::spawn(running.server);

    let base = Instant::now();
    let commits: Commits = Arc::default();
    let publisher: Arc<dyn IngestListener> = Arc::new(CommitClock {
        publisher: ctx.publisher().clone(),
        base,
        commits: commits.clone(),
    });
    let ingestor = Ingestor::start(ctx.db().clone(), IngestConfig::default(), vec![publisher]);

    // Chats exist before anyone subscribes, so runs see only message.created events.
    let tag = uuid::Uuid::now_v7().simple().to_string();
    let chats: Arc<Vec<(usize, ChannelId, String)>> = Arc::new(
        (0..chat_count)
            .map(|i| (i % orgs, tenants[i % orgs].channel, format!("t{i}-{tag}")))
            .collect(),
    );
    let started = Instant::now();
    let warm = chats.clone();
    let warm_ingestor = ingestor.clone();
    let warm_tag = tag.clone();
    let warm_errors = load
        .spawn(async move {
            let mut errors = 0u64;
            for chunk in warm.chunks(128) {
                let calls = chunk.iter().map(|(_, channel, thread)| {
                    warm_ingestor.ingest(common::inbound(
                        *channel,
                        thread,
                        format!("{warm_tag}-warm-{thread}"),
                        "hello".into(),
                    ))
                });
                errors += futures_util::future::join_all(calls)
                    .await
                    .iter()
                    .filter(|r| r.is_err())
                    .count() as u64;
            }
            errors
        })
        .await?;
    println!(
        "warm-up: {chat_count} chats created in {:.1} s ({warm_errors} errors); server on {addr}",
        started.elapsed().as_secs_f64()
    );

    let (stop, stopped) = watch::channel(false);
    let mut clients = Vec::new();
    let mut ready = Vec::new();
    for (org, tenant) in tenants.iter().enumerate() {
        for _ in 0..subscribers {
            let stats = Arc::new(Mutex::new(ClientStats {
                latency: latency_histogram(),
                from_commit: latency_histogram(),
                received: 0,
                ended: None,
            }));
            let (tell, told) = oneshot::channel();
            load.spawn(subscriber(
                format!("ws://{addr}/ws/inbox"),
                tenant.key.clone(),
                stats.clone(),
                base,
                commits.clone(),
                stopped.clone(),
                tell,
            ));
            clients.push(Client { org, stats });
            ready.push(told);
        }
    }
    for told in ready {
        match told.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => anyhow::bail!("a subscriber could not connect: {e}"),
            Err(_) => anyhow::bail!("a subscriber task ended before subscribing"),
        }
    }
    println!(
        "{} subscribers connected and subscribed ({} organisations x {subscribers})",
        clients.len(),
        orgs
    );

    for &rate in &rates {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let ok_per_org: Arc<Vec<AtomicU64>> =
            Arc::new((0..orgs).map(|_| AtomicU64::new(0)).collect());
        let acks = Arc::new(Mutex::new(latency_histogram()));
        let errors: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
        let (gen_chats, gen_ingestor) = (chats.clone(), ingestor.clone());
        let (gen_ok, gen_acks, gen_errors) = (ok_per_org.clone(), acks.clone(), errors.clone());
        let gen_tag = format!("{tag}-{rate}");
        let sending = load
            .spawn(async move {
                common::open_loop(rate, secs, |n| {
                    let (org, channel, thread) = gen_chats[(n as usize) % gen_chats.len()].clone();
                    let ingestor = gen_ingestor.clone();
                    let (ok, acks, errors) = (gen_ok.clone(), gen_acks.clone(), gen_errors.clone());
                    let id = format!("{gen_tag}-{n}");
                    async move {
                        let called = Instant::now();
                        let at = called.duration_since(base).as_nanos();
                        let text = format!("bench-t={at} hello, is the enterprise plan per seat?");
                        let result = ingestor
                            .ingest(common::inbound(channel, &thread, id, text))
                            .await;
                        match result {
                            Ok(_) => {
                                ok[org].fetch_add(1, Ordering::Relaxed);
                                if let Ok(mut acks) = acks.lock() {
                                    record(&mut acks, called.elapsed());
                                }
                            }
                            Err(e) => {
                                if let Ok(mut errors) = errors.lock() {
                                    *errors.entry(error_kind(&e).to_owned()).or_default() += 1;
                                }
                            }
                        }
                    }
                })
                .await
            })
            .await?;

        // Wait for the stragglers: every live subscriber should see every committed message.
        let expected = |clients: &[Client]| -> (u64, u64) {
            let mut want = 0;
            let mut got = 0;
            for client in clients {
                if let Ok(stats) = client.stats.lock() {
                    got += stats.received;
                    if stats.ended.is_none() {
                        want += ok_per_org[client.org].load(Ordering::Relaxed);
                    }
                }
            }
            (want, got)
        };
        let waited = Instant::now();
        while waited.elapsed() < Duration::from_secs(10) {
            let (want, got) = expected(&clients);
            if got >= want {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (want, got) = expected(&clients);
        let mut merged = latency_histogram();
        let mut merged_from_commit = latency_histogram();
        let mut ended = Vec::new();
        for client in &clients {
            if let Ok(mut stats) = client.stats.lock() {
                let _ = merged.add(&stats.latency);
                let _ = merged_from_commit.add(&stats.from_commit);
                stats.latency.reset();
                stats.from_commit.reset();
                stats.received = 0;
                if let Some(reason) = &stats.ended {
                    ended.push(reason.clone());
                }
            }
        }
        let ok: u64 = ok_per_org.iter().map(|c| c.load(Ordering::Relaxed)).sum();
        println!(
            "--- run: offered {rate} msg/s for {secs} s over {chat_count} chats in {orgs} organisations (loadavg after: {}) ---",
            common::loadavg()
        );
        println!(
            "  sent {} in {:.2} s (generator lag max {:.1} ms); committed {ok}; errors {:?}",
            sending.sent,
            sending.send_window.as_secs_f64(),
            sending.max_lag.as_secs_f64() * 1000.0,
            errors.lock().map(|e| e.clone()).unwrap_or_default()
        );
        if let Ok(acks) = acks.lock() {
            println!("  ingest ack latency: {}", latency_line(&acks));
        }
        println!(
            "  deliveries: {got} of {want} expected ({} subscribers x their organisation's messages); {} subscribers closed so far{}",
            clients.len(),
            ended.len(),
            ended
                .first()
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default()
        );
        println!(
            "  end-to-end latency (ingest call -> frame read): {}",
            latency_line(&merged)
        );
        println!(
            "  fan-out part (commit seen by the listener -> frame read): {}",
            latency_line(&merged_from_commit)
        );
        if let Ok(mut commits) = commits.lock() {
            commits.clear();
        }
    }

    let _ = stop.send(true);
    tokio::time::sleep(Duration::from_millis(300)).await;
    println!("server metrics after the runs:");
    for line in ctx.metrics().render().lines() {
        let wanted = [
            "ingest_batch_size",
            "ingest_batch_duration_seconds_sum",
            "ingest_batch_duration_seconds_count",
            "inbox_slow_consumers_total",
            "inbox_events_held_total",
            "inbox_event_gaps_total",
            "inbox_gap_catch_ups_total",
        ];
        if !line.starts_with('#') && wanted.iter().any(|w| line.starts_with(w)) {
            println!("  {line}");
        }
    }
    Ok(())
}

fn error_kind(error: &IngestError) -> &'static str {
    match error {
        IngestError::UnknownChannel => "unknown_channel",
        IngestError::InactiveChannel => "inactive_channel",
        IngestError::Invalid(_) => "invalid",
        IngestError::Saturated => "saturated",
        IngestError::Database(_) => "database",
        IngestError::Stopped => "stopped",
    }
}

/// When each stamped message was committed (ns since `base`), by its stamp.
type Commits = Arc<Mutex<std::collections::HashMap<u64, u64>>>;

/// The inbox publisher, noting first when the listener heard of each commit.
struct CommitClock {
    publisher: EventPublisher,
    base: Instant,
    commits: Commits,
}

impl IngestListener for CommitClock {
    fn committed(&self, outcome: &IngestOutcome) {
        if let Some(sent) = body_stamp(&outcome.message.body) {
            let now = self.base.elapsed().as_nanos() as u64;
            if let Ok(mut commits) = self.commits.lock() {
                commits.insert(sent, now);
            }
        }
        self.publisher.committed(outcome);
    }
}

/// The `bench-t=<ns>` stamp of a `message.created` frame.
fn stamp(text: &str) -> Option<u64> {
    if !text.contains("\"message.created\"") {
        return None;
    }
    body_stamp(text)
}

/// The first `bench-t=<ns>` in a text.
fn body_stamp(text: &str) -> Option<u64> {
    let start = text.find("bench-t=")? + "bench-t=".len();
    let digits: &str = &text[start..];
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect_and_subscribe(url: &str, key: &str) -> Result<Socket, String> {
    let mut request = url.into_client_request().map_err(|e| e.to_string())?;
    let bearer = format!("Bearer {key}")
        .parse()
        .map_err(|e| format!("{e}"))?;
    request.headers_mut().insert("authorization", bearer);
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .map_err(|e| e.to_string())?;
    let mut subscribed = false;
    while let Some(frame) = tokio::time::timeout(Duration::from_secs(10), socket.next())
        .await
        .map_err(|_| "no frame within 10 s".to_owned())?
    {
        match frame.map_err(|e| e.to_string())? {
            Frame::Text(text) if text.contains("\"hello\"") => {
                socket
                    .send(Frame::Text(r#"{"type":"subscribe","id":"s1"}"#.into()))
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Frame::Text(text) if text.contains("\"ack\"") => {
                subscribed = true;
                break;
            }
            Frame::Text(text) => return Err(format!("unexpected frame {text}")),
            _ => {}
        }
    }
    if subscribed {
        Ok(socket)
    } else {
        Err("closed before the subscribe ack".into())
    }
}

async fn subscriber(
    url: String,
    key: String,
    stats: Arc<Mutex<ClientStats>>,
    base: Instant,
    commits: Commits,
    mut stop: watch::Receiver<bool>,
    ready: oneshot::Sender<Result<(), String>>,
) {
    let mut socket = match connect_and_subscribe(&url, &key).await {
        Ok(socket) => socket,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let _ = ready.send(Ok(()));
    let ended = loop {
        tokio::select! {
            _ = stop.changed() => break None,
            frame = socket.next() => match frame {
                Some(Ok(Frame::Text(text))) => {
                    if let Some(sent) = stamp(&text) {
                        let now = base.elapsed().as_nanos() as u64;
                        let committed = commits.lock().ok().and_then(|c| c.get(&sent).copied());
                        if let Ok(mut stats) = stats.lock() {
                            if let Some(committed) = committed {
                                record(&mut stats.from_commit, Duration::from_nanos(now.saturating_sub(committed)));
                            }
                            record(&mut stats.latency, Duration::from_nanos(now.saturating_sub(sent)));
                            stats.received += 1;
                        }
                    }
                }
                Some(Ok(Frame::Close(frame))) => break Some(format!("closed by the server: {frame:?}")),
                Some(Ok(_)) => {}
                Some(Err(e)) => break Some(format!("error: {e}")),
                None => break Some("stream ended".into()),
            }
        }
    };
    if let Ok(mut stats) = stats.lock() {
        stats.ended = ended;
    }
    let _ = socket.close(None).await;
}
