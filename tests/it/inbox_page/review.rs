//! AI drafts reviewed in the browser: approve as written, edit and send; both end up queued
//! with an outbox row. This scenario also seeds a realistic inbox and takes the screenshot
//! `e2e/screenshots/inbox.png`.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use reqwest::StatusCode;
use serde_json::json;
use std::path::Path;

use super::{channel, inbound, member, page_app, person, run_script};
use crate::support::{PASSWORD, TestApp, TestOrg};
use switchboard::db::models::{Chat, Message, MessageInsertForm, OutboxEntry};
use switchboard::db::schema::{ai_agents, organizations};
use switchboard::domain::{
    AgentId, ChatId, Direction, DraftState, InboundSender, MessageId, MessageStatus, SenderKind,
};

/// Inserts an agent's draft waiting for approval.
async fn draft(
    app: &TestApp,
    org: &TestOrg,
    chat: ChatId,
    agent: uuid::Uuid,
    body: &str,
) -> MessageId {
    let mut conn = app.ctx.db().get().await.expect("db");
    let chat_row = Chat::find(&mut conn, org.id, chat).await.expect("chat");
    let form = MessageInsertForm {
        id: MessageId::new(),
        organization_id: org.id,
        chat_id: chat,
        channel_id: chat_row.channel_id,
        direction: Direction::Outbound,
        sender_kind: SenderKind::Agent,
        sender_user_id: None,
        sender_agent_id: Some(AgentId(agent)),
        body: body.into(),
        status: MessageStatus::Queued,
        draft_state: Some(DraftState::PendingApproval),
        external_id: None,
        reply_to_message_id: None,
    };
    Message::create(&mut conn, &form).await.expect("draft").id
}

async fn agent(app: &TestApp, org: &TestOrg, name: &str) -> uuid::Uuid {
    let id = uuid::Uuid::now_v7();
    let mut conn = app.ctx.db().get().await.expect("db");
    diesel::insert_into(ai_agents::table)
        .values((
            ai_agents::id.eq(id),
            ai_agents::organization_id.eq(org.id),
            ai_agents::name.eq(name),
            ai_agents::kind.eq("sdr"),
            ai_agents::model.eq("llama3.1"),
            ai_agents::prompt_template.eq("sdr"),
        ))
        .execute(&mut conn)
        .await
        .expect("agent");
    id
}

