//! One connected session of a channel's poller: log in, select the mailbox, then alternate
//! between fetching what is new and waiting (IDLE or a pause) until told to stop, the channel
//! goes away, the lease is lost, or an error ends the connection.
//!
//! Fetching: `UID FETCH <last+1>:* (UID RFC822.SIZE)` lists the new UIDs (the server answers
//! `n:*` with the newest message even when nothing is newer, so the list is filtered), then each
//! message is fetched alone with `BODY.PEEK[]` capped at `email.inbound_max_bytes + 1` bytes (no
//! `\Seen` flag set, bounded memory), handed to `accept_mail`, and only once that committed is
//! its UID stored. A larger message is kept aside, like the webhook does. A database or ingest
//! failure ends the session before the UID moves, so the message is fetched again later.

use async_imap::types::{Fetch, UnsolicitedResponse};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use futures_util::TryStreamExt;
use std::future::Future;
use tokio::sync::watch;

use super::ImapError;
use super::connect::{ImapSession, open_session};
use super::settings::ImapSettings;
use crate::channels::email::EmailError;
use crate::channels::email::inbound::{Accepted, accept_mail, reject};
use crate::channels::email::settings::{EmailSecretRefs, read_secret};
use crate::channels::ingest::Ingestor;
use crate::channels::poll_lease::{LEASE, PollLease};
use crate::context::AppContext;
use crate::db::models::EmailPollState;
use crate::db::schema::channels;
use crate::domain::{ChannelId, ChannelKind, OrganizationId};

