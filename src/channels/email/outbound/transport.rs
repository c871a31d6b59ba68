//! An email channel's SMTP edge: the pooled lettre transport and DKIM signer built from the
//! channel's settings and the secrets its env-var names point at.

use chrono::{DateTime, Utc};
use lettre::message::Mailbox;
use lettre::message::dkim::DkimConfig;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, Tokio1Executor};
use std::sync::Arc;
use std::time::Duration;

use super::super::EmailError;
use super::super::compose::dkim_config;
use super::super::settings::{EmailSecretRefs, EmailSettings, SmtpTls, read_secret};
use crate::db::models::Channel;

pub(super) type Transport = AsyncSmtpTransport<Tokio1Executor>;

/// A channel's transport and signer, rebuilt when the channel record changes.
pub(super) struct ChannelEdge {
    pub(super) updated_at: DateTime<Utc>,
    pub(super) transport: Transport,
    pub(super) dkim: Option<Arc<DkimConfig>>,
    pub(super) settings: EmailSettings,
}

pub(super) fn build_edge(channel: &Channel) -> Result<ChannelEdge, EmailError> {
    let settings = EmailSettings::from_json(&channel.settings)?;
    let secrets = EmailSecretRefs::from_json(&channel.secret_refs)?;
    let host = settings.smtp_host.clone();
    let builder = match settings.smtp_tls {
        SmtpTls::None => Transport::builder_dangerous(&host).tls(Tls::None),
        SmtpTls::Starttls => Transport::builder_dangerous(&host).tls(Tls::Required(
            TlsParameters::new(host.clone()).map_err(|e| EmailError::Settings(e.to_string()))?,
        )),
        SmtpTls::Tls => Transport::builder_dangerous(&host).tls(Tls::Wrapper(
            TlsParameters::new(host.clone()).map_err(|e| EmailError::Settings(e.to_string()))?,
        )),
    };
    let mut builder = builder
        .port(settings.port())
        .timeout(Some(Duration::from_secs(settings.smtp_timeout_secs)))
        .pool_config(PoolConfig::new().max_size(settings.smtp_pool_size.max(1)));
    let username = read_secret(&secrets.smtp_username)?;
    let password = read_secret(&secrets.smtp_password)?;
    if let (Some(user), Some(pass)) = (username, password) {
        builder = builder.credentials(Credentials::new(
            user.expose().clone(),
            pass.expose().clone(),
        ));
    }
    let dkim = match (
        &settings.dkim_selector,
        read_secret(&secrets.dkim_private_key)?,
    ) {
        (Some(selector), Some(pem)) => {
            let domain = settings
                .dkim_domain
                .clone()
                .or_else(|| settings.domain().map(str::to_owned))
                .unwrap_or_default();
            Some(Arc::new(dkim_config(selector, &domain, pem.expose())?))
        }
        _ => None,
    };
    Ok(ChannelEdge {
        updated_at: channel.updated_at,
        transport: builder.build(),
        dkim,
        settings,
    })
}

pub(super) fn mailbox(address: &str, name: Option<&str>) -> Result<Mailbox, EmailError> {
    let email = address
        .trim()
        .parse()
        .map_err(|_| EmailError::Address(address.to_owned()))?;
    Ok(Mailbox::new(name.map(str::to_owned), email))
}
