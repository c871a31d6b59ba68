//! Webhook delivery: the secret, dedupe, what an update becomes (chat, contact, message), edits,
//! replies, attachments, deep links and groups.

use reqwest::StatusCode;
use serde_json::json;

use super::{SECRET, chat_for, chats_of, create_bot, deliver, messages_of};
use crate::support::TestApp;
use crate::telegram_server::{TelegramServer, message_json, text_update};
use switchboard::db::models::Event;

#[actix_web::test]
async fn a_webhook_update_becomes_a_message_in_a_new_chat_with_its_contact() {
    let server = TelegramServer::start(super::TOKEN);
    let app = TestApp::spawn().await;
    let org = app.create_org("tg").await;
    let channel = create_bot(&app, &org, &server, "webhook").await;

    let status = deliver(
        &app,
        &channel,
        Some(SECRET),
        &text_update(1, 5_000_000_001, 7, "Hi, pricing?"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let chat = chat_for(&app, &org, &channel, 5_000_000_001).await;
    let messages = messages_of(&app, &org, chat["id"].as_str().expect("id")).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["body"], json!("Hi, pricing?"));
    assert_eq!(messages[0]["direction"], json!("inbound"));
    assert_eq!(messages[0]["external_id"], json!("5000000001:7"));
    let (_, contact) = app
        .get(
            &format!(
                "/api/v1/contacts/{}",
                chat["contact_id"].as_str().expect("contact")
            ),
            &org.key,
        )
        .await;
    // Telegram ids beyond 32 bits survive as 64-bit integers.
    assert_eq!(contact["telegram_user_id"], json!(5_000_000_001_i64));
    assert_eq!(contact["telegram_chat_id"], json!(5_000_000_001_i64));
    assert_eq!(contact["telegram_username"], json!("ada"));
}

#[actix_web::test]
async fn a_redelivered_update_is_absorbed() {
    let server = TelegramServer::start(super::TOKEN);
    let app = TestApp::spawn().await;
    let org = app.create_org("tg").await;
    let channel = create_bot(&app, &org, &server, "webhook").await;
    let update = text_update(10, 4242, 1, "Once");
    assert_eq!(
        deliver(&app, &channel, Some(SECRET), &update).await,
        StatusCode::OK
    );
    assert_eq!(
        deliver(&app, &channel, Some(SECRET), &update).await,
        StatusCode::OK
    );
    let chat = chat_for(&app, &org, &channel, 4242).await;
    assert_eq!(
        messages_of(&app, &org, chat["id"].as_str().expect("id"))
            .await
            .len(),
        1
    );
    assert_eq!(chat["unread_count"], json!(1));
}

#[actix_web::test]
async fn a_wrong_or_missing_secret_is_refused_and_nothing_is_stored() {
    let server = TelegramServer::start(super::TOKEN);
    let app = TestApp::spawn().await;
    let org = app.create_org("tg").await;
    let channel = create_bot(&app, &org, &server, "webhook").await;
    let update = text_update(1, 99, 1, "forged");
    assert_eq!(
        deliver(&app, &channel, Some("webhook-Secret_124"), &update).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        deliver(&app, &channel, Some(""), &update).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        deliver(&app, &channel, None, &update).await,
        StatusCode::FORBIDDEN
    );
    assert!(chats_of(&app, &org, &channel).await.is_empty());

    // A polling-mode bot has no webhook: even the right secret is refused.
    let polling = create_bot(&app, &org, &server, "polling").await;
    assert_eq!(
        deliver(&app, &polling, Some(SECRET), &update).await,
        StatusCode::FORBIDDEN
    );
    assert!(chats_of(&app, &org, &polling).await.is_empty());
}

#[actix_web::test]
async fn deep_links_replies_attachments_and_edits_are_kept() {
    let server = TelegramServer::start(super::TOKEN);
    let app = TestApp::spawn().await;
    let org = app.create_org("tg").await;
    let channel = create_bot(&app, &org, &server, "webhook").await;
    let chat_id = 31_337_i64;
    let send = |update| {
        let (app, channel) = (&app, &channel);
        async move {
            assert_eq!(
                deliver(app, channel, Some(SECRET), &update).await,
                StatusCode::OK
            )
        }
    };
    send(text_update(1, chat_id, 1, "/start linkedin-q4promo")).await;
    send(text_update(2, chat_id, 2, "What does it cost?")).await;
    send(json!({ "update_id": 3, "message": message_json(chat_id, 3, chat_id, None, json!({
        "caption": "our current contract",
        "document": { "file_id": "DOC-1", "file_unique_id": "u1", "file_name": "contract.pdf",
                      "mime_type": "application/pdf", "file_size": 12345 },
        "reply_to_message": message_json(chat_id, 2, chat_id, Some("What does it cost?"), json!({})),
    })) }))
    .await;
    send(json!({ "update_id": 4, "edited_message": message_json(chat_id, 2, chat_id, Some("What does the team plan cost?"), json!({ "edit_date": 1_764_400_100 })) })).await;
    // A second deep link does not overwrite the first touch.
    send(text_update(5, chat_id, 5, "/start ads-black-friday")).await;

    let chat = chat_for(&app, &org, &channel, chat_id).await;
    let messages = messages_of(&app, &org, chat["id"].as_str().expect("id")).await;
    let bodies: Vec<&str> = messages
        .iter()
        .map(|m| m["body"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        bodies,
        [
            "/start linkedin-q4promo",
            "What does the team plan cost?",
            "our current contract",
            "/start ads-black-friday"
        ]
    );
    assert_eq!(
        messages[1]["metadata"]["original_body"],
        json!("What does it cost?")
    );
    assert_eq!(messages[2]["reply_to_message_id"], messages[1]["id"]);
    assert_eq!(
        messages[2]["attachments"],
        json!([{ "kind": "document", "file_name": "contract.pdf", "mime_type": "application/pdf",
                 "size": 12345, "external_ref": "DOC-1" }])
    );
    let (_, contact) = app
        .get(
            &format!(
                "/api/v1/contacts/{}",
                chat["contact_id"].as_str().expect("contact")
            ),
            &org.key,
        )
        .await;
    assert_eq!(
        contact["attributes"]["acquisition"],
        json!({ "start_payload": "linkedin-q4promo", "source": "linkedin", "campaign": "q4promo" })
    );
    let mut conn = app.ctx.db().get().await.expect("db");
    let events = Event::list_after(&mut conn, org.id, 0, None, 100)
        .await
        .expect("events");
    let updated: Vec<_> = events
        .iter()
        .filter(|e| e.event_type == "message.updated")
        .collect();
    assert_eq!(updated.len(), 1);
    assert_eq!(
        updated[0].payload["message"]["body"],
        json!("What does the team plan cost?")
    );
}

#[actix_web::test]
async fn group_messages_get_a_chat_of_their_own() {
    let server = TelegramServer::start(super::TOKEN);
    let app = TestApp::spawn().await;
    let org = app.create_org("tg").await;
    let channel = create_bot(&app, &org, &server, "webhook").await;
    let group = -1_001_234_567_890_i64;
    let update = json!({ "update_id": 1, "message": message_json(group, 10, 777, Some("Hello from the team"), json!({})) });
    assert_eq!(
        deliver(&app, &channel, Some(SECRET), &update).await,
        StatusCode::OK
    );
    let private = text_update(2, 777, 11, "and privately");
    assert_eq!(
        deliver(&app, &channel, Some(SECRET), &private).await,
        StatusCode::OK
    );
    let chats = chats_of(&app, &org, &channel).await;
    assert_eq!(chats.len(), 2);
    let group_chat = chat_for(&app, &org, &channel, group).await;
    let messages = messages_of(&app, &org, group_chat["id"].as_str().expect("id")).await;
    assert_eq!(
        messages[0]["metadata"]["telegram"]["chat_type"],
        json!("supergroup")
    );
    assert_eq!(
        messages[0]["metadata"]["telegram"]["chat_title"],
        json!("Sales group")
    );
}

#[actix_web::test]
async fn telegram_settings_are_checked() {
    let app = TestApp::spawn().await;
    let org = app.create_org("tg").await;
    let create = |settings: serde_json::Value, secrets: serde_json::Value| {
        let (app, org) = (&app, &org);
        async move {
            app.post(
                "/api/v1/channels",
                &org.key,
                &json!({ "name": format!("bot-{}", uuid::Uuid::now_v7()), "kind": "telegram",
                         "settings": settings, "secret_refs": secrets }),
            )
            .await
        }
    };
    let token = json!({ "bot_token": super::TOKEN_ENV });
    for (settings, secrets, field) in [
        (json!({ "mode": "push" }), token.clone(), "settings.mode"),
        (
            json!({ "mode": "webhook" }),
            token.clone(),
            "secret_refs.webhook_secret",
        ),
        (
            json!({ "api_url": "not a url" }),
            token.clone(),
            "settings.api_url",
        ),
        (
            json!({ "poll_timeout_secs": 600 }),
            token.clone(),
            "settings.poll_timeout_secs",
        ),
        (json!({}), json!({}), "secret_refs.bot_token"),
        (
            json!({}),
            json!({ "bot_token": "123456:AAE-literal-token" }),
            "secret_refs.bot_token",
        ),
    ] {
        let (status, body) = create(settings, secrets).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(
            body["error"]["details"]["fields"].get(field).is_some(),
            "{field}: {body}"
        );
    }
    let (status, body) = create(
        json!({ "mode": "polling", "api_url": "http://127.0.0.1:8081/" }),
        token,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}
