//! Operators' actions run through the chat's actor: a person replying or taking the chat makes
//! the agent stand down, and a chat whose actor is backed up answers 429 `chat_busy` without
//! storing anything.

use diesel_async::RunQueryDsl;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use switchboard::actors::chat::GetStatus;
use switchboard::domain::{ChatId, InboundMessage, InboundSender};

use crate::agent_setup::{Setup, channel, hand_to_agent, setup};
use crate::ollama_server::Scripted;
use crate::support::eventually;

/// How long the model takes to answer: long enough for an operator to act meanwhile.
const SLOW_MODEL: Duration = Duration::from_secs(6);

/// A chat with the agent on autonomy `auto` whose contact just wrote; returns once the agent's
/// turn is waiting on the (slow) model.
async fn chat_with_a_thinking_agent(setup: &Setup, thread: &str) -> ChatId {
    let web = channel(setup, &format!("web-{thread}")).await;
    setup.server.otherwise(Scripted::Slow(
        SLOW_MODEL,
        Box::new(Scripted::Reply("The agent's late answer".into())),
    ));
    let first = inbound(setup, web, thread, "m1", "Hello").await;
    let chat = first.chat.id;
    hand_to_agent(setup, chat, "auto").await;
    inbound(setup, web, thread, "m2", "Can I get a demo?").await;
    eventually("the agent asks the model", || async {
        !setup.server.chat_requests().is_empty()
    })
    .await;
    chat
}

async fn inbound(
    setup: &Setup,
    channel: switchboard::domain::ChannelId,
    thread: &str,
    id: &str,
    text: &str,
) -> switchboard::channels::ingest::IngestOutcome {
    setup
        .app
        .node
        .ingestor
        .ingest(InboundMessage {
            sender: InboundSender {
                name: Some("Lead".into()),
                email: Some(format!("{thread}@example.test")),
                ..Default::default()
            },
            ..crate::ingest::inbound(channel, thread, &format!("{thread}-{id}"), text)
        })
        .await
        .expect("ingest")
}

async fn messages(setup: &Setup, chat: ChatId) -> Vec<Value> {
    let (_, page) = setup
        .app
        .get(&format!("/api/v1/chats/{chat}/messages"), &setup.org.key)
        .await;
    page["items"].as_array().cloned().unwrap_or_default()
}

async fn executions(setup: &Setup, chat: ChatId) -> Vec<Value> {
    let (_, page) = setup
        .app
        .get(&format!("/api/v1/chats/{chat}/executions"), &setup.org.key)
        .await;
    page["items"].as_array().cloned().unwrap_or_default()
}

/// Waits for the cancelled turn's row, then past the moment the model would have answered, and
/// checks the agent stored nothing and its actor has nothing left to do.
async fn assert_agent_stood_down(setup: &Setup, chat: ChatId, reason_has: &str) {
    eventually("the thinking turn is logged as cancelled", || async {
        executions(setup, chat)
            .await
            .iter()
            .any(|e| e["status"] == json!("cancelled"))
    })
    .await;
    let logged = executions(setup, chat).await;
    let cancelled = logged
        .iter()
        .find(|e| e["status"] == json!("cancelled"))
        .expect("cancelled");
    let reason = cancelled["outputs"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains(reason_has), "{cancelled}");
    let status = setup
        .app
        .node
        .router
        .actor(setup.org.id, chat)
        .send(GetStatus)
        .await
        .expect("status");
    assert!(!status.turn_running, "{status:?}");
    assert_eq!(status.pending, 0, "{status:?}");
    assert_eq!(status.turns_cancelled, 1, "{status:?}");
    // The model would have answered by now; the abandoned turn must not have stored it.
    tokio::time::sleep(SLOW_MODEL).await;
    let stored = messages(setup, chat).await;
    assert!(
        stored.iter().all(|m| m["sender_kind"] != json!("agent")),
        "the agent answered after a person took over: {stored:?}"
    );
}

