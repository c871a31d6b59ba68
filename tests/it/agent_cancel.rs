//! A newer inbound message cancels an agent turn that is still waiting for the model, through
//! the real node (ingest, chat router, chat actor, agent handler, supervisor) and the
//! Ollama-compatible test server: the turn after it runs to its reply while the model server is
//! still streaming the cancelled request, the cancelled turn is logged `cancelled`, and
//! cancelling hangs up on the model server.
//!
//! An earlier version of the first test cancelled the turn as soon as its execution row said
//! `running`, which (the row is written alongside the turn's admission checks) can be before its
//! model request has left. The cancelled turn then never asked the model, the test server's
//! scripted replies are handed out in arrival order, and the *next* turn received the slow reply
//! meant for the cancelled one: it stayed `running` for the script's minute. That was the test,
//! not the runtime; the test now cancels once the model server has the first request.

use serde_json::json;
use std::time::Duration;

use crate::agent_memory::contact;
use crate::agent_setup::{Setup, channel, chat, executions, setup};
use crate::ollama_server::Scripted;
use crate::support::{eventually, eventually_some};
use switchboard::db::models::Chat;
use switchboard::domain::{ChannelId, ChatId, InboundMessage, InboundSender};

fn said(channel: ChannelId, thread: &str, text: &str) -> InboundMessage {
    let id = uuid::Uuid::now_v7().to_string();
    InboundMessage {
        sender: InboundSender {
            name: Some("Ada".into()),
            ..Default::default()
        },
        ..crate::ingest::inbound(channel, thread, &id, text)
    }
}

/// Ada writes; the first model call is `first` (slow); while it runs she writes again. Returns
/// once the second turn's reply is stored, after checking the log of both turns.
async fn cancel_then_answer(
    setup: &Setup,
    first: Scripted,
    started: impl AsyncFn(&Setup, ChatId) -> bool,
) {
    let web = channel(setup, "web").await;
    let ada = contact(&setup.app, &setup.org, "Ada").await;
    let chat_id = chat(setup, ada, web, "auto", true).await;
    let thread = {
        let mut conn = setup.app.ctx.db().get().await.expect("db");
        Chat::find(&mut conn, setup.org.id, chat_id)
            .await
            .expect("chat")
            .external_thread_id
    };
    setup.server.script([
        first,
        Scripted::Reply("Answering both of your messages.".into()),
    ]);
    let ingestor = setup.app.node.ingestor.clone();
    let first = ingestor
        .ingest(said(web, &thread, "Hello"))
        .await
        .expect("ingest");
    // The first turn is waiting for the model; a newer message cancels it.
    eventually("the first turn's model call", || started(setup, chat_id)).await;
    let second = ingestor
        .ingest(said(web, &thread, "Are you there?"))
        .await
        .expect("ingest");

    let replies = eventually_some("the second turn's reply", || async {
        let (status, messages) = setup
            .app
            .get(&format!("/api/v1/chats/{chat_id}/messages"), &setup.org.key)
            .await;
        assert!(status.is_success(), "{status} {messages}");
        let replies: Vec<String> = messages["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|m| m["direction"] == json!("outbound"))
            .filter_map(|m| m["body"].as_str().map(str::to_owned))
            .collect();
        (!replies.is_empty()).then_some(replies)
    })
    .await;
    assert_eq!(replies, ["Answering both of your messages."]);
    let rows = executions(setup, chat_id).await;
    let logged: Vec<(&str, _)> = rows
        .iter()
        .map(|e| (e.status.as_str(), e.message_id))
        .collect();
    assert_eq!(
        logged,
        [
            ("replied", Some(second.message.id)),
            ("cancelled", Some(first.message.id))
        ],
        "newest first"
    );
}

#[actix_web::test]
async fn the_turn_after_a_cancelled_one_answers_while_the_model_still_works_on_the_cancelled_request()
 {
    let setup = setup().await;
    // The model server sits on the first request for a minute before its first byte.
    let slow = Scripted::Slow(
        Duration::from_secs(60),
        Box::new(Scripted::Reply("too late".into())),
    );
    // Cancelled once the model server holds the first request (scripted replies go out in
    // arrival order, so cancelling earlier would hand this slow one to the next turn).
    cancel_then_answer(&setup, slow, async |setup: &Setup, _chat: ChatId| {
        setup.server.chat_requests().len() == 1
    })
    .await;
}

#[actix_web::test]
async fn cancelling_a_turn_hangs_up_on_a_model_that_is_still_streaming() {
    let setup = setup().await;
    // A slow model: tokens trickle for minutes.
    let trickle = Scripted::Trickle("Still thinking about it ".repeat(2000));
    cancel_then_answer(&setup, trickle, async |setup: &Setup, _chat: ChatId| {
        setup.server.open_chat_streams() == 1
    })
    .await;
    eventually("the cancelled stream to be hung up", || async {
        setup.server.open_chat_streams() == 0
    })
    .await;
    assert_eq!(setup.server.abandoned_chat_streams(), 1);
}
