//! A real SMTP server for the email tests: `tests/servers/smtp_sink.py` (aiosmtpd) in the
//! project venv (`SB_EMAIL_PYTHON`, provisioned by `deploy/dev/test`), one per test on an
//! OS-chosen port, storing every accepted message's exact bytes in a temporary directory.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The python that has aiosmtpd and dkimpy.
pub fn python() -> String {
    std::env::var("SB_EMAIL_PYTHON").unwrap_or_else(|_| {
        let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/.dev/venv/bin/python");
        venv.to_owned()
    })
}

/// A script under `tests/servers/`.
pub fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/servers")
        .join(name)
}

/// A running SMTP sink.
pub struct SmtpSink {
    /// Its port on 127.0.0.1.
    pub port: u16,
    dir: tempfile::TempDir,
    _child: Child,
}

impl SmtpSink {
    /// Starts a sink and waits until it listens.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut child = Command::new(python())
            .arg(script("smtp_sink.py"))
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start smtp_sink.py (is SB_EMAIL_PYTHON set? run deploy/dev/test)");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = lines
            .next_line()
            .await
            .expect("read smtp_sink output")
            .expect("smtp_sink.py exited before it was ready (aiosmtpd installed?)");
        let port = line
            .strip_prefix("READY ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("unexpected smtp_sink output: {line}"));
        Self {
            port,
            dir,
            _child: child,
        }
    }

    /// The messages received so far, in arrival order, as raw bytes.
    pub fn received(&self) -> Vec<Vec<u8>> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .expect("read sink dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| std::fs::read(p).expect("read message"))
            .collect()
    }

    /// Path of the `n`th (1-based) received message.
    pub fn path_of(&self, n: usize) -> PathBuf {
        self.dir.path().join(format!("{n:04}.eml"))
    }

    /// Waits until at least `n` messages arrived (a deadline for broken code, not a timing
    /// assertion) and returns them.
    pub async fn wait_for(&self, n: usize) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "the SMTP server received {} of {n} messages",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}
