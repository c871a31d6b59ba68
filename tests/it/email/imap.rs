//! The IMAP poller against a real dovecot (`$SB_DOVECOT`): mail already in the mailbox is
//! ingested once and threaded by `In-Reply-To`; mail APPENDed while the poller is in IDLE
//! arrives; the committed UID survives a restart; a crash after commit but before the UID was
//! stored re-fetches and dedupes; a new UIDVALIDITY starts over without duplicates; a DSN
//! suppresses and malformed mail is kept aside while the UID moves past both.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::json;
use std::sync::Once;
use std::time::{Duration, Instant};

use super::imap_server::{self, Dovecot, PASSWORD, USER};
use super::{EmailSetup, fixture};
use switchboard::channels::email::imap::{EmailPoller, spawn_poller};
use switchboard::db::models::{EmailPollState, Message, Suppression};
use switchboard::db::schema::{email_poll_state, messages};
use switchboard::domain::ChannelId;

const USER_ENV: &str = "SB_TEST_IMAP_USERNAME";
const PASSWORD_ENV: &str = "SB_TEST_IMAP_PASSWORD";

fn set_imap_env() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: set once, before any poller reads them, to the same values every time.
        unsafe {
            std::env::set_var(USER_ENV, USER);
            std::env::set_var(PASSWORD_ENV, PASSWORD);
        }
    });
}

/// dovecot plus an email channel reading its INBOX; `None` (with a message) without dovecot.
async fn setup() -> Option<(EmailSetup, Dovecot)> {
    let Some(binary) = imap_server::binary() else {
        eprintln!("SKIPPED: SB_DOVECOT is not set (deploy/dev/test installs dovecot and sets it)");
        return None;
    };
    set_imap_env();
    let server = Dovecot::start(&binary).await;
    let s = EmailSetup::with_extra(
        json!({"imap_host": "127.0.0.1", "imap_port": server.port, "imap_tls": "none"}),
        json!({"imap_username": USER_ENV, "imap_password": PASSWORD_ENV}),
    )
    .await;
    Some((s, server))
}

