//! Memory per idle inbox connection: starts `switchboard serve` as a child process, opens K
//! authenticated `/ws/inbox` connections that say hello, subscribe, and then only answer the
//! server's pings, and reads the child's resident memory (`VmRSS` in /proc/<pid>/status)
//! before and after. The difference divided by K is the server's user-space cost of one idle
//! connection (kernel socket buffers are not in RSS).
//!
//! It raises its own open-file limit (the child inherits it); past one source address's share of
//! the ephemeral port range it binds client sockets to further loopback addresses (127.0.0.2,
//! 127.0.0.3, ...). The output says what it did, and if it had to open fewer than asked, why.
//!
//! Multi-node mode, `IDLE_NODES=N` (N > 1): N server nodes sharing the database and Redis, the
//! connections spread over them (connection i to node i mod N) by client child processes (this
//! binary again with `IDLE_ROLE=client`), so no process needs more descriptors than the
//! per-process limit; a liveness signal published through Redis must reach every connection,
//! and a sample of them is pinged, after connecting and after the hold. See `idle/cluster.rs`.
//!
//! Run: `eval "$(deploy/dev/env switchboard_bench)" && cargo bench --bench idle_connections`.
//! Parameters (environment): `IDLE_CONNECTIONS` (K, default 10000), `IDLE_CONNECT_CONCURRENCY`,
//! `IDLE_SUBSCRIBE` (1/0), `IDLE_HOLD_SECS`, `IDLE_WORKERS` (server HTTP workers, 0 = one per
//! core), `IDLE_PORTS_PER_ADDRESS` (connections per source address; default: the ephemeral port
//! range less a margin), `IDLE_SERVER_ENV` (space-separated `KEY=VALUE` pairs set on the server
//! child only, e.g. a heap profiler's `LD_PRELOAD` and output file, or `MALLOC_ARENA_MAX`; the pid
//! stays the server's own), `IDLE_SERVER_BIN` (the server binary; default: the one built with
//! this bench), `IDLE_PORT_RANGE` ("low high": widen `net.ipv4.ip_local_port_range` for the run
//! and restore it after; the multi-node mode defaults to "16384 65000"). Multi-node only:
//! `IDLE_NODES`, `IDLE_POOL_SIZE` (PostgreSQL connections per node, default 4),
//! `IDLE_CLIENT_CONNECTIONS` (per client process; default the fd limit less slack),
//! `IDLE_PROBES` (connections pinged per client process per round, default 100).

mod common;
mod idle;

use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::watch;

use common::{Services, param};
use idle::limits::{FD_SLACK, PortRange, Sources, raise_fd_limit};
use idle::proc_status::ProcStatus;
use idle::server::{NodeOptions, ServerNode};
use idle::ws::{Tally, connect, hold};

fn main() -> anyhow::Result<()> {
    if idle::client::is_client() {
        return idle::client::run();
    }
    if !common::should_run() {
        return Ok(());
    }
    let nodes: usize = param("IDLE_NODES", 1).max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if nodes > 1 {
        runtime.block_on(idle::cluster::run(nodes))
    } else {
        runtime.block_on(run())
    }
}

