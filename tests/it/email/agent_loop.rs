//! The whole email loop with an agent: an operator's mail goes out, the contact's reply comes in
//! through the signed webhook, threads into the same chat and shows live in the inbox; the chat's
//! agent (autonomy auto, model from the Ollama-compatible test server) answers, and its answer
//! leaves over SMTP to the contact, threaded under the contact's mail.

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message as Frame;

use super::{EmailSetup, header};
use crate::inbox_ws::{Socket, command, connect};
use crate::ollama_server::{OllamaServer, Scripted};
use futures_util::StreamExt;

const AGENT_REPLY: &str = "Yes, Ann: email campaigns are part of every plan.";

/// The next `message.created` event whose message matches `wanted`, skipping other frames.
/// The deadline is for broken code, not a timing assertion.
async fn next_message(socket: &mut Socket, wanted: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let frame = tokio::time::timeout(left, socket.next())
            .await
            .expect("the message event arrives")
            .expect("socket open")
            .expect("frame");
        let Frame::Text(text) = frame else { continue };
        let event: Value = serde_json::from_str(&text).expect("json frame");
        if event["type"] == "message.created" && wanted(&event["data"]["message"]) {
            return event["data"]["message"].clone();
        }
    }
}

fn text_of(raw: &[u8]) -> String {
    mail_parser::MessageParser::default()
        .parse(raw)
        .and_then(|m| m.body_text(0).map(|t| t.into_owned()))
        .unwrap_or_default()
}

#[actix_web::test]
async fn an_email_reply_reaches_the_inbox_and_the_agents_answer_leaves_threaded_by_smtp() {
    let model = OllamaServer::start(384);
    model.otherwise(Scripted::Reply(AGENT_REPLY.into()));
    let setup = EmailSetup::with_model(&model.url).await;
    let app = &setup.app;
    let key = &setup.org.key;
    let prompt = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/prompts/sdr.hbs"))
        .expect("prompt");
    let (status, agent) = app
        .post(
            "/api/v1/agents",
            key,
            &json!({"name": "sdr", "kind": "sdr", "model": "llama3.1:8b",
                "prompt_template": prompt,
                "budgets": {"turns_per_chat_per_day": 20, "tokens_per_day": 100000}}),
        )
        .await;
    assert!(status.is_success(), "{status} {agent}");

    // The operator writes first; the mail carries our Message-ID.
    let (chat, _) = setup.chat_with("ann@customer.test").await;
    let first = setup.send(&chat, "Hi Ann, thanks for your interest.").await;
    setup.settled(first).await;
    let sent = setup.sink.wait_for(1).await;
    let our_id = header(&sent[0], "Message-ID").expect("our Message-ID");

    // The agent takes the chat over.
    let (status, body) = app
        .post(
            &format!("/api/v1/chats/{chat}/assign"),
            key,
            &json!({"agent_id": agent["id"]}),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    let (status, body) = app
        .patch(
            &format!("/api/v1/chats/{chat}"),
            key,
            &json!({"autonomy": "auto"}),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");

    let mut inbox = connect(app, key, None).await.expect("inbox socket");
    command(&mut inbox, json!({"type": "subscribe", "id": "s1"})).await;

    // Ann answers our mail.
    let raw = format!(
        "From: Ann Customer <ann@customer.test>\r\n\
         To: Acme Sales <sales@acme.test>\r\n\
         Subject: Re: Hello from Acme\r\n\
         Message-ID: <ann-1@customer.test>\r\n\
         In-Reply-To: {our_id}\r\n\
         References: {our_id}\r\n\
         Date: Sun, 29 Nov 2026 10:00:00 +0000\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         \r\n\
         Does the plan include email campaigns?\r\n"
    );
    let (status, body) = setup.post_mail(raw.into_bytes()).await;
    assert!(status.is_success(), "{status} {body}");

    // Live in the inbox, in the same chat: her mail, then the agent's answer.
    let inbound = next_message(&mut inbox, |m| m["direction"] == "inbound").await;
    assert_eq!(inbound["chat_id"], json!(chat), "threaded by In-Reply-To");
    assert!(
        inbound["body"]
            .as_str()
            .is_some_and(|b| b.contains("email campaigns")),
        "{inbound}"
    );
    let answer = next_message(&mut inbox, |m| m["sender_kind"] == "agent").await;
    assert_eq!(answer["chat_id"], json!(chat));
    assert_eq!(answer["body"], AGENT_REPLY);
    assert_eq!(answer["sender_agent_id"], agent["id"]);

    // And out by SMTP, to Ann, under her mail.
    let mails = setup.sink.wait_for(2).await;
    let mail = &mails[1];
    assert!(
        header(mail, "To").is_some_and(|to| to.contains("ann@customer.test")),
        "{:?}",
        header(mail, "To")
    );
    assert_eq!(
        header(mail, "In-Reply-To").as_deref(),
        Some("<ann-1@customer.test>")
    );
    let references = header(mail, "References").expect("References");
    assert!(
        references.contains(&our_id) && references.contains("<ann-1@customer.test>"),
        "{references}"
    );
    assert!(text_of(mail).contains(AGENT_REPLY), "{}", text_of(mail));
    assert_eq!(
        model.chat_requests().len(),
        1,
        "one turn for one inbound mail"
    );
}
