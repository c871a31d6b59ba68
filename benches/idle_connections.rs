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
//! Run: `eval "$(deploy/dev/env switchboard_bench)" && cargo bench --bench idle_connections`.
//! Parameters (environment): `IDLE_CONNECTIONS` (K, default 10000; 100000 where the fd limit
//! allows), `IDLE_CONNECT_CONCURRENCY`, `IDLE_SUBSCRIBE` (1/0), `IDLE_HOLD_SECS`,
//! `IDLE_WORKERS` (server HTTP workers, 0 = one per core), `IDLE_PORTS_PER_ADDRESS` (connections
//! per source address; default: the ephemeral port range less a margin), `IDLE_SERVER_ENV`
//! (space-separated `KEY=VALUE` pairs set on the server child only, e.g. a heap profiler's
//! `LD_PRELOAD` and output file, or `MALLOC_ARENA_MAX`; the pid stays the server's own),
//! `IDLE_SERVER_BIN` (the server binary; default: the one built with this bench).

mod common;

use futures_util::{SinkExt, StreamExt};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use common::{Services, param};

/// File descriptors kept free for everything that is not a benchmark connection.
const FD_SLACK: u64 = 1024;
/// Ephemeral ports left free on each source address for other traffic.
const PORT_MARGIN: u64 = 3000;

