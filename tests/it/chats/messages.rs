//! Messages of a chat: an operator send commits the message, the chat's preview and the
//! outbox row together (and a refused send leaves none of them); pages run newest first.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use super::{fixture, ids, new_chat, send, walk};
use crate::support::{TestApp, assert_error};
use switchboard::db::models::OutboxEntry;
use switchboard::db::schema::{messages, outbox};
use switchboard::domain::{OutboxStatus, Scope};

#[actix_web::test]
async fn operator_send_queues_message_outbox_row_and_preview_together() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let fx = fixture(&app, &org, "a").await;
    let chat = new_chat(&app, &org, &fx).await;
    let other_chat = new_chat(&app, &org, &fx).await;
    let owner = app
        .login(&org.owner_email, &org.owner_password, Some(&org.slug))
        .await;

    let body = format!("Hello Ada,\n\nthanks for your time. {}", "x".repeat(300));
    let (status, message) = send(&app, &owner, &chat, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{message}");
    assert_eq!(message["body"], body.as_str(), "stored as written");
    assert_eq!(message["direction"], "outbound");
    assert_eq!(message["sender_kind"], "operator");
    assert_eq!(message["status"], "queued");
    assert_eq!(message["sender_user_id"], org.owner_id.to_string());
    assert_eq!(message["channel_id"], fx.channel.as_str());
    let message_id = message["id"].as_str().expect("id").to_owned();

    let (_, updated) = app.get(&format!("/api/v1/chats/{chat}"), &org.key).await;
    assert_eq!(updated["last_message_at"], message["created_at"]);
    let preview = updated["last_message_preview"].as_str().expect("preview");
    assert_eq!(preview.chars().count(), 140);
    assert!(
        preview.starts_with("Hello Ada, thanks for your time. xxx"),
        "{preview}"
    );

    let mut conn = app.ctx.db().get().await.expect("db");
    let queued: Vec<OutboxEntry> = outbox::table
        .filter(outbox::organization_id.eq(org.id))
        .select(OutboxEntry::as_select())
        .load(&mut conn)
        .await
        .expect("outbox");
    assert_eq!(queued.len(), 1, "{queued:?}");
    let work = &queued[0];
    assert_eq!(work.kind, "message.send");
    assert_eq!(work.status, OutboxStatus::Pending);
    assert_eq!(work.ordering_key, Some(format!("chat:{chat}")));
    assert_eq!(work.idempotency_key, Some(format!("message:{message_id}")));
    assert_eq!(
        work.payload,
        json!({"message_id": message_id, "chat_id": chat, "channel_id": fx.channel})
    );

    // Refused sends leave neither a message nor an outbox row behind.
    let empty = send(&app, &org.key, &chat, "").await;
    assert_error(
        &empty,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert!(empty.1["error"]["details"]["fields"]["body"].is_array());
    assert_error(
        &send(&app, &org.key, &chat, "  \n ").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_error(
        &send(&app, &org.key, &chat, &"é".repeat(16_001)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let (_, elsewhere) = send(&app, &org.key, &other_chat, "other thread").await;
    let wrong_reply = app
        .post(
            &format!("/api/v1/chats/{chat}/messages"),
            &org.key,
            &json!({"body": "re", "reply_to_message_id": elsewhere["id"]}),
        )
        .await;
    assert_error(
        &wrong_reply,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_reference",
    );
    assert_eq!(
        wrong_reply.1["error"]["details"]["field"],
        "reply_to_message_id"
    );
    let reader = app.key_with(&org, &[Scope::Read]).await;
    let denied = send(&app, &reader, &chat, "hi").await;
    assert_error(&denied, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(denied.1["error"]["details"]["required_scope"], "write");

    let (status, reply) = app
        .post(
            &format!("/api/v1/chats/{chat}/messages"),
            &org.key,
            &json!({"body": "ok, 16000 characters is fine", "reply_to_message_id": message_id}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    assert!(reply["sender_user_id"].is_null(), "an API key is nobody");
    assert_eq!(reply["reply_to_message_id"], message_id.as_str());
    let (status, longest) = send(&app, &org.key, &chat, &"é".repeat(16_000)).await;
    assert_eq!(status, StatusCode::CREATED, "{longest}");

    let (_, listed) = app
        .get(&format!("/api/v1/chats/{chat}/messages"), &reader)
        .await;
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(3),
        "{listed}"
    );
    let rows: i64 = outbox::table
        .filter(outbox::organization_id.eq(org.id))
        .count()
        .get_result(&mut conn)
        .await
        .expect("count");
    assert_eq!(
        rows, 4,
        "one outbox row per accepted message, none for refusals"
    );
}

#[actix_web::test]
async fn messages_paginate_newest_first_and_filter_drafts() {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let fx = fixture(&app, &org, "a").await;
    let chat = new_chat(&app, &org, &fx).await;
    let mut sent = Vec::new();
    for i in 0..5 {
        let (status, message) = send(&app, &org.key, &chat, &format!("message {i}")).await;
        assert_eq!(status, StatusCode::CREATED, "{message}");
        sent.push(message["id"].as_str().expect("id").to_owned());
    }
    let draft = Uuid::now_v7();
    {
        let mut conn = app.ctx.db().get().await.expect("db");
        diesel::insert_into(messages::table)
            .values((
                messages::id.eq(draft),
                messages::organization_id.eq(org.id),
                messages::chat_id.eq(chat.parse::<Uuid>().expect("uuid")),
                messages::channel_id.eq(fx.channel.parse::<Uuid>().expect("uuid")),
                messages::direction.eq("outbound"),
                messages::sender_kind.eq("agent"),
                messages::body.eq("A draft for review"),
                messages::status.eq("queued"),
                messages::draft_state.eq("pending_approval"),
            ))
            .execute(&mut conn)
            .await
            .expect("draft");
    }
    let path = format!("/api/v1/chats/{chat}/messages");
    let mut expected: Vec<String> = sent.into_iter().rev().collect();
    expected.insert(0, draft.to_string());
    assert_eq!(walk(&app, &path, &org.key, 2).await, expected);
    assert_eq!(
        ids(
            &app,
            &format!("{path}?draft_state=pending_approval"),
            &org.key
        )
        .await,
        vec![draft.to_string()]
    );
    assert_error(
        &app.get(&format!("{path}?draft_state=maybe"), &org.key)
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    );
}