/// The single-node mode: one server child, the connections held by this process.
async fn run() -> anyhow::Result<()> {
    let wanted: u64 = param("IDLE_CONNECTIONS", 10_000);
    let concurrency: usize = param("IDLE_CONNECT_CONCURRENCY", 128).max(1);
    let subscribe = param("IDLE_SUBSCRIBE", 1u8) != 0;
    let hold_secs: u64 = param("IDLE_HOLD_SECS", 20);
    let workers: usize = param("IDLE_WORKERS", 0);
    let server_env = std::env::var("IDLE_SERVER_ENV").unwrap_or_default();
    let port_range = std::env::var("IDLE_PORT_RANGE").ok();
    common::print_header(
        "idle_connections",
        "Server RSS per idle inbox WebSocket connection (child `switchboard serve`, /proc/<pid>/status VmRSS).",
        &[
            ("IDLE_CONNECTIONS", wanted.to_string()),
            ("IDLE_CONNECT_CONCURRENCY", concurrency.to_string()),
            ("IDLE_SUBSCRIBE", u8::from(subscribe).to_string()),
            ("IDLE_HOLD_SECS", hold_secs.to_string()),
            ("IDLE_WORKERS", format!("{workers} (0 = one per core)")),
            (
                "IDLE_PORTS_PER_ADDRESS",
                std::env::var("IDLE_PORTS_PER_ADDRESS").unwrap_or_else(|_| "(default)".into()),
            ),
            ("IDLE_SERVER_ENV", server_env.clone()),
        ],
    );

    let limits = raise_fd_limit(wanted + FD_SLACK);
    println!("{}", limits.note);
    let mut k = wanted;
    if limits.soft < wanted + FD_SLACK {
        k = limits.soft.saturating_sub(FD_SLACK);
        println!(
            "NOTE: opening {k} connections instead of {wanted}: each process (this one and the server) may hold only {} descriptors; IDLE_NODES spreads them over several",
            limits.soft
        );
    }
    let ports = PortRange::widen(port_range.as_deref());
    println!("{}", ports.note);
    let (sources, sources_note) = Sources::plan(k, ports.ports, false);
    println!("{sources_note}");

    let services = Services::from_env()?;
    services.migrate().await?;
    let config = services.config();
    let tenant = {
        let pool = switchboard::db::build_pool(&config.database)?;
        let mut conn = pool.get().await?;
        println!("postgres: {}", common::postgres_settings(&mut conn).await);
        common::create_tenant(&mut conn, "bench-idle").await?
    };

    let server_bin = std::env::var("IDLE_SERVER_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_switchboard").to_owned());
    let secret = common::random_secret();
    let node = ServerNode::start(&NodeOptions {
        bin: &server_bin,
        database_url: &services.database_url,
        redis_url: &services.redis_url,
        key_prefix: &config.redis.key_prefix,
        jwt_secret: &secret,
        workers,
        pool_size: None,
        extra_env: &server_env,
        log: std::env::temp_dir().join("switchboard-idle-bench-server.log"),
    })
    .await?;
    let (pid, server) = (node.pid, node.addr);
    println!(
        "server: pid {pid} on {server} (`{server_bin} serve`, log {})",
        node.log.display()
    );

    let url = format!("ws://{server}/ws/inbox");
    let (stop, stopped) = watch::channel(false);
    let tally = Arc::new(Tally::default());

    // Baseline: the server after start-up, warmed by one connection (pool, Redis, first session).
    let warm = connect(&url, &tenant.key, server, None, subscribe)
        .await
        .map_err(|e| anyhow::anyhow!("the first connection failed: {e}"))?;
    tokio::spawn(hold(warm, stopped.clone(), tally.clone(), None));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = ProcStatus::read(pid);
    println!("server before: {}", before.line());

    let started = Instant::now();
    let mut failures: BTreeMap<String, u64> = BTreeMap::new();
    let mut connected = 0u64;
    futures_util::stream::iter(0..k)
        .map(|i| {
            let source = sources.for_index(i);
            let (url, key) = (url.clone(), tenant.key.clone());
            async move { connect(&url, &key, server, source, subscribe).await }
        })
        .buffer_unordered(concurrency)
        .for_each(|result| {
            match result {
                Ok(socket) => {
                    connected += 1;
                    tokio::spawn(hold(socket, stopped.clone(), tally.clone(), None));
                }
                Err(e) => *failures.entry(e).or_default() += 1,
            }
            async {}
        })
        .await;
    let took = started.elapsed();
    println!(
        "opened {connected} of {k} connections in {:.1} s ({:.0}/s); failures {failures:?}",
        took.as_secs_f64(),
        connected as f64 / took.as_secs_f64().max(0.001),
    );

    tokio::time::sleep(Duration::from_secs(5)).await;
    let settled = ProcStatus::read(pid);
    println!("server 5 s after the last connect: {}", settled.line());
    tokio::time::sleep(Duration::from_secs(hold_secs)).await;
    let held = ProcStatus::read(pid);
    let still_open = tally.open.load(Ordering::Relaxed).saturating_sub(1);
    println!(
        "server after holding {hold_secs} s more (server pings every 15 s): {}",
        held.line()
    );
    println!(
        "still open: {still_open}; ended: {:?}",
        tally.ended.lock().map(|e| e.clone()).unwrap_or_default()
    );
    let me = ProcStatus::read(std::process::id());
    println!("this client process: {}", me.line());
    for (label, after) in [("5 s after connecting", &settled), ("after holding", &held)] {
        let per = |a: u64, b: u64| (a.saturating_sub(b)) as f64 / connected.max(1) as f64;
        println!(
            "RESULT {label}: server VmRSS +{} KiB for {connected} connections = {:.2} KiB per connection (RssAnon {:.2} KiB each); fds +{}",
            after.rss_kib.saturating_sub(before.rss_kib),
            per(after.rss_kib, before.rss_kib),
            per(after.anon_kib, before.anon_kib),
            after.fds.saturating_sub(before.fds)
        );
    }

    let _ = stop.send(true);
    println!("server {}", node.stop().await);
    drop(ports);
    Ok(())
}
