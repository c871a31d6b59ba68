//! Short-term memory over real Redis and PostgreSQL: the window keeps the last N messages in
//! order with a TTL, survives losing its Redis key by rebuilding from PostgreSQL, and never
//! contains AI drafts nobody approved. Each test has its own Redis prefix and organisation.

use redis::AsyncCommands;
use std::time::Duration;

use crate::chats::{fixture, new_chat};
use crate::support::{TestApp, TestOrg};
use switchboard::db::models::{Message, MessageInsertForm};
use switchboard::domain::{
    ChannelId, ChatId, Direction, DraftState, MessageId, MessageStatus, OrganizationId, SenderKind,
};
use switchboard::memory::{ShortTermMemory, WindowEntry};

const WINDOW: usize = 5;
const TTL: Duration = Duration::from_secs(3600);

struct Chat {
    app: TestApp,
    org: TestOrg,
    id: ChatId,
    channel: ChannelId,
    memory: ShortTermMemory,
}

impl Chat {
    async fn new() -> Self {
        let app = TestApp::spawn().await;
        let org = app.create_org("memory").await;
        let fx = fixture(&app, &org, "memory").await;
        let id = ChatId(new_chat(&app, &org, &fx).await.parse().expect("chat id"));
        let channel = ChannelId(fx.channel.parse().expect("channel id"));
        let prefix = app.ctx.config().redis.key_prefix.clone();
        let memory = ShortTermMemory::new(app.ctx.redis(), prefix, WINDOW, TTL);
        Self {
            app,
            org,
            id,
            channel,
            memory,
        }
    }

    /// Commits a message (a draft when `draft` is set).
    async fn commit(&self, body: &str, draft: Option<DraftState>) -> Message {
        let inbound = draft.is_none() && body.starts_with("Q:");
        let form = MessageInsertForm {
            id: MessageId::new(),
            organization_id: self.org.id,
            chat_id: self.id,
            channel_id: self.channel,
            direction: if inbound {
                Direction::Inbound
            } else {
                Direction::Outbound
            },
            sender_kind: match (inbound, draft) {
                (true, _) => SenderKind::Contact,
                (false, Some(_)) => SenderKind::Agent,
                (false, None) => SenderKind::Operator,
            },
            sender_user_id: None,
            sender_agent_id: None,
            body: body.into(),
            status: if inbound {
                MessageStatus::Received
            } else {
                MessageStatus::Queued
            },
            draft_state: draft,
            external_id: None,
            reply_to_message_id: None,
        };
        let mut conn = self.app.ctx.db().get().await.expect("db");
        Message::create(&mut conn, &form).await.expect("message")
    }

    /// Commits a message, then appends it, as the chat actor does.
    async fn say(&self, body: &str) -> Message {
        let message = self.commit(body, None).await;
        self.memory.append(self.id, &message).await.expect("append");
        message
    }

    async fn window_as(&self, org: OrganizationId) -> Vec<WindowEntry> {
        let mut conn = self.app.ctx.db().get().await.expect("db");
        self.memory
            .window(&mut conn, org, self.id)
            .await
            .expect("window")
    }

    async fn window(&self) -> Vec<WindowEntry> {
        self.window_as(self.org.id).await
    }

    fn key(&self) -> String {
        self.memory.key(self.id)
    }

    async fn stored_len(&self) -> usize {
        self.app.ctx.redis().llen(self.key()).await.expect("llen")
    }

    /// Loses the window the way an expiry, restart or FLUSHALL would (only this test's key).
    async fn lose_window(&self) {
        let _: () = self.app.ctx.redis().del(self.key()).await.expect("del");
    }
}

fn bodies(window: &[WindowEntry]) -> Vec<&str> {
    window.iter().map(|e| e.body.as_str()).collect()
}