fn mail(from: &str, id: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: sales@acme.test\r\nSubject: Question\r\nMessage-ID: <{id}>\r\n\
         Date: Sun, 29 Nov 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

impl EmailSetup {
    fn channel_id(&self) -> ChannelId {
        ChannelId(self.channel.parse().expect("uuid"))
    }

    fn poller(&self) -> EmailPoller {
        spawn_poller(
            self.app.ctx.clone(),
            self.app.node.ingestor.clone(),
            self.channel_id(),
        )
    }

    async fn poll_state(&self) -> Option<EmailPollState> {
        let mut conn = self.app.ctx.db().get().await.expect("db");
        EmailPollState::load(&mut conn, self.org.id, self.channel_id())
            .await
            .expect("poll state")
    }

    async fn inbound(&self) -> Vec<Message> {
        let mut conn = self.app.ctx.db().get().await.expect("db");
        messages::table
            .filter(messages::organization_id.eq(self.org.id))
            .filter(messages::direction.eq("inbound"))
            .order(messages::created_at.asc())
            .select(Message::as_select())
            .load(&mut conn)
            .await
            .expect("inbound messages")
    }

    /// Waits until the poller committed `uid`. The deadline is for broken code, not timing.
    async fn committed(&self, uid: i64) -> EmailPollState {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let state = self.poll_state().await;
            if let Some(state) = state.as_ref().filter(|s| s.last_uid >= uid) {
                return state.clone();
            }
            assert!(
                Instant::now() < deadline,
                "uid {uid} never committed: {state:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[actix_web::test]
async fn imap_poller_ingests_waiting_mail_once_threads_it_and_receives_mail_while_idle() {
    let Some((s, server)) = setup().await else {
        return;
    };
    let (chat, _) = s.chat_with("ann@customer.test").await;
    let first = s.send(&chat, "Hello Ann,\nShall we talk on Tuesday?").await;
    let (sent, _) = s.settled(first).await;
    let parent = sent.external_id.expect("our Message-ID");
    let reply = String::from_utf8(std::fs::read(fixture("reply.eml")).expect("fixture"))
        .expect("utf8")
        .replace("{{PARENT}}", &parent);
    server.append("INBOX", reply.as_bytes()).await;
    server
        .append(
            "INBOX",
            &mail(
                "Bob <bob@other.test>",
                "bob-1@other.test",
                "Do you ship to Oslo?",
            ),
        )
        .await;

    let poller = s.poller();
    let state = s.committed(2).await;
    assert_eq!((state.mailbox.as_str(), state.last_uid), ("INBOX", 2));
    let inbound = s.inbound().await;
    assert_eq!(inbound.len(), 2, "{inbound:?}");
    let ann = inbound
        .iter()
        .find(|m| m.external_id.as_deref() == Some("<reply-1@customer.test>"))
        .expect("the reply");
    assert_eq!(ann.chat_id.to_string(), chat, "threaded by In-Reply-To");
    assert_eq!(
        ann.body, "Tuesday at 10 works for me.\n\nBest,\nAnn",
        "quote stripped"
    );
    let bob = inbound
        .iter()
        .find(|m| m.external_id.as_deref() == Some("<bob-1@other.test>"))
        .expect("bob's mail");
    assert_ne!(
        bob.chat_id, ann.chat_id,
        "a new sender gets a chat of their own"
    );

    // The poller is now waiting in IDLE (dovecot offers it): new mail is pushed to it.
    server
        .append(
            "INBOX",
            &mail("Bob <bob@other.test>", "bob-2@other.test", "And to Bergen?"),
        )
        .await;
    assert_eq!(s.committed(3).await.last_uid, 3);
    let inbound = s.inbound().await;
    assert_eq!(inbound.len(), 3);
    assert_eq!(inbound[2].body, "And to Bergen?");
    assert_eq!(
        inbound[2].chat_id, bob.chat_id,
        "the sender's thread on this channel"
    );
    poller.shutdown().await;
}

#[actix_web::test]
async fn imap_poller_resumes_after_restart_and_a_crash_before_storing_the_uid_dedupes() {
    let Some((s, server)) = setup().await else {
        return;
    };
    server
        .append("INBOX", &mail("c@x.test", "m1@x.test", "one"))
        .await;
    server
        .append("INBOX", &mail("c@x.test", "m2@x.test", "two"))
        .await;
    let poller = s.poller();
    let state = s.committed(2).await;
    assert_eq!(
        state.last_uid, 2,
        "the stored UID is the last committed message's"
    );
    poller.shutdown().await;
    assert_eq!(s.inbound().await.len(), 2);

    // A crash after message 2 was committed but before its UID was stored looks like this.
    {
        let mut conn = s.app.ctx.db().get().await.expect("db");
        diesel::update(email_poll_state::table)
            .set(email_poll_state::last_uid.eq(1))
            .execute(&mut conn)
            .await
            .expect("rewind");
    }
    server
        .append("INBOX", &mail("c@x.test", "m3@x.test", "three"))
        .await;
    let poller = s.poller();
    assert_eq!(s.committed(3).await.last_uid, 3);
    let bodies: Vec<String> = s.inbound().await.into_iter().map(|m| m.body).collect();
    assert_eq!(
        bodies,
        ["one", "two", "three"],
        "message 2 re-fetched, stored once"
    );
    poller.abort();

    // Another UIDVALIDITY means the stored UIDs mean nothing: start over, dedupe absorbs it.
    let real = s.poll_state().await.expect("state").uid_validity;
    {
        let mut conn = s.app.ctx.db().get().await.expect("db");
        diesel::update(email_poll_state::table)
            .set(email_poll_state::uid_validity.eq(real + 1))
            .execute(&mut conn)
            .await
            .expect("other validity");
    }
    let poller = s.poller();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let state = s.poll_state().await.expect("state");
        if state.uid_validity == real && state.last_uid == 3 {
            break;
        }
        assert!(Instant::now() < deadline, "never re-read: {state:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(s.inbound().await.len(), 3, "nothing stored twice");
    poller.shutdown().await;
}

#[actix_web::test]
async fn imap_poller_records_bounces_keeps_malformed_mail_aside_and_moves_on() {
    let Some((s, server)) = setup().await else {
        return;
    };
    server.create("Support").await;
    server
        .append("INBOX", &mail("c@x.test", "wrong-box@x.test", "not here"))
        .await;
    let dsn = std::fs::read(fixture("dsn.eml")).expect("fixture");
    server.append("Support", &dsn).await;
    // Not a message at all (IMAP literals cannot carry the NULs of malformed.eml).
    server
        .append("Support", b"just some words, no header in sight\r\n")
        .await;
    server
        .append("Support", &mail("c@x.test", "ok@x.test", "a real question"))
        .await;
    // Read another mailbox than INBOX.
    let mut conn = s.app.ctx.db().get().await.expect("db");
    diesel::sql_query(
        "UPDATE channels SET settings = settings || '{\"imap_mailbox\": \"Support\"}' WHERE id = $1",
    )
    .bind::<diesel::sql_types::Uuid, _>(s.channel_id().0)
    .execute(&mut conn)
    .await
    .expect("mailbox");
    drop(conn);

    let poller = s.poller();
    let state = s.committed(3).await;
    assert_eq!((state.mailbox.as_str(), state.last_uid), ("Support", 3));
    let inbound = s.inbound().await;
    assert_eq!(
        inbound.len(),
        1,
        "only the real question is a message: {inbound:?}"
    );
    assert_eq!(inbound[0].body, "a real question");
    let mut conn = s.app.ctx.db().get().await.expect("db");
    let row = Suppression::find_email(&mut conn, s.org.id, "gone@customer.test")
        .await
        .expect("query")
        .expect("the DSN suppressed the failed recipient");
    assert_eq!(row.reason, "bounce");
    let kept = std::fs::read_dir(s.rejected.path())
        .expect("rejected dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".eml"))
        .count();
    assert_eq!(kept, 1, "the malformed mail is kept aside");
    poller.shutdown().await;
}

#[test]
fn imap_settings_are_checked_by_switchboard_check_with_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    for sub in ["agents", "channels", "prompts"] {
        std::fs::create_dir(dir.path().join(sub)).expect("mkdir");
    }
    std::fs::write(
        dir.path().join("channels/mail.toml"),
        "kind = \"email\"\n[settings]\nfrom_address = \"a@b.test\"\nsmtp_host = \"smtp.b.test\"\n\
         imap_host = \"imap.b.test\"\nimap_tls = \"ssl\"\nimap_idle_timeout_secs = 3600\n\
         [secrets]\nimap_username = \"IMAP_USER\"\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("channels/orphan.toml"),
        "kind = \"email\"\n[settings]\nfrom_address = \"a@b.test\"\nsmtp_host = \"smtp.b.test\"\n\
         imap_mailbox = \"Support\"\n",
    )
    .expect("write");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("check")
        .current_dir(dir.path())
        .env("DATABASE_URL", crate::support::database_url())
        .env("REDIS_URL", crate::support::redis_url())
        .env(
            "SWITCHBOARD_JWT_SECRET",
            "a-test-secret-that-is-at-least-32-bytes-long",
        )
        .env("SWITCHBOARD_OLLAMA_URL", "http://127.0.0.1:9")
        .output()
        .expect("switchboard runs");
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{out}");
    for expected in [
        "channels/mail.toml:6: settings.imap_tls: imap_tls must be none, tls or starttls",
        "channels/mail.toml:7: settings.imap_idle_timeout_secs: imap_idle_timeout_secs must be 1 to 1680",
        "secrets.imap_password: a channel with imap_host needs imap_password",
        "channels/orphan.toml:5: settings.imap_mailbox: imap_* settings need imap_host",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    assert!(!out.contains("secrets.imap_username"), "{out}");
}