#[actix_web::test]
async fn a_draft_approved_in_the_page_is_queued_for_delivery() {
    let app = page_app().await;
    let org = app.create_org("northwind").await;
    {
        let mut conn = app.ctx.db().get().await.expect("db");
        diesel::update(organizations::table.find(org.id))
            .set(organizations::name.eq("Northwind Sales"))
            .execute(&mut conn)
            .await
            .expect("rename");
    }
    let (maya_id, maya) = member(&app, &org, "Maya Chen").await;
    let maya_token = app
        .login(
            maya["email"].as_str().expect("email"),
            PASSWORD,
            Some(&org.slug),
        )
        .await;
    let sdr = agent(&app, &org, "SDR Agent").await;
    let web = channel(&app, &org, json!({"name": "Website chat", "kind": "web"})).await;
    let telegram = channel(
        &app,
        &org,
        json!({"name": "Telegram", "kind": "telegram", "settings": {"mode": "webhook"},
               "secret_refs": {"bot_token": "TELEGRAM_BOT_TOKEN", "webhook_secret": "TELEGRAM_WEBHOOK_SECRET"}}),
    )
    .await;
    let email = channel(
        &app,
        &org,
        json!({"name": "Sales mailbox", "kind": "email",
               "settings": {"from_address": "sales@northwind.test", "smtp_host": "smtp.northwind.test", "smtp_port": 587},
               "secret_refs": {"smtp_password": "SMTP_PASSWORD"}}),
    )
    .await;

    // A few other conversations, so the list looks like a working day.
    let marco = InboundSender {
        name: Some("Marco Bianchi".into()),
        telegram_username: Some("marcob".into()),
        telegram_user_id: Some(4_242_001),
        ..Default::default()
    };
    let marco_chat = inbound(
        &app,
        telegram,
        marco.clone(),
        "Ciao! Quick question about the API limits.",
    )
    .await;
    inbound(&app, telegram, marco, "Can we move our call to Friday?").await;
    let lena = inbound(
        &app,
        email,
        person("Lena Fischer", "lena@fischer-gmbh.test"),
        "Thanks for the proposal. Legal has two small comments on the renewal terms, see below.",
    )
    .await;
    let tom = inbound(
        &app,
        web,
        person("Tom Becker", "tom@becker.test"),
        "Do you integrate with HubSpot?",
    )
    .await;
    inbound(
        &app,
        email,
        person("Sofia Rossi", "sofia@rossi.test"),
        "Please send the invoice for October again, the PDF was empty.",
    )
    .await;
    for (chat, body) in [
        (&lena, json!({"user_id": maya_id})),
        (&tom, json!({"agent_id": sdr})),
    ] {
        let (status, assigned) = app
            .post(&format!("/api/v1/chats/{chat}/assign"), &org.key, &body)
            .await;
        assert_eq!(status, StatusCode::OK, "{assigned}");
    }
    app.post(
        &format!("/api/v1/chats/{marco_chat}/assign"),
        &org.key,
        &json!({"user_id": maya_id}),
    )
    .await;

    // The conversation under review.
    let priya = person("Priya Raman", "priya@lumen-analytics.test");
    let chat = inbound(&app, web, priya.clone(), "Hi! We're evaluating tools for our 12-person sales team. Does Switchboard handle Telegram and email in one inbox?").await;
    let (status, _) = app
        .post(
            &format!("/api/v1/chats/{chat}/messages"),
            &maya_token,
            &json!({"body": "Hi Priya! Yes: Telegram, email and website chat all land in one inbox, and every reply goes back through the channel it came from."}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    inbound(
        &app,
        web,
        priya,
        "Great. What does pricing look like for 12 seats, and is there a trial?",
    )
    .await;
    let approve = draft(&app, &org, chat, sdr, "Thanks Priya! For 12 seats the Team plan is $29 per seat and month, billed annually. I can set up a 14-day trial for your team today. Shall I send the invite to this address?").await;
    let edit = draft(
        &app,
        &org,
        chat,
        sdr,
        "Would a 20-minute demo on Thursday at 15:00 CET work for you?",
    )
    .await;
    app.post(
        &format!("/api/v1/chats/{chat}/assign"),
        &org.key,
        &json!({"user_id": maya_id}),
    )
    .await;

    let screenshot = format!("{}/e2e/screenshots/inbox.png", env!("CARGO_MANIFEST_DIR"));
    let edited = "Would a 20-minute demo on Thursday or Friday afternoon work for you?";
    let seen = run_script(
        &app,
        "draft.mjs",
        json!({"chat_id": chat, "user": maya, "approve_id": approve, "edit_id": edit,
               "edited_body": edited, "screenshot": screenshot,
               "screenshot_after": std::env::var("SB_E2E_SCREENSHOT_AFTER").ok()}),
    )
    .await;
    assert_eq!(
        seen["cards"][0]["buttons"],
        json!(["Approve", "Edit & send", "Reject"]),
        "{seen}"
    );
    assert_eq!(seen["drafts_left"], 0, "{seen}");
    assert!(Path::new(&screenshot).is_file());

    let mut conn = app.ctx.db().get().await.expect("db");
    for (id, body) in [(approve, None), (edit, Some(edited))] {
        let stored = Message::find_in_chat(&mut conn, org.id, chat, id)
            .await
            .expect("message");
        assert_eq!(stored.draft_state, Some(DraftState::Approved));
        assert_eq!(stored.status, MessageStatus::Queued);
        if let Some(body) = body {
            assert_eq!(stored.body, body, "the edit was sent");
        }
        let work =
            OutboxEntry::find_by_idempotency_key(&mut conn, org.id, &format!("message:{id}"))
                .await
                .expect("an outbox row delivers the approved draft");
        assert_eq!(work.kind, "message.send");
        let shown = seen["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .find(|m| m["id"] == id.to_string())
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            (
                shown["status"].as_str(),
                shown["draft_state"].as_str(),
                shown["draft_card"].as_bool()
            ),
            (Some("queued"), Some("approved"), Some(false)),
            "{seen}"
        );
    }
}
