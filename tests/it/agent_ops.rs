//! Agent operations through the real node and the Ollama-compatible test server: a resolved
//! chat's summary memory (retried by the outbox when the model fails, recalled in another
//! channel), the open deal in the prompt, a cancelled turn logged as cancelled, and a follow-up
//! answer signed by the agent that wrote it.

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::json;
use std::time::Duration;

use crate::agent_memory::contact;
use crate::agent_setup::{
    channel, chat, executions, hand_to_agent, inbound, inbound_message, last_system_prompt, setup,
    setup_isolated, turn_request,
};
use crate::ollama_server::Scripted;
use crate::support::{eventually, eventually_some};
use switchboard::actors::agent::AgentTurnHandler;
use switchboard::db::schema::outbox;
use switchboard::domain::OutboxId;

#[actix_web::test]
async fn a_resolved_chat_leaves_a_summary_memory_recalled_in_another_channel() {
    // A database of its own: no other test app's outbox may claim this summary.
    let (setup, db) = setup_isolated("agent_summary").await;
    let telegram_like = channel(&setup, "telegram-like").await;
    let email_like = channel(&setup, "email-like").await;
    let ada = contact(&setup.app, &setup.org, "Ada").await;
    let first = chat(&setup, ada, telegram_like, "draft", true).await;
    inbound(
        &setup,
        first,
        telegram_like,
        "We need the Pro plan for twelve seats",
    )
    .await;
    // The model fails once: the outbox retries; resolving does not wait for it.
    setup.server.script([
        Scripted::server_error(),
        Scripted::Reply("Ada wants the Pro plan for twelve seats; demo booked for Friday.".into()),
    ]);
    let (status, resolved) = setup
        .app
        .patch(
            &format!("/api/v1/chats/{first}"),
            &setup.org.key,
            &json!({"status": "resolved"}),
        )
        .await;
    assert!(status.is_success(), "{status} {resolved}");
    assert_eq!(resolved["status"], json!("resolved"));

    let memories = format!("/api/v1/contacts/{ada}/memories");
    let summary = eventually_some("the summary memory", || async {
        let (_, list) = setup.app.get(&memories, &setup.org.key).await;
        list["items"].as_array().and_then(|items| {
            items
                .iter()
                .find(|m| m["kind"] == json!("summary"))
                .cloned()
        })
    })
    .await;
    let content = summary["content"].as_str().expect("content").to_owned();
    assert_eq!(
        content, "Ada wants the Pro plan for twelve seats; demo booked for Friday.",
        "written by the chat's agent after one failed attempt"
    );
    assert_eq!(summary["agent_id"], json!(setup.agent));
    // Resolving again with nothing new said queues no second summary.
    let _ = setup
        .app
        .patch(
            &format!("/api/v1/chats/{first}"),
            &setup.org.key,
            &json!({"status": "open"}),
        )
        .await;
    let _ = setup
        .app
        .patch(
            &format!("/api/v1/chats/{first}"),
            &setup.org.key,
            &json!({"status": "resolved"}),
        )
        .await;
    let mut conn = setup.app.ctx.db().get().await.expect("db");
    let queued: i64 = outbox::table
        .filter(outbox::organization_id.eq(setup.org.id))
        .filter(outbox::kind.eq("agent.summary"))
        .count()
        .get_result(&mut conn)
        .await
        .expect("count");
    drop(conn);
    assert_eq!(queued, 1);

    // A later turn in another channel of the same contact recalls the summary.
    let second = chat(&setup, ada, email_like, "draft", true).await;
    let said = inbound(
        &setup,
        second,
        email_like,
        "Is the demo on Friday still on?",
    )
    .await;
    setup
        .server
        .script([Scripted::Reply("Yes, Friday.".into())]);
    let handler = AgentTurnHandler::new(&setup.app.ctx, None).expect("handler");
    handler.take_turn(turn_request(&setup, second, said)).await;
    let prompt = last_system_prompt(&setup);
    assert!(prompt.contains(&format!("- {content}")), "{prompt}");

    setup.app.handle.stop(true).await;
    setup.app.node.shutdown().await;
    db.drop().await;
}

