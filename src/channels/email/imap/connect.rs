//! Opening an authenticated IMAP session: TCP, then TLS from the first byte or after
//! `STARTTLS` (rustls with the web PKI roots, the same TLS stack as the rest of the node), then
//! `LOGIN`. The transport is boxed so one session type serves every mode.

use async_imap::{Client, Session};
use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use super::ImapError;
use super::settings::{ImapSettings, ImapTls};
use crate::config::Sensitive;

/// How long connecting, the TLS handshake and logging in may take together.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// A byte stream an IMAP session runs over (plain TCP or TLS).
pub trait ImapIo: AsyncRead + AsyncWrite + Unpin + Send + Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Debug> ImapIo for T {}

/// An authenticated IMAP session over any transport.
pub type ImapSession = Session<Box<dyn ImapIo>>;

/// Connects and logs in, within `CONNECT_TIMEOUT`.
pub async fn open_session(
    settings: &ImapSettings,
    username: &Sensitive<String>,
    password: &Sensitive<String>,
) -> Result<ImapSession, ImapError> {
    tokio::time::timeout(CONNECT_TIMEOUT, open(settings, username, password))
        .await
        .map_err(|_| ImapError::Timeout("connecting and logging in"))?
}

async fn open(
    settings: &ImapSettings,
    username: &Sensitive<String>,
    password: &Sensitive<String>,
) -> Result<ImapSession, ImapError> {
    let host = settings.imap_host.trim();
    let tcp = TcpStream::connect((host, settings.port())).await?;
    let stream: Box<dyn ImapIo> = match settings.imap_tls {
        ImapTls::None => Box::new(tcp),
        ImapTls::Tls => Box::new(tls(host, tcp).await?),
        ImapTls::Starttls => {
            let mut client = Client::new(tcp);
            greeting(&mut client).await?;
            client.run_command_and_check_ok("STARTTLS", None).await?;
            Box::new(tls(host, client.into_inner()).await?)
        }
    };
    let mut client = Client::new(stream);
    if settings.imap_tls != ImapTls::Starttls {
        // No greeting follows STARTTLS; every other connection starts with one.
        greeting(&mut client).await?;
    }
    client
        .login(username.expose(), password.expose())
        .await
        .map_err(|(e, _)| ImapError::Login(e.to_string()))
}

async fn greeting<T: ImapIo>(client: &mut Client<T>) -> Result<(), ImapError> {
    match client.read_response().await? {
        Some(_) => Ok(()),
        None => Err(ImapError::Protocol(
            "the server closed the connection before its greeting".into(),
        )),
    }
}

async fn tls(
    host: &str,
    tcp: TcpStream,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, ImapError> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ImapError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_owned())
        .map_err(|e| ImapError::Tls(format!("{host}: {e}")))?;
    Ok(TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await?)
}
