//! Scheduled agent follow-ups (`agent.followup` outbox rows) through the real node: a due one
//! runs an agent turn in its chat; a contact who replied after it was scheduled, or who opted
//! out, gets nothing.

use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};

use crate::agent_memory::contact;
use crate::agent_setup::{Setup, channel, chat, inbound, setup};
use crate::ollama_server::Scripted;
use switchboard::db::schema::{contacts, outbox};
use switchboard::domain::{AgentId, ChatId, ContactId, OutboxId};

/// Writes the row `schedule_followup` writes, due now, as if scheduled at `scheduled_at`.
async fn schedule(
    setup: &Setup,
    chat: ChatId,
    who: ContactId,
    scheduled_at: chrono::DateTime<Utc>,
) -> OutboxId {
    let agent: AgentId = serde_json::from_value(json!(setup.agent)).expect("agent id");
    let id = OutboxId::new();
    let mut conn = setup.app.ctx.db().get().await.expect("db");
    diesel::insert_into(outbox::table)
        .values((
            outbox::id.eq(id),
            outbox::organization_id.eq(setup.org.id),
            outbox::kind.eq("agent.followup"),
            outbox::ordering_key.eq(format!("followup:{chat}")),
            outbox::payload.eq(json!({
                "chat_id": chat, "contact_id": who, "agent_id": agent,
                "execution_id": null, "note": "ask whether the demo date works",
            })),
            outbox::next_attempt_at.eq(Utc::now()),
            outbox::created_at.eq(scheduled_at),
        ))
        .execute(&mut conn)
        .await
        .expect("outbox row");
    setup.app.node.outbox_waker.notify();
    id
}

/// Waits until the dispatcher finished the row; returns its final status.
async fn finished(setup: &Setup, id: OutboxId) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let mut conn = setup.app.ctx.db().get().await.expect("db");
        let status: String = outbox::table
            .filter(outbox::id.eq(id))
            .select(outbox::status)
            .first(&mut conn)
            .await
            .expect("row");
        if status == "sent" || status == "dead" {
            return status;
        }
        assert!(std::time::Instant::now() < deadline, "row still {status}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn agent_messages(setup: &Setup, chat: ChatId) -> Vec<Value> {
    let (_, messages) = setup
        .app
        .get(&format!("/api/v1/chats/{chat}/messages"), &setup.org.key)
        .await;
    messages["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m["sender_kind"] == json!("agent"))
        .collect()
}

#[actix_web::test]
async fn a_due_followup_drafts_a_message_in_its_chat() {
    let setup = setup().await;
    setup.server.otherwise(Scripted::Reply(
        "Does Tuesday still work for the demo?".into(),
    ));
    let web = channel(&setup, "web").await;
    let ada = contact(&setup.app, &setup.org, "Ada").await;
    let chat = chat(&setup, ada, web, "draft", true).await;
    inbound(&setup, chat, web, "Maybe a demo next week").await;
    let id = schedule(&setup, chat, ada, Utc::now()).await;
    assert_eq!(finished(&setup, id).await, "sent");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let drafts = agent_messages(&setup, chat).await;
        if let [draft, ..] = drafts.as_slice() {
            assert_eq!(
                draft["body"],
                json!("Does Tuesday still work for the demo?")
            );
            assert!(!draft["draft_state"].is_null(), "a draft: {draft}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no follow-up draft");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[actix_web::test]
async fn a_reply_after_scheduling_cancels_the_followup() {
    let setup = setup().await;
    setup
        .server
        .otherwise(Scripted::Reply("should never be asked".into()));
    let web = channel(&setup, "web").await;
    let ada = contact(&setup.app, &setup.org, "Ada").await;
    let chat = chat(&setup, ada, web, "draft", true).await;
    // Scheduled an hour ago; the contact wrote since (stored directly: no turn of its own).
    inbound(&setup, chat, web, "Sorry, was away. Still interested!").await;
    let id = schedule(&setup, chat, ada, Utc::now() - Duration::hours(1)).await;
    assert_eq!(finished(&setup, id).await, "sent");
    assert!(agent_messages(&setup, chat).await.is_empty());
    assert!(setup.server.chat_requests().is_empty(), "no model call");
}

#[actix_web::test]
async fn an_opted_out_contact_gets_no_followup() {
    let setup = setup().await;
    setup
        .server
        .otherwise(Scripted::Reply("should never be asked".into()));
    let web = channel(&setup, "web").await;
    let ada = contact(&setup.app, &setup.org, "Ada").await;
    let chat = chat(&setup, ada, web, "draft", true).await;
    inbound(&setup, chat, web, "Tell me more").await;
    {
        let mut conn = setup.app.ctx.db().get().await.expect("db");
        diesel::update(contacts::table.filter(contacts::id.eq(ada)))
            .set(contacts::unsubscribed_at.eq(Utc::now()))
            .execute(&mut conn)
            .await
            .expect("opt out");
    }
    let id = schedule(&setup, chat, ada, Utc::now()).await;
    assert_eq!(finished(&setup, id).await, "sent");
    assert!(agent_messages(&setup, chat).await.is_empty());
    assert!(setup.server.chat_requests().is_empty(), "no model call");
}
