//! Inbound mail through `POST /webhooks/email/inbound` with MIME fixtures: signature and
//! replay protection, threading to the chat of the message replied to, quote/signature
//! stripping (original kept), dedupe, DSNs suppressing without reaching an agent, auto-replies
//! stored without a turn, malformed and oversized mail refused and kept aside.

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::Sha256;

use super::{EmailSetup, INBOUND_SECRET, fixture};
use switchboard::db::models::{Message, Suppression};
use switchboard::db::schema::messages;

fn sign(timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(INBOUND_SECRET.as_bytes()).expect("key");
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

impl EmailSetup {
    async fn post_mail_signed(
        &self,
        body: Vec<u8>,
        timestamp: i64,
        signature: &str,
    ) -> (StatusCode, Value) {
        let res = self
            .app
            .http
            .post(self.app.url("/webhooks/email/inbound"))
            .header("X-Switchboard-Channel", &self.channel)
            .header("X-Switchboard-Timestamp", timestamp.to_string())
            .header("X-Switchboard-Signature", signature)
            .header("Content-Type", "message/rfc822")
            .body(body)
            .send()
            .await
            .expect("post mail");
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub(crate) async fn post_mail(&self, body: Vec<u8>) -> (StatusCode, Value) {
        let now = Utc::now().timestamp();
        let signature = sign(now, &body);
        self.post_mail_signed(body, now, &signature).await
    }

    async fn stored(&self, id: &str) -> Message {
        let mut conn = self.app.ctx.db().get().await.expect("db");
        messages::table
            .filter(messages::organization_id.eq(self.org.id))
            .filter(messages::id.eq(id.parse::<uuid::Uuid>().expect("uuid")))
            .select(Message::as_select())
            .first(&mut conn)
            .await
            .expect("stored message")
    }

    async fn inbound_count(&self) -> i64 {
        let mut conn = self.app.ctx.db().get().await.expect("db");
        messages::table
            .filter(messages::organization_id.eq(self.org.id))
            .filter(messages::direction.eq("inbound"))
            .count()
            .get_result(&mut conn)
            .await
            .expect("count")
    }
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).expect("fixture")
}

#[actix_web::test]
async fn email_inbound_reply_threads_strips_quotes_dedupes_and_refuses_replays() {
    let s = EmailSetup::new().await;
    let (chat, _) = s.chat_with("ann@customer.test").await;
    let first = s.send(&chat, "Hello Ann,\nShall we talk on Tuesday?").await;
    let (sent, _) = s.settled(first).await;
    let parent = sent.external_id.expect("our Message-ID");
    let body = String::from_utf8(read("reply.eml"))
        .expect("utf8")
        .replace("{{PARENT}}", &parent)
        .into_bytes();

    // Wrong signature, stale timestamp: refused, nothing stored.
    let now = Utc::now().timestamp();
    let got = s.post_mail_signed(body.clone(), now, "sha256=00ff").await;
    assert_eq!(got.0, StatusCode::UNAUTHORIZED, "{}", got.1);
    assert_eq!(got.1["error"]["code"], "email_signature_invalid");
    let old = now - 3600;
    let got = s
        .post_mail_signed(body.clone(), old, &sign(old, &body))
        .await;
    assert_eq!(
        got.1["error"]["code"], "email_signature_expired",
        "{}",
        got.1
    );
    assert_eq!(s.inbound_count().await, 0);

    // Accepted: threaded to our chat, quote and signature stripped, original kept.
    let signature = sign(now, &body);
    let (status, answer) = s.post_mail_signed(body.clone(), now, &signature).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["status"], "stored");
    assert_eq!(answer["chat_id"], chat.as_str(), "threaded by In-Reply-To");
    let message = s.stored(answer["message_id"].as_str().expect("id")).await;
    assert_eq!(message.body, "Tuesday at 10 works for me.\n\nBest,\nAnn");
    assert_eq!(
        message.external_id.as_deref(),
        Some("<reply-1@customer.test>")
    );
    assert_eq!(message.reply_to_message_id, Some(first));
    let original = message.metadata["email"]["original_text"]
        .as_str()
        .expect("original");
    assert!(original.contains("> Shall we talk on Tuesday?") && original.contains("CFO"));

    // The same signed request again is a replay.
    let (status, replay) = s.post_mail_signed(body.clone(), now, &signature).await;
    assert_eq!(status, StatusCode::CONFLICT, "{replay}");
    assert_eq!(replay["error"]["code"], "email_replayed");

    // A fresh delivery of the same mail is absorbed as a duplicate.
    let later = now + 1;
    let (status, again) = s
        .post_mail_signed(body.clone(), later, &sign(later, &body))
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["status"], "duplicate");
    assert_eq!(again["message_id"], answer["message_id"]);
    assert_eq!(s.inbound_count().await, 1);
}

#[actix_web::test]
async fn email_inbound_dsn_suppresses_the_recipient_and_reaches_no_agent() {
    let s = EmailSetup::new().await;
    let (status, answer) = s.post_mail(read("dsn.eml")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["status"], "bounce_recorded");
    assert_eq!(
        answer["suppressed"],
        serde_json::json!(["gone@customer.test"])
    );
    let mut conn = s.app.ctx.db().get().await.expect("db");
    let row = Suppression::find_email(&mut conn, s.org.id, "gone@customer.test")
        .await
        .expect("query")
        .expect("suppressed");
    assert_eq!(row.reason, "bounce");
    drop(conn);
    assert_eq!(s.inbound_count().await, 0, "a DSN is not a conversation");
    assert_eq!(s.app.node.router.live_actors(), 0);
}

#[actix_web::test]
async fn email_inbound_auto_reply_is_stored_without_an_agent_turn() {
    let s = EmailSetup::new().await;
    let (status, answer) = s.post_mail(read("auto-reply.eml")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["status"], "auto_reply_stored");
    let message = s.stored(answer["message_id"].as_str().expect("id")).await;
    assert_eq!(message.metadata["no_turn"], true);
    assert_eq!(
        s.app.node.router.live_actors(),
        0,
        "an auto-reply is not handed to a chat actor"
    );

    // A person's mail on the same channel is handed over (the contrast that makes the above mean something).
    let body = String::from_utf8(read("reply.eml"))
        .expect("utf8")
        .replace("{{PARENT}}", "<unknown@elsewhere.test>")
        .into_bytes();
    let (status, answer) = s.post_mail(body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["status"], "stored");
    assert_eq!(s.app.node.router.live_actors(), 1);
}

#[actix_web::test]
async fn email_inbound_malformed_and_huge_mail_is_refused_and_kept_aside() {
    let s = EmailSetup::new().await;
    let (status, answer) = s.post_mail(read("malformed.eml")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["error"]["code"], "email_malformed");

    let mut huge = read("reply.eml");
    huge.extend(std::iter::repeat_n(b'a', 300 * 1024));
    let (status, answer) = s.post_mail(huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
    assert_eq!(answer["error"]["code"], "email_too_large");

    let kept: Vec<String> = std::fs::read_dir(s.rejected.path())
        .expect("rejected dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".eml"))
        .collect();
    assert_eq!(kept.len(), 2, "{kept:?}");
    let largest = std::fs::read_dir(s.rejected.path())
        .expect("dir")
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .max()
        .unwrap_or(0);
    assert!(largest <= 256 * 1024, "kept copies are capped");
    assert_eq!(s.inbound_count().await, 0);
    // The server is still fine.
    let (status, _) = s.post_mail(read("auto-reply.eml")).await;
    assert_eq!(status, StatusCode::OK);
}
