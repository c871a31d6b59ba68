//! Replies going out through the outbox to the Telegram test server: the right chat, 429 with
//! `retry_after`, splitting, a user who blocked the bot, a group that became a supergroup, and the
//! typing indicator. Each test owns a throwaway database, so no other test's dispatcher claims its
//! rows (their Redis namespaces, where the shared limits live, differ).

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{SECRET, chat_for, create_bot, deliver, eventually, messages_of};
use crate::chats::send;
use crate::migrations::TempDatabase;
use crate::support::{TestApp, TestOrg, test_config};
use crate::telegram_server::{TelegramServer, message_json, text_update};
use switchboard::channels::TypingNotifier;
use switchboard::channels::telegram::TelegramTyping;
use switchboard::db::migrate;
use switchboard::db::models::{Channel, Chat};
use switchboard::domain::ChatId;

struct Setup {
    db: TempDatabase,
    app: TestApp,
    org: TestOrg,
    server: TelegramServer,
    channel: String,
}

impl Setup {
    async fn new(label: &str) -> Self {
        let db = TempDatabase::create(label).await;
        migrate::run_pending(&db.url).await.expect("migrate");
        let mut config = test_config();
        config.database.url = db.url.clone().into();
        config.server.deliver_messages = true;
        let app = TestApp::spawn_with(config).await;
        let org = app.create_org("tg").await;
        let server = TelegramServer::start(super::TOKEN);
        let channel = create_bot(&app, &org, &server, "webhook").await;
        Self {
            db,
            app,
            org,
            server,
            channel,
        }
    }

    /// A contact writes from `telegram_chat`; returns our chat's id.
    async fn inbound(&self, update: Value, telegram_chat: i64) -> String {
        assert_eq!(
            deliver(&self.app, &self.channel, Some(SECRET), &update).await,
            StatusCode::OK
        );
        let chat = chat_for(&self.app, &self.org, &self.channel, telegram_chat).await;
        chat["id"].as_str().expect("id").to_owned()
    }

    /// An operator's reply; returns the message id.
    async fn reply(&self, chat: &str, body: &str) -> String {
        let (status, message) = send(&self.app, &self.org.key, chat, body).await;
        assert_eq!(status, StatusCode::CREATED, "{message}");
        message["id"].as_str().expect("id").to_owned()
    }

    async fn message(&self, chat: &str, id: &str) -> Value {
        messages_of(&self.app, &self.org, chat)
            .await
            .into_iter()
            .find(|m| m["id"] == json!(id))
            .expect("message")
    }

    async fn settled(&self, chat: &str, id: &str, status: &str) -> Value {
        eventually(&format!("the message is {status}"), || async {
            self.message(chat, id).await["status"] == json!(status)
        })
        .await;
        self.message(chat, id).await
    }

    async fn finish(self) {
        self.app.handle.stop(true).await;
        self.app.node.shutdown().await;
        self.server.stop().await;
        self.db.drop().await;
    }
}

#[actix_web::test]
async fn a_reply_goes_to_the_contacts_telegram_chat() {
    let s = Setup::new("tg_reply").await;
    let chat = s
        .inbound(text_update(1, 7_000_000_001, 5, "Hi"), 7_000_000_001)
        .await;
    let id = s.reply(&chat, "Hello Ada, happy to help.").await;
    let message = s.settled(&chat, &id, "sent").await;
    assert_eq!(
        s.server.delivered(),
        [(7_000_000_001, "Hello Ada, happy to help.".to_owned())]
    );
    assert_eq!(message["external_id"], json!("7000000001:1001"));
    s.finish().await;
}

#[actix_web::test]
async fn a_429_pauses_the_bot_and_retries_after_retry_after() {
    let s = Setup::new("tg_429").await;
    let chat = s.inbound(text_update(1, 4711, 1, "Hi"), 4711).await;
    s.server.rate_limit_next(1, 1);
    let id = s.reply(&chat, "Sorry for the wait").await;
    s.settled(&chat, &id, "sent").await;
    let attempts = s.server.received("sendMessage");
    assert_eq!(attempts.len(), 2, "one refused, one accepted");
    assert!(
        attempts[1].at.duration_since(attempts[0].at) >= std::time::Duration::from_secs(1),
        "the retry waited for retry_after"
    );
    assert_eq!(
        s.server.delivered(),
        [(4711, "Sorry for the wait".to_owned())]
    );
    s.finish().await;
}

