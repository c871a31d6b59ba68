//! The multi-node mode (`IDLE_NODES` > 1): N `switchboard serve` nodes sharing one PostgreSQL
//! and Redis, as a multi-node deployment runs, and the connections spread over them by client
//! child processes (this binary again, `IDLE_ROLE=client`), so that no process, server or
//! client, needs more descriptors than the per-process limit. After connecting, a liveness
//! signal is published through Redis (as any node would) and every client counts its
//! connections that received it and pings a sample; the same again after the hold.

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, watch};

use switchboard::inbox::{EventPublisher, InboxHub};

use super::client::ROLE;
use super::control::{ClientProcess, check, collect, field, number};
use super::limits::{FD_SLACK, PortRange, Sources, nr_open, raise_fd_limit};
use super::proc_status::ProcStatus;
use super::server::{NodeOptions, ServerNode, die_with_parent};
use super::ws::{Tally, connect, hold};
use crate::common::{self, Services, param};

/// Runs the whole multi-node measurement.
pub async fn run(nodes: usize) -> anyhow::Result<()> {
    let wanted: u64 = param("IDLE_CONNECTIONS", 10_000);
    let concurrency: usize = param("IDLE_CONNECT_CONCURRENCY", 128).max(1);
    let subscribe = param("IDLE_SUBSCRIBE", 1u8) != 0;
    let hold_secs: u64 = param("IDLE_HOLD_SECS", 50);
    let workers: usize = param("IDLE_WORKERS", 0);
    let pool_size: usize = param("IDLE_POOL_SIZE", 4).max(1);
    let probes: u64 = param("IDLE_PROBES", 100);
    let port_range = std::env::var("IDLE_PORT_RANGE").unwrap_or_else(|_| "16384 65000".into());
    let server_env = std::env::var("IDLE_SERVER_ENV").unwrap_or_default();
    common::print_header(
        "idle_connections",
        "Server RSS per idle inbox WebSocket connection, several `switchboard serve` nodes sharing one PostgreSQL and Redis; the load generator split into client processes.",
        &[
            ("IDLE_NODES", nodes.to_string()),
            ("IDLE_CONNECTIONS", wanted.to_string()),
            (
                "IDLE_CONNECT_CONCURRENCY",
                format!("{concurrency} per client process"),
            ),
            ("IDLE_SUBSCRIBE", u8::from(subscribe).to_string()),
            ("IDLE_HOLD_SECS", hold_secs.to_string()),
            ("IDLE_WORKERS", format!("{workers} (0 = one per core)")),
            (
                "IDLE_POOL_SIZE",
                format!("{pool_size} PostgreSQL connections per node"),
            ),
            (
                "IDLE_PROBES",
                format!("{probes} pinged connections per client process"),
            ),
            ("IDLE_PORT_RANGE", port_range.clone()),
            (
                "IDLE_CLIENT_CONNECTIONS",
                std::env::var("IDLE_CLIENT_CONNECTIONS")
                    .unwrap_or_else(|_| "(default: fd limit less slack)".into()),
            ),
            ("IDLE_SERVER_ENV", server_env.clone()),
        ],
    );

    // Every node and client inherits this process's limit; ask for what one node needs.
    let per_node_wanted = wanted.div_ceil(nodes as u64);
    let limits = raise_fd_limit(per_node_wanted + FD_SLACK);
    println!("{}; fs.nr_open {}", limits.note, nr_open());
    let budget = limits.soft.saturating_sub(FD_SLACK).max(1);
    let mut k = wanted;
    if per_node_wanted > budget {
        k = budget * nodes as u64;
        println!(
            "NOTE: opening {k} connections instead of {wanted}: each node may hold only {} descriptors; use more IDLE_NODES",
            limits.soft
        );
    }
    let per_client = param("IDLE_CLIENT_CONNECTIONS", budget).clamp(1, budget);
    let client_count = k.div_ceil(per_client).max(1);
    let ports = PortRange::widen(Some(port_range.as_str()));
    println!("{}", ports.note);
    let (sources, sources_note) = Sources::plan(k, ports.ports, true);
    println!("{sources_note}");

    let services = Services::from_env()?;
    services.migrate().await?;
    let config = services.config();
    let tenant = {
        let pool = switchboard::db::build_pool(&config.database)?;
        let mut conn = pool.get().await?;
        println!("postgres: {}", common::postgres_settings(&mut conn).await);
        common::create_tenant(&mut conn, "bench-idle-nodes").await?
    };

    let server_bin = std::env::var("IDLE_SERVER_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_switchboard").to_owned());
    let secret = common::random_secret();
    let mut servers = Vec::with_capacity(nodes);
    for i in 0..nodes {
        let node = ServerNode::start(&NodeOptions {
            bin: &server_bin,
            database_url: &services.database_url,
            redis_url: &services.redis_url,
            key_prefix: &config.redis.key_prefix,
            jwt_secret: &secret,
            workers,
            pool_size: Some(pool_size),
            extra_env: &server_env,
            log: std::env::temp_dir().join(format!("switchboard-idle-bench-node{i}.log")),
        })
        .await?;
        println!(
            "node {i}: pid {} on {} (`{server_bin} serve`, log {})",
            node.pid,
            node.addr,
            node.log.display()
        );
        servers.push(node);
    }
    let targets: Vec<SocketAddr> = servers.iter().map(|s| s.addr).collect();

    // Baseline: each node after start-up, warmed by one connection (pool, Redis, first session).
    let (stop, stopped) = watch::channel(false);
    let warm_tally = Arc::new(Tally::default());
    for addr in &targets {
        let warm = connect(
            &format!("ws://{addr}/ws/inbox"),
            &tenant.key,
            *addr,
            None,
            subscribe,
        )
        .await
        .map_err(|e| anyhow::anyhow!("the first connection to {addr} failed: {e}"))?;
        tokio::spawn(hold(warm, stopped.clone(), warm_tally.clone(), None));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before: Vec<ProcStatus> = servers.iter().map(|s| ProcStatus::read(s.pid)).collect();
    for (i, status) in before.iter().enumerate() {
        println!("node {i} before: {}", status.line());
    }

    let marker = format!("liveness-{}", uuid::Uuid::now_v7().simple());
    let exe = std::env::current_exe()?;
    let target_list: Vec<String> = targets.iter().map(SocketAddr::to_string).collect();
    let (lines_tx, mut lines_rx) = mpsc::unbounded_channel::<(usize, String)>();
    let mut clients = Vec::with_capacity(client_count as usize);
    let started = Instant::now();
    let mut first = 0u64;
    for c in 0..client_count {
        let count = (k - first).min(k.div_ceil(client_count));
        let mut command = tokio::process::Command::new(&exe);
        command
            .arg("--bench")
            .env(ROLE, "client")
            .env("IDLE_CLIENT_TARGETS", target_list.join(","))
            .env("IDLE_CLIENT_FIRST", first.to_string())
            .env("IDLE_CLIENT_COUNT", count.to_string())
            .env("IDLE_CLIENT_ADDRESSES", sources.addresses.to_string())
            .env("IDLE_CLIENT_PER_ADDRESS", sources.per_address.to_string())
            .env("IDLE_CLIENT_KEY", &tenant.key)
            .env("IDLE_CLIENT_MARKER", &marker)
            .env("IDLE_CONNECT_CONCURRENCY", concurrency.to_string())
            .env("IDLE_SUBSCRIBE", u8::from(subscribe).to_string())
            .env("IDLE_PROBES", probes.to_string());
        die_with_parent(&mut command);
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let pid = child
            .id()
            .ok_or_else(|| anyhow::anyhow!("client {c} exited at once"))?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdin"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
        let tx = lines_tx.clone();
        let index = c as usize;
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if tx.send((index, line)).is_err() {
                    break;
                }
            }
            let _ = tx.send((index, "EXITED".into()));
        });
        clients.push(ClientProcess {
            child,
            pid,
            stdin,
            count,
        });
        first += count;
    }
    drop(lines_tx);
    println!(
        "clients: {client_count} processes (`{} --bench` with {ROLE}=client), {} connections each at most, connection i to node i mod {nodes}",
        exe.display(),
        k.div_ceil(client_count)
    );

    // Wait for every client's READY (or its exit).
    let mut starts = vec![0u64; clients.len()];
    let ready = collect(
        &mut lines_rx,
        &mut starts,
        "READY",
        Duration::from_secs(900),
    )
    .await;
    let took = started.elapsed();
    let mut per_node = vec![0u64; nodes];
    let mut connected = 0u64;
    for (c, line) in ready.iter().enumerate() {
        println!(
            "client {c} (pid {}, {} connections): {line}",
            clients[c].pid, clients[c].count
        );
        connected += number(line, "opened");
        if let Some(counts) = field(line, "per_node") {
            for (n, v) in counts.split('/').enumerate() {
                if let (Some(slot), Ok(v)) = (per_node.get_mut(n), v.parse::<u64>()) {
                    *slot += v;
                }
            }
        }
    }
    println!(
        "opened {connected} of {k} connections over {nodes} nodes in {:.1} s ({:.0}/s, client processes started to last READY)",
        took.as_secs_f64(),
        connected as f64 / took.as_secs_f64().max(0.001)
    );

    tokio::time::sleep(Duration::from_secs(5)).await;
    let settled: Vec<ProcStatus> = servers.iter().map(|s| ProcStatus::read(s.pid)).collect();
    for (i, status) in settled.iter().enumerate() {
        println!("node {i} 5 s after the last connect: {}", status.line());
    }

    let redis =
        redis::aio::ConnectionManager::new(redis::Client::open(services.redis_url.as_str())?)
            .await?;
    let publisher = EventPublisher::new(redis, config.redis.key_prefix.clone(), InboxHub::new());
    let liveness = check(&publisher, &tenant, &marker, 1, &mut clients, &mut lines_rx).await;

    tokio::time::sleep(Duration::from_secs(hold_secs)).await;
    let held: Vec<ProcStatus> = servers.iter().map(|s| ProcStatus::read(s.pid)).collect();
    for (i, status) in held.iter().enumerate() {
        println!(
            "node {i} after holding {hold_secs} s more (server pings every 15 s, drops clients silent for 45 s): {}",
            status.line()
        );
    }
    let after_hold = check(&publisher, &tenant, &marker, 2, &mut clients, &mut lines_rx).await;

    for (i, node) in servers.iter().enumerate() {
        let n = per_node[i].max(1) as f64;
        println!(
            "RESULT node {i} (pid {}): {} connections; VmRSS {} -> {} KiB (+{}) = {:.2} KiB per connection after holding (RssAnon {:.2}); fds +{}",
            node.pid,
            per_node[i],
            before[i].rss_kib,
            held[i].rss_kib,
            held[i].rss_kib.saturating_sub(before[i].rss_kib),
            held[i].rss_kib.saturating_sub(before[i].rss_kib) as f64 / n,
            held[i].anon_kib.saturating_sub(before[i].anon_kib) as f64 / n,
            held[i].fds.saturating_sub(before[i].fds)
        );
    }
    for (label, after) in [("5 s after connecting", &settled), ("after holding", &held)] {
        let grown: u64 = after
            .iter()
            .zip(&before)
            .map(|(a, b)| a.rss_kib.saturating_sub(b.rss_kib))
            .sum();
        let anon: u64 = after
            .iter()
            .zip(&before)
            .map(|(a, b)| a.anon_kib.saturating_sub(b.anon_kib))
            .sum();
        let total: u64 = after.iter().map(|a| a.rss_kib).sum();
        println!(
            "RESULT {label}: {nodes} nodes VmRSS +{grown} KiB (total {total} KiB) for {connected} connections = {:.2} KiB per connection (RssAnon {:.2} KiB each)",
            grown as f64 / connected.max(1) as f64,
            anon as f64 / connected.max(1) as f64
        );
    }
    let client_rss: u64 = clients
        .iter()
        .map(|c| ProcStatus::read(c.pid).rss_kib)
        .sum();
    let start_rss: u64 = starts.iter().sum();
    println!(
        "RESULT clients: {} processes VmRSS {client_rss} KiB in total ({start_rss} KiB at their start) = {:.2} KiB per connection above start-up",
        clients.len(),
        client_rss.saturating_sub(start_rss) as f64 / connected.max(1) as f64,
    );
    println!("RESULT liveness after connecting: {liveness}");
    println!("RESULT liveness after holding: {after_hold}");

    // Clean up: clients first (they close their sockets), then the nodes.
    for client in &mut clients {
        let _ = client.stdin.write_all(b"STOP\n").await;
    }
    for (c, mut client) in clients.into_iter().enumerate() {
        match tokio::time::timeout(Duration::from_secs(20), client.child.wait()).await {
            Ok(Ok(status)) if status.success() => {}
            Ok(Ok(status)) => println!("client {c} ended: {status:?}"),
            _ => {
                let _ = client.child.kill().await;
                println!("client {c} did not stop within 20 s; killed");
            }
        }
    }
    let _ = stop.send(true);
    for (i, node) in servers.into_iter().enumerate() {
        println!("node {i} {}", node.stop().await);
    }
    drop(ports);
    Ok(())
}