/// Why a session ended without an error.
#[derive(Debug, PartialEq, Eq)]
pub enum SessionEnd {
    /// The poller was told to stop.
    Stopped,
    /// Another node reads this mailbox.
    NotOurs,
    /// The channel is gone, inactive or reads no mailbox: the poller ends.
    Gone(&'static str),
}

/// The channel row's parts the poller needs, if it is an active email channel.
async fn load_channel(
    ctx: &AppContext,
    channel: ChannelId,
) -> Result<Option<(OrganizationId, serde_json::Value, serde_json::Value)>, ImapError> {
    let mut conn = ctx.db().get().await?;
    Ok(channels::table
        .filter(channels::id.eq(channel))
        .filter(channels::kind.eq(ChannelKind::Email))
        .filter(channels::active.eq(true))
        .select((
            channels::organization_id,
            channels::settings,
            channels::secret_refs,
        ))
        .first(&mut conn)
        .await
        .optional()?)
}

/// This node's claim on reading `channel`'s mailbox (one IDLE connection per mailbox).
fn mailbox_lease(ctx: &AppContext, channel: ChannelId) -> PollLease {
    PollLease::new(ctx, &format!("email:{channel}:imap"))
}

/// Connects and serves the mailbox until the session ends; `connected` runs once logged in.
pub async fn run_session(
    ctx: &AppContext,
    ingestor: &Ingestor,
    channel: ChannelId,
    stopped: &mut watch::Receiver<bool>,
    connected: impl FnOnce(),
) -> Result<SessionEnd, ImapError> {
    let Some((org, settings, refs)) = load_channel(ctx, channel).await? else {
        return Ok(SessionEnd::Gone("channel gone or inactive"));
    };
    let Some(settings) = ImapSettings::from_json(&settings)? else {
        return Ok(SessionEnd::Gone("channel reads no mailbox (no imap_host)"));
    };
    let refs = EmailSecretRefs::from_json(&refs)?;
    let missing =
        |name: &str| EmailError::Settings(format!("secrets.{name} is required with imap_host"));
    let username = read_secret(&refs.imap_username)?.ok_or_else(|| missing("imap_username"))?;
    let password = read_secret(&refs.imap_password)?.ok_or_else(|| missing("imap_password"))?;
    if !mailbox_lease(ctx, channel).hold().await? {
        return Ok(SessionEnd::NotOurs);
    }
    let mut session = tokio::select! {
        session = open_session(&settings, &username, &password) => session?,
        _ = stopped.changed() => return Ok(SessionEnd::Stopped),
    };
    connected();
    let mailbox = settings.imap_mailbox.clone();
    let selected = session.select(&mailbox).await?;
    let uid_validity = selected
        .uid_validity
        .ok_or_else(|| ImapError::Protocol(format!("{mailbox} has no UIDVALIDITY")))?;
    let position = Position {
        org,
        mailbox,
        uid_validity: i64::from(uid_validity),
    };
    let idle = session.capabilities().await?.has_str("IDLE");
    tracing::info!(channel.id = %channel, idle, "imap mailbox selected");
    loop {
        if *stopped.borrow() {
            return Ok(SessionEnd::Stopped);
        }
        if load_channel(ctx, channel).await?.is_none() {
            return Ok(SessionEnd::Gone("channel gone or inactive"));
        }
        arrived_meanwhile(&mut session);
        fetch_new(ctx, ingestor, channel, &position, &mut session).await?;
        if arrived_meanwhile(&mut session) {
            // Mail arrived while we fetched; IDLE would not announce it again.
            continue;
        }
        if !mailbox_lease(ctx, channel).hold().await? {
            return Ok(SessionEnd::NotOurs);
        }
        if idle {
            let mut handle = session.idle();
            handle.init().await?;
            let waited = {
                let (wait, _interrupt) = handle.wait_with_timeout(settings.idle_timeout());
                wait_renewing(ctx, channel, stopped, wait).await?
            };
            match waited {
                Waited::Done(woke) => {
                    woke?;
                    session = handle.done().await?;
                }
                Waited::Ended(end) => return Ok(end),
            }
        } else {
            let pause = tokio::time::sleep(settings.poll_interval());
            if let Waited::Ended(end) = wait_renewing(ctx, channel, stopped, pause).await? {
                let _ = session.logout().await;
                return Ok(end);
            }
        }
    }
}

/// Drains what the server announced outside our commands; whether new mail was among it.
fn arrived_meanwhile(session: &mut ImapSession) -> bool {
    let mut exists = false;
    while let Ok(response) = session.unsolicited_responses.try_recv() {
        exists |= matches!(response, UnsolicitedResponse::Exists(_));
    }
    exists
}

/// Where the UIDs of this session belong.
struct Position {
    org: OrganizationId,
    mailbox: String,
    uid_validity: i64,
}

enum Waited<T> {
    Done(T),
    Ended(SessionEnd),
}

/// Awaits `wait` while renewing the lease, unless told to stop or the lease is lost.
async fn wait_renewing<F: Future>(
    ctx: &AppContext,
    channel: ChannelId,
    stopped: &mut watch::Receiver<bool>,
    wait: F,
) -> Result<Waited<F::Output>, ImapError> {
    tokio::pin!(wait);
    let mut renew = tokio::time::interval(LEASE / 3);
    renew.tick().await;
    loop {
        tokio::select! {
            out = &mut wait => return Ok(Waited::Done(out)),
            _ = renew.tick() => {
                if !mailbox_lease(ctx, channel).hold().await? {
                    return Ok(Waited::Ended(SessionEnd::NotOurs));
                }
            }
            _ = stopped.changed() => return Ok(Waited::Ended(SessionEnd::Stopped)),
        }
    }
}

/// Fetches and commits every message above the stored UID, one at a time, in UID order.
async fn fetch_new(
    ctx: &AppContext,
    ingestor: &Ingestor,
    channel: ChannelId,
    position: &Position,
    session: &mut ImapSession,
) -> Result<(), ImapError> {
    let stored = {
        let mut conn = ctx.db().get().await?;
        EmailPollState::load(&mut conn, position.org, channel).await?
    };
    let after =
        EmailPollState::resume_after(stored.as_ref(), &position.mailbox, position.uid_validity);
    let listing: Vec<Fetch> = session
        .uid_fetch(format!("{}:*", after + 1), "(UID RFC822.SIZE)")
        .await?
        .try_collect()
        .await?;
    let mut uids: Vec<u32> = listing
        .iter()
        .filter_map(|f| f.uid)
        .filter(|uid| i64::from(*uid) > after)
        .collect();
    uids.sort_unstable();
    uids.dedup();
    let max = ctx.config().email.inbound_max_bytes;
    let rejected_dir = &ctx.config().email.rejected_dir;
    for uid in uids {
        let fetched: Vec<Fetch> = session
            .uid_fetch(uid.to_string(), format!("(UID BODY.PEEK[]<0.{}>)", max + 1))
            .await?
            .try_collect()
            .await?;
        let raw = fetched
            .iter()
            .find(|f| f.uid == Some(uid))
            .and_then(Fetch::body);
        match raw {
            None => {
                tracing::debug!(channel.id = %channel, uid, "message gone before it was fetched")
            }
            Some(raw) if raw.len() > max => {
                reject::keep_aside(rejected_dir, channel, "too_large", &raw[..max]).await;
            }
            Some(raw) => match accept_mail(ctx, ingestor, channel, position.org, raw).await? {
                Accepted::Stored { outcome, .. } => tracing::debug!(
                    channel.id = %channel, uid, message.id = %outcome.message.id,
                    duplicate = outcome.duplicate, "imap message stored"
                ),
                Accepted::Bounce { suppressed } => tracing::debug!(
                    channel.id = %channel, uid, suppressed = suppressed.len(), "imap bounce recorded"
                ),
                Accepted::Rejected { code, .. } => {
                    tracing::debug!(channel.id = %channel, uid, code, "imap message kept aside")
                }
            },
        }
        // The message is committed (stored, recorded or kept aside): only now may the UID move.
        let mut conn = ctx.db().get().await?;
        let state = EmailPollState {
            mailbox: position.mailbox.clone(),
            uid_validity: position.uid_validity,
            last_uid: i64::from(uid),
        };
        EmailPollState::confirm(&mut conn, position.org, channel, &state).await?;
    }
    Ok(())
}
