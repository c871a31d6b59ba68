//! Outbound email through the outbox and a real SMTP server: the received bytes carry our
//! Message-ID (stored on the message), the thread's In-Reply-To/References, RFC 8058 headers
//! and a DKIM signature that dkimpy verifies; 4xx is retried, 5xx suppresses the address, and
//! a connection lost after DATA is resent with the same Message-ID.

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::json;

use super::smtp_sink::{python, script};
use super::{EmailSetup, assert_status, fixture, header};
use switchboard::db::models::{Contact, Suppression};
use switchboard::db::schema::chats;
use switchboard::domain::{
    ChannelId, ContactId, InboundMessage, InboundSender, MessageStatus, OutboxStatus,
};

fn dkim_verifies(path: &std::path::Path) -> (bool, String) {
    let out = std::process::Command::new(python())
        .arg(script("dkim_verify.py"))
        .arg(path)
        .arg(fixture("dkim-test-only.txt"))
        .output()
        .expect("run dkim_verify.py");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The `h=` tag of the DKIM-Signature header, lower-cased names.
fn dkim_signed_headers(raw: &[u8]) -> Vec<String> {
    let sig = header(raw, "DKIM-Signature").expect("DKIM-Signature header");
    let h = sig
        .split(';')
        .map(str::trim)
        .find_map(|tag| tag.strip_prefix("h="))
        .expect("h= tag");
    h.split(':')
        .map(|s| s.trim().to_ascii_lowercase())
        .collect()
}

#[actix_web::test]
async fn email_outbound_threads_signs_and_offers_one_click_unsubscribe() {
    let s = EmailSetup::new().await;
    let (chat, _) = s.chat_with("ann@customer.test").await;

    let first = s
        .send(&chat, "Hello Ann,\n\nShall we talk on Tuesday?")
        .await;
    let (message, row) = s.settled(first).await;
    assert_eq!(row.status, OutboxStatus::Sent, "{row:?}");
    assert_status(&message, MessageStatus::Sent);
    let mails = s.sink.wait_for(1).await;
    let raw = &mails[0];

    // Our own Message-ID on the sending domain, stored on the message.
    let first_id = header(raw, "Message-ID").expect("Message-ID");
    assert_eq!(first_id, format!("<{}@acme.test>", first.0.simple()));
    assert_eq!(message.external_id.as_deref(), Some(first_id.as_str()));
    assert!(
        header(raw, "In-Reply-To").is_none(),
        "a first message answers nothing"
    );
    assert_eq!(header(raw, "Subject").as_deref(), Some("Hello from Acme"));

    // RFC 8058 one-click unsubscribe.
    let unsubscribe = header(raw, "List-Unsubscribe").expect("List-Unsubscribe");
    assert!(
        unsubscribe.starts_with(&format!(
            "<{}/unsubscribe/",
            s.app.ctx.config().server.public_url
        )) && unsubscribe.ends_with('>'),
        "{unsubscribe}"
    );
    assert_eq!(
        header(raw, "List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );

    // Plain text and HTML alternatives.
    let parsed = mail_parser::MessageParser::default()
        .parse(raw)
        .expect("parse");
    assert!(
        parsed
            .body_text(0)
            .expect("text")
            .contains("Shall we talk on Tuesday?")
    );
    assert!(
        parsed
            .body_html(0)
            .expect("html")
            .contains("<p>Shall we talk on Tuesday?</p>")
    );

    // DKIM: verified by dkimpy, covering the unsubscribe headers.
    let (ok, output) = dkim_verifies(&s.sink.path_of(1));
    assert!(ok, "dkimpy did not verify the signature: {output}");
    let signed = dkim_signed_headers(raw);
    for h in [
        "from",
        "subject",
        "message-id",
        "list-unsubscribe",
        "list-unsubscribe-post",
    ] {
        assert!(signed.contains(&h.to_owned()), "{h} not signed: {signed:?}");
    }

    // The contact answers; our next message threads under both.
    let thread: String = {
        let mut conn = s.app.ctx.db().get().await.expect("db");
        chats::table
            .filter(chats::id.eq(chat.parse::<uuid::Uuid>().expect("uuid")))
            .select(chats::external_thread_id)
            .first(&mut conn)
            .await
            .expect("chat")
    };
    let reply_id = "<reply-1@customer.test>";
    s.app
        .node
        .ingestor
        .ingest(InboundMessage {
            channel_id: ChannelId(s.channel.parse().expect("uuid")),
            external_thread_id: thread,
            external_message_id: reply_id.into(),
            sender: InboundSender {
                email: Some("ann@customer.test".into()),
                ..Default::default()
            },
            text: "Tuesday works.".into(),
            attachments: vec![],
            reply_to_external_id: Some(first_id.clone()),
            received_at: Utc::now(),
            metadata: json!({"email": {"subject": "Re: Hello from Acme"}}),
        })
        .await
        .expect("ingest reply");

    let second = s.send(&chat, "Great, see you then.").await;
    let (message, _) = s.settled(second).await;
    assert_status(&message, MessageStatus::Sent);
    let mails = s.sink.wait_for(2).await;
    let raw = &mails[1];
    assert_eq!(header(raw, "In-Reply-To").as_deref(), Some(reply_id));
    assert_eq!(
        header(raw, "References").as_deref(),
        Some(format!("{first_id} {reply_id}").as_str())
    );
    assert_eq!(
        header(raw, "Subject").as_deref(),
        Some("Re: Hello from Acme")
    );
    let (ok, output) = dkim_verifies(&s.sink.path_of(2));
    assert!(ok, "reply signature: {output}");
    let signed = dkim_signed_headers(raw);
    assert!(
        signed.contains(&"in-reply-to".to_owned()) && signed.contains(&"references".to_owned())
    );
}

#[actix_web::test]
async fn email_outbound_retries_4xx_until_accepted() {
    let s = EmailSetup::new().await;
    let (chat, _) = s.chat_with("tempfail-2@customer.test").await;
    let id = s.send(&chat, "Third time lucky").await;
    let (message, row) = s.settled(id).await;
    assert_eq!(row.status, OutboxStatus::Sent, "{row:?}");
    assert_eq!(row.attempts, 3, "two 451s, then 250");
    assert_status(&message, MessageStatus::Sent);
    let mails = s.sink.wait_for(1).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(
        header(&mails[0], "Message-ID").as_deref(),
        message.external_id.as_deref()
    );
}

#[actix_web::test]
async fn email_outbound_5xx_dead_letters_and_suppresses_the_address() {
    let s = EmailSetup::new().await;
    let (chat, contact) = s.chat_with("bounce@customer.test").await;
    let id = s.send(&chat, "Anyone there?").await;
    let (message, row) = s.settled(id).await;
    assert_eq!(row.status, OutboxStatus::Dead, "{row:?}");
    assert_eq!(row.attempts, 1, "a 5xx is not retried");
    assert!(
        row.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("550"),
        "{row:?}"
    );
    assert_status(&message, MessageStatus::Failed);

    let mut conn = s.app.ctx.db().get().await.expect("db");
    let suppressed = Suppression::find_email(&mut conn, s.org.id, "Bounce@Customer.test")
        .await
        .expect("query")
        .expect("suppressed");
    assert_eq!(suppressed.reason, "bounce");
    let contact = Contact::find(
        &mut conn,
        s.org.id,
        ContactId(contact.parse().expect("uuid")),
    )
    .await
    .expect("contact");
    assert!(contact.bounced_at.is_some());
    drop(conn);

    // Suppression is checked at send time: the next message never reaches SMTP.
    let again = s.send(&chat, "Second try").await;
    let (message, row) = s.settled(again).await;
    assert_eq!(row.status, OutboxStatus::Dead);
    assert!(
        row.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("suppressed"),
        "{row:?}"
    );
    assert_status(&message, MessageStatus::Failed);
    assert!(s.sink.received().is_empty());
}

#[actix_web::test]
async fn email_outbound_connection_lost_after_data_resends_with_the_same_message_id() {
    let s = EmailSetup::new().await;
    let (chat, _) = s.chat_with("drop-once@customer.test").await;
    let id = s.send(&chat, "Did this arrive?").await;
    let (message, row) = s.settled(id).await;
    assert_eq!(row.status, OutboxStatus::Sent, "{row:?}");
    assert_eq!(row.attempts, 2);
    assert_status(&message, MessageStatus::Sent);
    assert_eq!(
        message.metadata["email"]["delivery"], "unknown",
        "{:?}",
        message.metadata
    );
    let mails = s.sink.wait_for(2).await;
    let first = header(&mails[0], "Message-ID").expect("id");
    let second = header(&mails[1], "Message-ID").expect("id");
    assert_eq!(first, second, "the resend reuses the Message-ID");
    assert_eq!(message.external_id.as_deref(), Some(first.as_str()));
}