#[actix_web::test]
async fn the_window_keeps_the_last_n_messages_in_order_with_a_ttl() {
    let chat = Chat::new().await;
    assert!(chat.window().await.is_empty(), "a new chat has no history");
    chat.say("Q: hi, do you ship to Lisbon?").await;
    assert_eq!(chat.window().await.len(), 1, "first read builds the window");

    let mut said = vec![];
    for n in 1..=WINDOW + 2 {
        said.push(chat.say(&format!("reply {n}")).await);
    }
    let window = chat.window().await;
    let expected: Vec<WindowEntry> = said[said.len() - WINDOW..]
        .iter()
        .map(WindowEntry::from)
        .collect();
    assert_eq!(window, expected, "the last {WINDOW}, oldest first");
    assert_eq!(
        chat.stored_len().await,
        WINDOW,
        "Redis holds no more than N"
    );
    assert_eq!(window[0].direction, Direction::Outbound);
    assert_eq!(window[0].sender_kind, SenderKind::Operator);

    let ttl: i64 = chat.app.ctx.redis().pttl(chat.key()).await.expect("pttl");
    let ttl_ms = i64::try_from(TTL.as_millis()).expect("ms");
    assert!(ttl > 0 && ttl <= ttl_ms, "TTL set on write: {ttl}");
}

#[actix_web::test]
async fn a_lost_window_is_rebuilt_from_postgres() {
    let chat = Chat::new().await;
    chat.say("Q: hello").await;
    chat.window().await;
    for n in 1..=WINDOW + 2 {
        chat.say(&format!("line {n}")).await;
    }
    let before = chat.window().await;

    chat.lose_window().await;
    assert_eq!(chat.window().await, before, "rebuilt the same window");
    assert_eq!(chat.stored_len().await, WINDOW, "and wrote it back");
    let ttl: i64 = chat.app.ctx.redis().pttl(chat.key()).await.expect("pttl");
    assert!(ttl > 0, "the rebuilt window expires too: {ttl}");

    let next = chat.say("after the rebuild").await;
    let window = chat.window().await;
    assert_eq!(window.last(), Some(&WindowEntry::from(&next)));
    assert_eq!(window.len(), WINDOW);
}

#[actix_web::test]
async fn an_append_to_a_missing_window_leaves_it_for_the_next_read_to_rebuild() {
    let chat = Chat::new().await;
    chat.say("Q: first").await;
    chat.say("second").await;
    let exists: bool = chat
        .app
        .ctx
        .redis()
        .exists(chat.key())
        .await
        .expect("exists");
    assert!(!exists, "no lone entry hiding older messages");
    assert_eq!(bodies(&chat.window().await), vec!["Q: first", "second"]);

    let third = chat.say("third").await;
    assert!(
        !chat.memory.append(chat.id, &third).await.expect("append"),
        "appending the same message twice is a no-op"
    );
    assert_eq!(
        bodies(&chat.window().await),
        vec!["Q: first", "second", "third"]
    );
}

#[actix_web::test]
async fn drafts_nobody_approved_are_not_part_of_the_window() {
    let chat = Chat::new().await;
    chat.say("Q: what does it cost?").await;
    chat.window().await;
    let pending = chat
        .commit("draft: it is free", Some(DraftState::PendingApproval))
        .await;
    assert!(
        !chat.memory.append(chat.id, &pending).await.expect("append"),
        "a pending draft is not appended"
    );
    chat.commit("draft: rejected", Some(DraftState::Rejected))
        .await;
    let approved = chat
        .commit("It is 10 EUR a month.", Some(DraftState::Approved))
        .await;
    chat.memory
        .append(chat.id, &approved)
        .await
        .expect("append");
    chat.say("Q: thanks").await;
    let expected = vec![
        "Q: what does it cost?",
        "It is 10 EUR a month.",
        "Q: thanks",
    ];
    assert_eq!(bodies(&chat.window().await), expected);

    chat.lose_window().await;
    assert_eq!(
        bodies(&chat.window().await),
        expected,
        "the rebuild skips them too"
    );
}

#[actix_web::test]
async fn the_rebuild_reads_only_the_callers_organisation() {
    let chat = Chat::new().await;
    chat.say("Q: private").await;
    let other = chat.app.create_org("other").await;
    assert!(chat.window_as(other.id).await.is_empty());
    assert_eq!(bodies(&chat.window().await), vec!["Q: private"]);
}