fn main() -> anyhow::Result<()> {
    if !common::should_run() {
        return Ok(());
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let wanted: u64 = param("IDLE_CONNECTIONS", 10_000);
    let concurrency: usize = param("IDLE_CONNECT_CONCURRENCY", 128).max(1);
    let subscribe = param("IDLE_SUBSCRIBE", 1u8) != 0;
    let hold_secs: u64 = param("IDLE_HOLD_SECS", 20);
    let workers: usize = param("IDLE_WORKERS", 0);
    let server_env = std::env::var("IDLE_SERVER_ENV").unwrap_or_default();
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
            "NOTE: opening {k} connections instead of {wanted}: each process (this one and the server) may hold only {} descriptors",
            limits.soft
        );
    }
    let sources = source_addresses(k);
    println!("{}", sources.note);

    let services = Services::from_env()?;
    services.migrate().await?;
    let config = services.config();
    let tenant = {
        let pool = switchboard::db::build_pool(&config.database)?;
        let mut conn = pool.get().await?;
        println!("postgres: {}", common::postgres_settings(&mut conn).await);
        common::create_tenant(&mut conn, "bench-idle").await?
    };

    let log_path = std::env::temp_dir().join("switchboard-idle-bench-server.log");
    let server_bin = std::env::var("IDLE_SERVER_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_switchboard").to_owned());
    let mut command = tokio::process::Command::new(&server_bin);
    command
        .arg("serve")
        .env("DATABASE_URL", &services.database_url)
        .env("REDIS_URL", &services.redis_url)
        .env("SWITCHBOARD_JWT_SECRET", common::random_secret())
        .env("SWITCHBOARD_SERVER__BIND", "127.0.0.1:0")
        .env("SWITCHBOARD_SERVER__WORKERS", workers.to_string())
        .env("SWITCHBOARD_REDIS__KEY_PREFIX", &config.redis.key_prefix)
        .env("RUST_LOG", "warn");
    // After the defaults, so that `IDLE_SERVER_ENV` may override them (e.g. `RUST_LOG`).
    for pair in server_env.split_whitespace() {
        if let Some((key, value)) = pair.split_once('=') {
            command.env(key, value);
        }
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log_path)?)
        .kill_on_drop(true)
        .spawn()?;
    let pid = child
        .id()
        .ok_or_else(|| anyhow::anyhow!("the server exited at once"))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let mut lines = BufReader::new(stdout).lines();
    let server: SocketAddr = loop {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .map_err(|_| anyhow::anyhow!("the server did not say where it listens within 30 s"))??
            .ok_or_else(|| anyhow::anyhow!("the server exited; see {}", log_path.display()))?;
        if let Some(rest) = line.split("serving on http://").nth(1)
            && let Some(addr) = rest.split_whitespace().next()
        {
            break addr.parse()?;
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    println!(
        "server: pid {pid} on {server} (`{server_bin} serve`, log {})",
        log_path.display()
    );

    let url = format!("ws://{server}/ws/inbox");
    let (stop, stopped) = watch::channel(false);
    let open = Arc::new(AtomicU64::new(0));
    let ended: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();

    // Baseline: the server after start-up, warmed by one connection (pool, Redis, first session).
    let warm = connect(&url, &tenant.key, server, None, subscribe)
        .await
        .map_err(|e| anyhow::anyhow!("the first connection failed: {e}"))?;
    tokio::spawn(hold(warm, stopped.clone(), open.clone(), ended.clone()));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = ProcStatus::read(pid);
    println!("server before: {}", before.line());

    let started = Instant::now();
    let failures: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
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
                    tokio::spawn(hold(socket, stopped.clone(), open.clone(), ended.clone()));
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
    let took = started.elapsed();
    println!(
        "opened {connected} of {k} connections in {:.1} s ({:.0}/s); failures {:?}",
        took.as_secs_f64(),
        connected as f64 / took.as_secs_f64().max(0.001),
        failures.lock().map(|f| f.clone()).unwrap_or_default()
    );

    tokio::time::sleep(Duration::from_secs(5)).await;
    let settled = ProcStatus::read(pid);
    println!("server 5 s after the last connect: {}", settled.line());
    tokio::time::sleep(Duration::from_secs(hold_secs)).await;
    let held = ProcStatus::read(pid);
    let still_open = open.load(Ordering::Relaxed).saturating_sub(1);
    println!(
        "server after holding {hold_secs} s more (server pings every 15 s): {}",
        held.line()
    );
    println!(
        "still open: {still_open}; ended: {:?}",
        ended.lock().map(|e| e.clone()).unwrap_or_default()
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
    // SAFETY: kill(2) on the child this program spawned, by its pid.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGTERM);
    }
    match tokio::time::timeout(Duration::from_secs(10), child.wait()).await {
        Ok(status) => println!("server stopped: {:?}", status?),
        Err(_) => {
            child.kill().await?;
            println!("server did not stop within 10 s of SIGTERM; killed");
        }
    }
    Ok(())
}

/// The open-file limit after trying to raise it.
struct Limits {
    soft: u64,
    note: String,
}

fn raise_fd_limit(want: u64) -> Limits {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
    }
    let (soft0, hard0) = (limit.rlim_cur, limit.rlim_max);
    let mut note = format!("fd limit before: soft {soft0}, hard {hard0}");
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if hard0 < want {
        if root {
            let raised = libc::rlimit {
                rlim_cur: want,
                rlim_max: want,
            };
            // SAFETY: setrlimit reads the struct we own.
            let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) };
            if rc == 0 {
                note.push_str(&format!(
                    "; raised the hard limit to {want} (running as root)"
                ));
            } else {
                note.push_str(&format!(
                    "; raising the hard limit to {want} as root failed: {} (no CAP_SYS_RESOURCE here?)",
                    std::io::Error::last_os_error()
                ));
            }
        } else {
            note.push_str(&format!(
                "; the hard limit is below {want} and this is not root"
            ));
        }
    }
    // SAFETY: as above.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
    }
    let target = want.min(limit.rlim_max);
    if limit.rlim_cur < target {
        let raised = libc::rlimit {
            rlim_cur: target,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: as above.
        unsafe {
            libc::setrlimit(libc::RLIMIT_NOFILE, &raised);
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        }
    }
    note.push_str(&format!(
        "; now: soft {}, hard {} (the server child inherits it)",
        limit.rlim_cur, limit.rlim_max
    ));
    Limits {
        soft: limit.rlim_cur,
        note,
    }
}

/// Which loopback address each client socket binds to.
struct Sources {
    per_address: u64,
    explicit: bool,
    note: String,
}

fn source_addresses(k: u64) -> Sources {
    let range =
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap_or_default();
    let bounds: Vec<u64> = range
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    let ports = match bounds.as_slice() {
        [low, high] if high > low => high - low + 1,
        _ => 28_232,
    };
    let per_address = param("IDLE_PORTS_PER_ADDRESS", ports.saturating_sub(PORT_MARGIN)).max(1);
    if k <= per_address {
        Sources {
            per_address,
            explicit: false,
            note: format!(
                "source address: 127.0.0.1 only (kernel-chosen ports; {ports} ephemeral ports, {k} needed)"
            ),
        }
    } else {
        let count = k.div_ceil(per_address);
        Sources {
            per_address,
            explicit: true,
            note: format!(
                "source addresses: 127.0.0.2 .. 127.0.0.{} ({per_address} connections each; the ephemeral range has {ports} ports per address); client sockets bind before connect",
                count + 1
            ),
        }
    }
}

