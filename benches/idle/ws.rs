//! One benchmark client connection: open `/ws/inbox` with an API key, wait for `hello`,
//! `subscribe`, then hold it, answering the server's pings and counting what proves it is live
//! (liveness signals received, our own pings answered).

use futures_util::{SinkExt, StreamExt};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Liveness rounds a run can check (signals and pings each).
pub const ROUNDS: usize = 4;

/// A client connection.
pub type Socket = WebSocketStream<TcpStream>;

/// Counters shared by every held connection of one process.
#[derive(Default)]
pub struct Tally {
    /// Connections being held.
    pub open: AtomicU64,
    /// Why connections ended while they should have been held.
    pub ended: Mutex<BTreeMap<String, u64>>,
    /// `[r]`: connections that have received at least `r + 1` frames carrying the marker.
    pub marked: [AtomicU64; ROUNDS],
    /// `[r]`: probe connections whose ping of round `r + 1` was answered.
    pub ponged: [AtomicU64; ROUNDS],
    /// The text that identifies the run's liveness signals (empty: none expected).
    pub marker: String,
}

/// Opens one connection from `source` (kernel-chosen when `None`) to `server`.
pub async fn connect(
    url: &str,
    key: &str,
    server: SocketAddr,
    source: Option<IpAddr>,
    subscribe: bool,
) -> Result<Socket, String> {
    let socket = TcpSocket::new_v4().map_err(|e| format!("socket: {e}"))?;
    if let Some(ip) = source {
        // Pick the port at connect time, per destination, not at bind time for the address.
        let on: libc::c_int = 1;
        // SAFETY: setsockopt on the socket we own, reading an int that outlives the call.
        unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::IPPROTO_IP,
                libc::IP_BIND_ADDRESS_NO_PORT,
                (&on as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
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
    // Small client buffers: the load generator holds as many of them as the servers do.
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

/// The next probe round, or never when this connection is not a probe.
async fn next_round(probe: &mut Option<watch::Receiver<u8>>) -> u8 {
    if let Some(rx) = probe
        && rx.changed().await.is_ok()
    {
        return *rx.borrow_and_update();
    }
    std::future::pending().await
}

/// Keeps a connection open until `stop`, answering pings (tungstenite replies while it reads),
/// counting marker frames, and, when it is a probe, pinging the server once per round.
pub async fn hold(
    mut ws: Socket,
    mut stop: watch::Receiver<bool>,
    tally: std::sync::Arc<Tally>,
    mut probe: Option<watch::Receiver<u8>>,
) {
    tally.open.fetch_add(1, Ordering::Relaxed);
    let mut seen = 0usize;
    let reason = loop {
        tokio::select! {
            _ = stop.changed() => break None,
            round = next_round(&mut probe) => {
                if let Err(e) = ws.send(Frame::Ping(vec![round].into())).await {
                    break Some(format!("ping: {e}"));
                }
            }
            frame = ws.next() => match frame {
                Some(Ok(Frame::Text(text))) => {
                    if !tally.marker.is_empty() && text.contains(tally.marker.as_str()) && seen < ROUNDS {
                        tally.marked[seen].fetch_add(1, Ordering::Relaxed);
                        seen += 1;
                    }
                }
                Some(Ok(Frame::Pong(payload))) => {
                    if let [round] = payload.as_ref()
                        && let Some(counter) = usize::from(*round).checked_sub(1).and_then(|r| tally.ponged.get(r))
                    {
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Some(Ok(Frame::Close(frame))) => {
                    break Some(format!("closed {}", frame.map(|f| u16::from(f.code)).unwrap_or(0)));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => break Some(format!("error: {e}")),
                None => break Some("ended".into()),
            }
        }
    };
    tally.open.fetch_sub(1, Ordering::Relaxed);
    if let Some(reason) = reason
        && let Ok(mut ended) = tally.ended.lock()
    {
        *ended.entry(reason).or_default() += 1;
    }
    let _ = ws.close(None).await;
}
