//! Talking to the client processes of the multi-node mode: their status lines (`KEY=value`
//! fields) and the liveness rounds (publish a signal through Redis, ask each client to check).

use std::collections::BTreeMap;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use switchboard::inbox::{EventPublisher, Signal};

use crate::common;

/// One client child process.
pub struct ClientProcess {
    /// The process (killed if dropped).
    pub child: tokio::process::Child,
    /// Its pid, whose memory is read.
    pub pid: u32,
    /// Where its commands go.
    pub stdin: tokio::process::ChildStdin,
    /// Connections it was asked to open.
    pub count: u64,
}

/// A `KEY=value` field of a client's status line.
pub fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let prefix = format!("{name}=");
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(prefix.as_str()))
}

/// A numeric field of a status line (0 when absent).
pub fn number(line: &str, name: &str) -> u64 {
    field(line, name).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// Publishes the liveness signal of `round` and asks every client to check it.
pub async fn check(
    publisher: &EventPublisher,
    tenant: &common::Tenant,
    marker: &str,
    round: u8,
    clients: &mut [ClientProcess],
    lines: &mut mpsc::UnboundedReceiver<(usize, String)>,
) -> String {
    publisher.signal(Signal::job_progress(
        tenant.org,
        marker,
        "bench.liveness",
        u64::from(round),
        0,
        u64::from(round),
    ));
    for client in clients.iter_mut() {
        let _ = client
            .stdin
            .write_all(format!("CHECK {round}\n").as_bytes())
            .await;
    }
    let mut starts = vec![0u64; clients.len()];
    let answers = collect(lines, &mut starts, "CHECKED", Duration::from_secs(120)).await;
    let (mut open, mut marked, mut probes, mut ponged) = (0, 0, 0, 0);
    let mut ended: BTreeMap<usize, String> = BTreeMap::new();
    for (c, line) in answers.iter().enumerate() {
        println!("client {c} round {round}: {line}");
        open += number(line, "open");
        marked += number(line, "marked");
        probes += number(line, "probes");
        ponged += number(line, "ponged");
        if let Some(e) = line.split("ended=").nth(1)
            && e != "{}"
        {
            ended.insert(c, e.to_owned());
        }
    }
    format!(
        "{open} connections open; {marked} received the published signal; {ponged} of {probes} pings answered with a pong; ended early: {ended:?}"
    )
}

/// Waits for one line starting with `word` from each client (a client that exits first or stays
/// silent past `timeout` gets a line saying so); notes each client's start-up RSS in `starts`.
pub async fn collect(
    lines: &mut mpsc::UnboundedReceiver<(usize, String)>,
    starts: &mut [u64],
    word: &str,
    timeout: Duration,
) -> Vec<String> {
    let mut answers: Vec<Option<String>> = vec![None; starts.len()];
    let deadline = tokio::time::Instant::now() + timeout;
    while answers.iter().any(Option::is_none) {
        match tokio::time::timeout_at(deadline, lines.recv()).await {
            Ok(Some((c, line))) if line.starts_with(word) => {
                if let Some(slot) = answers.get_mut(c) {
                    *slot = Some(line);
                }
            }
            Ok(Some((c, line))) if line == "EXITED" => {
                if let Some(slot) = answers.get_mut(c) {
                    slot.get_or_insert_with(|| format!("{word} (none: the client exited)"));
                }
            }
            Ok(Some((c, line))) => {
                if line.starts_with("START")
                    && let Some(slot) = starts.get_mut(c)
                {
                    *slot = number(&line, "rss_kib");
                }
                println!("client {c}: {line}");
            }
            Ok(None) | Err(_) => break,
        }
    }
    answers
        .into_iter()
        .map(|a| a.unwrap_or_else(|| format!("{word} (none within {} s)", timeout.as_secs())))
        .collect()
}