impl Sources {
    fn for_index(&self, i: u64) -> Option<IpAddr> {
        self.explicit.then(|| {
            let n = (2 + i / self.per_address).min(254) as u8;
            IpAddr::V4(Ipv4Addr::new(127, 0, 0, n))
        })
    }
}

type Socket = WebSocketStream<TcpStream>;

async fn connect(
    url: &str,
    key: &str,
    server: SocketAddr,
    source: Option<IpAddr>,
    subscribe: bool,
) -> Result<Socket, String> {
    let socket = TcpSocket::new_v4().map_err(|e| format!("socket: {e}"))?;
    if let Some(ip) = source {
        socket
            .bind(SocketAddr::new(ip, 0))
            .map_err(|e| format!("bind {ip}: {e}"))?;
    }
    let stream = socket
        .connect(server)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let mut request = url.into_client_request().map_err(|e| e.to_string())?;
    let bearer = format!("Bearer {key}")
        .parse()
        .map_err(|e| format!("{e}"))?;
    request.headers_mut().insert("authorization", bearer);
    // Small client buffers: this process holds K of them too.
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(request, stream, Some(config))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    wait_for(&mut ws, "hello").await?;
    if subscribe {
        ws.send(Frame::Text(r#"{"type":"subscribe","id":"s"}"#.into()))
            .await
            .map_err(|e| format!("send: {e}"))?;
        wait_for(&mut ws, "ack").await?;
    }
    Ok(ws)
}

/// Reads until a text frame naming `what` (`"hello"`, `"ack"`).
async fn wait_for(ws: &mut Socket, what: &str) -> Result<(), String> {
    let what = format!("\"{what}\"");
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .map_err(|_| format!("no {what} within 30 s"))?;
        match frame {
            Some(Ok(Frame::Text(text))) if text.contains(what.as_str()) => return Ok(()),
            Some(Ok(Frame::Text(text))) if text.contains("\"error\"") => {
                return Err("error frame".to_owned());
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(format!("read: {e}")),
            None => return Err(format!("closed before {what}")),
        }
    }
}

/// Keeps a connection open, answering pings (tungstenite replies while it reads).
async fn hold(
    mut ws: Socket,
    mut stop: watch::Receiver<bool>,
    open: Arc<AtomicU64>,
    ended: Arc<Mutex<BTreeMap<String, u64>>>,
) {
    open.fetch_add(1, Ordering::Relaxed);
    let reason = loop {
        tokio::select! {
            _ = stop.changed() => break None,
            frame = ws.next() => match frame {
                Some(Ok(Frame::Close(frame))) => {
                    break Some(format!("closed {}", frame.map(|f| u16::from(f.code)).unwrap_or(0)));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => break Some(format!("error: {e}")),
                None => break Some("ended".into()),
            }
        }
    };
    open.fetch_sub(1, Ordering::Relaxed);
    if let Some(reason) = reason
        && let Ok(mut ended) = ended.lock()
    {
        *ended.entry(reason).or_default() += 1;
    }
    let _ = ws.close(None).await;
}

/// Memory and descriptors of a process.
#[derive(Default)]
struct ProcStatus {
    rss_kib: u64,
    anon_kib: u64,
    hwm_kib: u64,
    threads: u64,
    fds: u64,
}

impl ProcStatus {
    fn read(pid: u32) -> Self {
        let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let field = |name: &str| {
            text.lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        Self {
            rss_kib: field("VmRSS:"),
            anon_kib: field("RssAnon:"),
            hwm_kib: field("VmHWM:"),
            threads: field("Threads:"),
            fds: std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count() as u64),
        }
    }

    fn line(&self) -> String {
        format!(
            "VmRSS {} KiB, RssAnon {} KiB, VmHWM {} KiB, threads {}, open fds {}",
            self.rss_kib, self.anon_kib, self.hwm_kib, self.threads, self.fds
        )
    }
}