#[actix_web::test]
async fn the_prompt_names_the_contacts_open_deal_stage_pipeline_and_value() {
    let setup = setup().await;
    let web = channel(&setup, "web").await;
    let ada = contact(&setup.app, &setup.org, "Ada").await;
    let (status, pipeline) = setup
        .app
        .post(
            "/api/v1/pipelines",
            &setup.org.key,
            &json!({"name": "Enterprise", "stages": [
                {"name": "Qualified"}, {"name": "Negotiation"},
                {"name": "Closed won", "outcome": "won"}]}),
        )
        .await;
    assert!(status.is_success(), "{pipeline}");
    let stage = |i: usize| pipeline["stages"][i]["id"].clone();
    for (name, stage_id, cents) in [
        ("Old pilot", stage(2), 99_900),
        ("Rollout", stage(1), 1_200_050),
    ] {
        let (status, deal) = setup
            .app
            .post(
                "/api/v1/deals",
                &setup.org.key,
                &json!({"name": name, "pipeline_id": pipeline["id"], "stage_id": stage_id,
                        "contact_id": ada, "value_cents": cents, "currency": "EUR"}),
            )
            .await;
        assert!(status.is_success(), "{status} {deal}");
    }
    let chat = chat(&setup, ada, web, "draft", true).await;
    let said = inbound(&setup, chat, web, "Where are we with the contract?").await;
    setup
        .server
        .script([Scripted::Reply("Almost there.".into())]);
    let handler = AgentTurnHandler::new(&setup.app.ctx, None).expect("handler");
    handler.take_turn(turn_request(&setup, chat, said)).await;
    let prompt = last_system_prompt(&setup);
    assert!(
        prompt.contains("- Deal stage: Negotiation (pipeline Enterprise, value 12000.50 EUR)"),
        "{prompt}"
    );
    assert!(
        !prompt.contains("Closed won"),
        "a won deal is not open: {prompt}"
    );
}

#[actix_web::test]
async fn a_turn_cancelled_by_a_newer_message_is_logged_as_cancelled_with_its_reason() {
    let setup = setup().await;
    let web = channel(&setup, "web").await;
    let ingestor = setup.app.node.ingestor.clone();
    let first = ingestor
        .ingest(inbound_message(web, "thread-ops", "m1", "Hello"))
        .await
        .expect("ingest");
    let chat_id = first.chat.id;
    hand_to_agent(&setup, chat_id, "auto").await;
    setup.server.script([
        Scripted::Slow(
            Duration::from_secs(60),
            Box::new(Scripted::Reply("too late".into())),
        ),
        Scripted::Reply("Answering all of your messages.".into()),
    ]);
    ingestor
        .ingest(inbound_message(web, "thread-ops", "m2", "Are you there?"))
        .await
        .expect("ingest");
    // The slow turn has logged its start; a newer message cancels it.
    eventually("the running turn", || async {
        let rows = executions(&setup, chat_id).await;
        rows.iter().any(|e| e.status == "running")
    })
    .await;
    ingestor
        .ingest(inbound_message(web, "thread-ops", "m3", "I want a demo"))
        .await
        .expect("ingest");
    // (What the next turn answers is the chat actor's tests' business; this is about the log.)
    let rows = eventually_some("the cancelled turn", || async {
        let rows = executions(&setup, chat_id).await;
        rows.iter().any(|e| e.status == "cancelled").then_some(rows)
    })
    .await;
    let cancelled = rows
        .iter()
        .find(|e| e.status == "cancelled")
        .expect("cancelled");
    assert!(
        cancelled.outputs["reason"]
            .as_str()
            .is_some_and(|r| r.contains("newer inbound message")),
        "{:?}",
        cancelled.outputs
    );
    assert!(cancelled.finished_at.is_some());
}

#[actix_web::test]
async fn a_followup_answer_is_signed_by_the_followup_agent_not_the_assigned_one() {
    let setup = setup().await;
    let prompt =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/prompts/followup.hbs"))
            .expect("prompt");
    let (status, followup) = setup
        .app
        .post(
            "/api/v1/agents",
            &setup.org.key,
            &json!({"name": "followup", "kind": "followup", "model": "llama3.1:8b",
                "prompt_template": prompt}),
        )
        .await;
    assert!(status.is_success(), "{status} {followup}");
    setup
        .server
        .otherwise(Scripted::Reply("Still keen on that demo?".into()));
    let web = channel(&setup, "web").await;
    let ada = contact(&setup.app, &setup.org, "Ada").await;
    let chat = chat(&setup, ada, web, "draft", true).await;
    inbound(&setup, chat, web, "Maybe a demo next week").await;
    let id = OutboxId::new();
    {
        let mut conn = setup.app.ctx.db().get().await.expect("db");
        diesel::insert_into(outbox::table)
            .values((
                outbox::id.eq(id),
                outbox::organization_id.eq(setup.org.id),
                outbox::kind.eq("agent.followup"),
                outbox::ordering_key.eq(format!("followup:{chat}")),
                outbox::payload.eq(json!({
                    "chat_id": chat, "contact_id": ada, "agent_id": followup["id"],
                    "execution_id": null, "note": "ask about the demo",
                })),
                outbox::next_attempt_at.eq(Utc::now()),
            ))
            .execute(&mut conn)
            .await
            .expect("outbox row");
    }
    setup.app.node.outbox_waker.notify();
    let draft = eventually_some("the follow-up draft", || async {
        let (_, messages) = setup
            .app
            .get(&format!("/api/v1/chats/{chat}/messages"), &setup.org.key)
            .await;
        messages["items"].as_array().and_then(|items| {
            items
                .iter()
                .find(|m| m["sender_kind"] == json!("agent"))
                .cloned()
        })
    })
    .await;
    assert_eq!(draft["body"], json!("Still keen on that demo?"));
    assert_eq!(draft["sender_agent_id"], followup["id"], "{draft}");
    assert_ne!(draft["sender_agent_id"], json!(setup.agent));
}
