//! The load generator's child process (`IDLE_ROLE=client`): the multi-node mode re-runs this
//! bench binary once per share of the connections, so no process holds more descriptors than
//! its limit allows. It opens its share, says `READY`, then obeys one command per stdin line:
//! `CHECK <round>` (wait for the round's liveness signal on every connection, ping the probes,
//! answer `CHECKED ...`) and `STOP` (or end of input: close everything and exit).

use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::watch;

use super::limits::{FD_SLACK, Sources, raise_fd_limit};
use super::proc_status::ProcStatus;
use super::ws::{ROUNDS, Tally, connect, hold};
use crate::common::param;

/// The environment variable that makes the bench binary a client.
pub const ROLE: &str = "IDLE_ROLE";

/// Whether this process was started as a client of the multi-node mode.
pub fn is_client() -> bool {
    std::env::var(ROLE).is_ok_and(|r| r == "client")
}

/// Runs the client role on one thread (several client processes give the parallelism).
pub fn run() -> anyhow::Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(role())
}

fn env(name: &str) -> anyhow::Result<String> {
    std::env::var(name).map_err(|_| anyhow::anyhow!("{name} is not set (set by the coordinator)"))
}

async fn role() -> anyhow::Result<()> {
    let targets: Vec<SocketAddr> = env("IDLE_CLIENT_TARGETS")?
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    anyhow::ensure!(!targets.is_empty(), "no targets");
    let first: u64 = param("IDLE_CLIENT_FIRST", 0);
    let count: u64 = param("IDLE_CLIENT_COUNT", 0);
    let sources = Sources {
        addresses: param("IDLE_CLIENT_ADDRESSES", 0),
        per_address: param("IDLE_CLIENT_PER_ADDRESS", 1),
    };
    let key = env("IDLE_CLIENT_KEY")?;
    let concurrency: usize = param("IDLE_CONNECT_CONCURRENCY", 128).max(1);
    let subscribe = param("IDLE_SUBSCRIBE", 1u8) != 0;
    let probes: u64 = param("IDLE_PROBES", 100);
    let limits = raise_fd_limit(count + FD_SLACK);
    let me = std::process::id();
    println!(
        "START pid={me} rss_kib={} ({})",
        ProcStatus::read(me).rss_kib,
        limits.note
    );

    let tally = Arc::new(Tally {
        marker: std::env::var("IDLE_CLIENT_MARKER").unwrap_or_default(),
        ..Tally::default()
    });
    let (stop, stopped) = watch::channel(false);
    let (probe, probe_rx) = watch::channel(0u8);
    let step = (count / probes.max(1)).max(1);
    let mut probes_made = 0u64;
    let mut per_node = vec![0u64; targets.len()];
    let failures: Mutex<BTreeMap<String, u64>> = Mutex::default();
    let started = Instant::now();
    futures_util::stream::iter(first..first + count)
        .map(|i| {
            let node = (i % targets.len() as u64) as usize;
            let server = targets[node];
            let source = sources.for_index(i);
            let key = key.clone();
            async move {
                let url = format!("ws://{server}/ws/inbox");
                (node, connect(&url, &key, server, source, subscribe).await)
            }
        })
        .buffer_unordered(concurrency)
        .for_each(|(node, result)| {
            match result {
                Ok(socket) => {
                    let connected: u64 = per_node.iter().sum();
                    per_node[node] += 1;
                    let is_probe = probes_made < probes && connected.is_multiple_of(step);
                    probes_made += u64::from(is_probe);
                    let rx = is_probe.then(|| probe_rx.clone());
                    tokio::spawn(hold(socket, stopped.clone(), tally.clone(), rx));
                }
                Err(e) => {
                    if let Ok(mut failures) = failures.lock() {
                        *failures.entry(e).or_default() += 1;
                    }
                }
            }
            async {}
        })
        .await;
    let opened: u64 = per_node.iter().sum();
    let per_node_text: Vec<String> = per_node.iter().map(u64::to_string).collect();
    println!(
        "READY opened={opened} of={count} secs={:.2} per_node={} failures={:?}",
        started.elapsed().as_secs_f64(),
        per_node_text.join("/"),
        failures.lock().map(|f| f.clone()).unwrap_or_default()
    );

    let mut commands = BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = commands.next_line().await {
        let mut words = line.split_whitespace();
        match (
            words.next(),
            words.next().and_then(|r| r.parse::<u8>().ok()),
        ) {
            (Some("CHECK"), Some(round @ 1..)) if usize::from(round) <= ROUNDS => {
                let r = usize::from(round) - 1;
                let waited = Instant::now();
                let deadline = waited + Duration::from_secs(60);
                while subscribe
                    && tally.marked[r].load(Ordering::Relaxed) < tally.open.load(Ordering::Relaxed)
                    && Instant::now() < deadline
                {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                let signal_secs = waited.elapsed().as_secs_f64();
                let _ = probe.send(round);
                let deadline = Instant::now() + Duration::from_secs(30);
                while tally.ponged[r].load(Ordering::Relaxed) < probes_made
                    && Instant::now() < deadline
                {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                let status = ProcStatus::read(me);
                println!(
                    "CHECKED round={round} open={} marked={} signal_wait_secs={signal_secs:.2} probes={probes_made} ponged={} rss_kib={} anon_kib={} fds={} ended={:?}",
                    tally.open.load(Ordering::Relaxed),
                    tally.marked[r].load(Ordering::Relaxed),
                    tally.ponged[r].load(Ordering::Relaxed),
                    status.rss_kib,
                    status.anon_kib,
                    status.fds,
                    tally.ended.lock().map(|e| e.clone()).unwrap_or_default()
                );
            }
            (Some("STOP"), _) => break,
            _ => println!("UNKNOWN {line}"),
        }
    }
    let _ = stop.send(true);
    tokio::time::sleep(Duration::from_millis(500)).await;
    println!("STOPPED");
    Ok(())
}