#[actix_web::test]
async fn an_operator_reply_makes_a_thinking_agent_stand_down() {
    let setup = setup().await;
    let chat = chat_with_a_thinking_agent(&setup, "op-reply").await;

    let (status, sent) = setup
        .app
        .post(
            &format!("/api/v1/chats/{chat}/messages"),
            &setup.org.key,
            &json!({"body": "Hi, I'm Sam from sales: happy to set that up."}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");

    assert_agent_stood_down(&setup, chat, "an operator replied").await;
    let stored = messages(&setup, chat).await;
    assert_eq!(
        stored[0]["id"], sent["id"],
        "the operator's reply is the newest"
    );
}

#[actix_web::test]
async fn taking_the_chat_makes_a_thinking_agent_stand_down() {
    let setup = setup().await;
    let chat = chat_with_a_thinking_agent(&setup, "op-assign").await;

    let (status, assigned) = setup
        .app
        .post(
            &format!("/api/v1/chats/{chat}/assign"),
            &setup.org.key,
            &json!({"user_id": setup.org.owner_id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{assigned}");

    assert_agent_stood_down(&setup, chat, "assigned to a person").await;
}

#[actix_web::test]
async fn a_backed_up_chat_answers_429_and_stores_nothing_it_refused() {
    let mut config = crate::support::test_config();
    config.server.chat_mailbox_capacity = 2;
    let setup = crate::agent_setup::setup_with_config(config).await;
    let web = channel(&setup, "web-busy").await;
    let chat = inbound(&setup, web, "busy", "m1", "Hello").await.chat.id;

    // Hold the chat's row: the first reply's transaction waits on it inside the chat's actor,
    // so the replies after it queue in the actor's mailbox until it is full.
    let mut holder = setup.app.ctx.db().get().await.expect("db");
    diesel::sql_query("BEGIN")
        .execute(&mut holder)
        .await
        .expect("begin");
    diesel::sql_query("SELECT id FROM chats WHERE id = $1 FOR UPDATE")
        .bind::<diesel::sql_types::Uuid, _>(uuid::Uuid::from(chat))
        .execute(&mut holder)
        .await
        .expect("lock");

    let url = format!("/api/v1/chats/{chat}/messages");
    let answered = Arc::new(AtomicUsize::new(0));
    let replies = (0..12).map(|n| {
        let request = setup
            .app
            .request(reqwest::Method::POST, &url, &setup.org.key)
            .json(&json!({"body": format!("reply {n}")}));
        let answered = answered.clone();
        async move {
            let response = request.send().await.expect("send");
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            answered.fetch_add(1, Ordering::SeqCst);
            (status, body)
        }
    });
    let all = tokio::spawn(futures_util::future::join_all(replies));
    // Nothing can be stored while the row is held, so whatever answers now was refused.
    eventually("a reply is refused", || async {
        AtomicUsize::load(&answered, Ordering::SeqCst) > 0
    })
    .await;
    diesel::sql_query("COMMIT")
        .execute(&mut holder)
        .await
        .expect("commit");
    let answers = all.await.expect("replies");

    let created: Vec<&Value> = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .map(|(_, b)| b)
        .collect();
    let refused: Vec<&Value> = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::TOO_MANY_REQUESTS)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(created.len() + refused.len(), answers.len(), "{answers:?}");
    assert!(!refused.is_empty(), "no reply was refused: {answers:?}");
    assert!(!created.is_empty(), "every reply was refused");
    assert!(
        refused
            .iter()
            .all(|b| b["error"]["code"] == json!("chat_busy")),
        "{refused:?}"
    );
    // Exactly the accepted replies are stored.
    let mut conn = setup.app.ctx.db().get().await.expect("db");
    let stored: Vec<uuid::Uuid> = {
        use diesel::{ExpressionMethods, QueryDsl};
        use switchboard::db::schema::messages;
        messages::table
            .filter(messages::chat_id.eq(uuid::Uuid::from(chat)))
            .filter(messages::sender_kind.eq("operator"))
            .select(messages::id)
            .load(&mut conn)
            .await
            .expect("messages")
    };
    assert_eq!(stored.len(), created.len());
    for reply in created {
        let id: uuid::Uuid = serde_json::from_value(reply["id"].clone()).expect("id");
        assert!(stored.contains(&id), "{reply}");
    }
}
