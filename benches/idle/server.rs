//! A `switchboard serve` child process: one node of the system under test.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

/// How to start a node; every node of a run shares the database, Redis, key prefix and secret.
pub struct NodeOptions<'a> {
    /// The server binary.
    pub bin: &'a str,
    /// `DATABASE_URL`.
    pub database_url: &'a str,
    /// `REDIS_URL`.
    pub redis_url: &'a str,
    /// The run's Redis key prefix (nodes of one system must share it).
    pub key_prefix: &'a str,
    /// The run's token-signing secret (shared, as in a real deployment).
    pub jwt_secret: &'a str,
    /// HTTP workers (0 = one per core).
    pub workers: usize,
    /// PostgreSQL connections per node, when not the product's default.
    pub pool_size: Option<usize>,
    /// Space-separated `KEY=VALUE` pairs set last (`IDLE_SERVER_ENV`).
    pub extra_env: &'a str,
    /// Where its stderr goes.
    pub log: PathBuf,
}

/// A running node.
pub struct ServerNode {
    child: tokio::process::Child,
    /// Its pid (the process whose memory is read).
    pub pid: u32,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its stderr.
    pub log: PathBuf,
}

impl ServerNode {
    /// Starts a node on a free port and waits until it says where it listens.
    pub async fn start(options: &NodeOptions<'_>) -> anyhow::Result<Self> {
        let mut command = tokio::process::Command::new(options.bin);
        command
            .arg("serve")
            .env("DATABASE_URL", options.database_url)
            .env("REDIS_URL", options.redis_url)
            .env("SWITCHBOARD_JWT_SECRET", options.jwt_secret)
            .env("SWITCHBOARD_SERVER__BIND", "127.0.0.1:0")
            .env("SWITCHBOARD_SERVER__WORKERS", options.workers.to_string())
            .env("SWITCHBOARD_SERVER__SHUTDOWN_TIMEOUT_SECS", "5")
            .env("SWITCHBOARD_REDIS__KEY_PREFIX", options.key_prefix)
            .env("RUST_LOG", "warn");
        if let Some(size) = options.pool_size {
            command.env("SWITCHBOARD_DATABASE__POOL_SIZE", size.to_string());
        }
        // After the defaults, so that `IDLE_SERVER_ENV` may override them (e.g. `RUST_LOG`).
        for pair in options.extra_env.split_whitespace() {
            if let Some((key, value)) = pair.split_once('=') {
                command.env(key, value);
            }
        }
        die_with_parent(&mut command);
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&options.log)?)
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
        let log = options.log.clone();
        let addr: SocketAddr = loop {
            let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
                .await
                .map_err(|_| {
                    anyhow::anyhow!("the server did not say where it listens within 30 s")
                })??
                .ok_or_else(|| anyhow::anyhow!("the server exited; see {}", log.display()))?;
            if let Some(rest) = line.split("serving on http://").nth(1)
                && let Some(addr) = rest.split_whitespace().next()
            {
                break addr.parse()?;
            }
        };
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self {
            child,
            pid,
            addr,
            log,
        })
    }

    /// SIGTERM, then SIGKILL after 10 s; says how it ended.
    pub async fn stop(mut self) -> String {
        // SAFETY: kill(2) on the child this program spawned, by its pid.
        unsafe {
            libc::kill(self.pid as libc::pid_t, libc::SIGTERM);
        }
        match tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await {
            Ok(Ok(status)) => format!("stopped: {status:?}"),
            Ok(Err(e)) => format!("wait failed: {e}"),
            Err(_) => {
                let _ = self.child.kill().await;
                "did not stop within 10 s of SIGTERM; killed".to_owned()
            }
        }
    }
}

/// Makes a child die with this process even if it is killed outright (no leftover servers or
/// clients holding thousands of sockets).
pub fn die_with_parent(command: &mut tokio::process::Command) {
    // SAFETY: the closure only calls prctl(2), which is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}