#[actix_web::test]
async fn a_long_reply_is_split_at_paragraphs_in_order() {
    let s = Setup::new("tg_split").await;
    let chat = s
        .inbound(text_update(1, 1234, 1, "Tell me everything"), 1234)
        .await;
    let paragraphs: Vec<String> = (1..=3)
        .map(|n| {
            format!("Paragraph {n}. {}", "Всё хорошо 😀 ".repeat(150))
                .trim()
                .to_owned()
        })
        .collect();
    let body = paragraphs.join("\n\n");
    assert!(body.encode_utf16().count() > 4096);
    let id = s.reply(&chat, &body).await;
    let message = s.settled(&chat, &id, "sent").await;
    let texts: Vec<String> = s.server.delivered().into_iter().map(|(_, t)| t).collect();
    for text in &texts {
        assert!(text.encode_utf16().count() <= 4096);
    }
    assert_eq!(texts, paragraphs, "cut at paragraph breaks, sent in order");
    assert_eq!(message["external_id"], json!("1234:1001"));
    s.finish().await;
}

#[actix_web::test]
async fn a_user_who_blocked_the_bot_is_marked_unreachable_without_retries() {
    let s = Setup::new("tg_blocked").await;
    let chat = s.inbound(text_update(1, 555, 1, "Hi"), 555).await;
    s.server.block(555);
    let id = s.reply(&chat, "Anything else?").await;
    s.settled(&chat, &id, "failed").await;
    assert_eq!(s.server.received("sendMessage").len(), 1, "no retries");
    let chat_row = chat_for(&s.app, &s.org, &s.channel, 555).await;
    let (_, contact) = s
        .app
        .get(
            &format!(
                "/api/v1/contacts/{}",
                chat_row["contact_id"].as_str().expect("contact")
            ),
            &s.org.key,
        )
        .await;
    assert!(contact["unreachable_at"].is_string(), "{contact}");
    s.finish().await;
}

#[actix_web::test]
async fn a_migrated_group_gets_its_new_id_and_the_reply_once() {
    let s = Setup::new("tg_migrate").await;
    let (old, new) = (-4_001_i64, -1_000_000_004_001_i64);
    let update = json!({ "update_id": 1, "message": message_json(old, 1, 99, Some("Team here"), json!({})) });
    let chat = s.inbound(update, old).await;
    s.server.migrate(old, new);
    let id = s.reply(&chat, "Hello team").await;
    s.settled(&chat, &id, "sent").await;
    assert_eq!(s.server.delivered(), [(new, "Hello team".to_owned())]);
    let moved = chat_for(&s.app, &s.org, &s.channel, new).await;
    assert_eq!(moved["id"], json!(chat));
    // The next reply goes straight to the new id.
    let next = s.reply(&chat, "Still there?").await;
    s.settled(&chat, &next, "sent").await;
    let attempts = s.server.received("sendMessage");
    assert_eq!(attempts.len(), 3, "one refused with migrate, two delivered");
    assert_eq!(attempts[2].params["chat_id"], json!(new));
    s.finish().await;
}

#[actix_web::test]
async fn the_typing_indicator_sends_chat_actions_until_stopped() {
    let s = Setup::new("tg_typing").await;
    let chat = s.inbound(text_update(1, 321, 1, "Hi"), 321).await;
    let chat_id: ChatId = serde_json::from_value(json!(chat)).expect("chat id");
    let (channel, chat) = {
        let mut conn = s.app.ctx.db().get().await.expect("db");
        let chat = Chat::find(&mut conn, s.org.id, chat_id)
            .await
            .expect("chat");
        let channel = Channel::find(&mut conn, s.org.id, chat.channel_id)
            .await
            .expect("channel");
        (channel, chat)
    };
    let typing = TelegramTyping::new()
        .start(&channel, &chat)
        .expect("a telegram chat");
    eventually("telegram shows typing", || async {
        s.server
            .received("sendChatAction")
            .iter()
            .any(|r| r.params["chat_id"] == json!(321) && r.params["action"] == json!("typing"))
    })
    .await;
    typing.stop().await;
    s.finish().await;
}
