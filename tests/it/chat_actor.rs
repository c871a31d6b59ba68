//! Chat actors with a scripted agent: bursts become one turn, a newer message cancels a silent
//! turn, decisions are stored with their events, a panicking actor comes back, idle ones stop.

use chrono::Utc;
use futures_util::future::BoxFuture;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::{TestApp, TestOrg, eventually};
use switchboard::actors::chat::{
    ChatSettings, GetStatus, TurnDecision, TurnHandler, TurnLease, TurnRequest,
};
use switchboard::actors::router::ChatRouter;
use switchboard::channels::ingest::{IngestConfig, IngestOutcome, Ingestor};
use switchboard::db::models::Event;
use switchboard::domain::{ChannelId, InboundMessage, InboundSender};

/// Answers every turn with `decision` after `delay`; panics on the turns listed in `panic_on`.
struct ScriptedAgent {
    delay: Duration,
    decision: TurnDecision,
    panic_on: Vec<usize>,
    calls: Mutex<Vec<TurnRequest>>,
    count: AtomicUsize,
}

impl ScriptedAgent {
    fn new(delay: Duration, decision: TurnDecision) -> Arc<Self> {
        Arc::new(Self {
            delay,
            decision,
            panic_on: Vec::new(),
            calls: Mutex::new(Vec::new()),
            count: AtomicUsize::new(0),
        })
    }

    fn calls(&self) -> Vec<TurnRequest> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

impl TurnHandler for ScriptedAgent {
    fn run_turn(&self, request: TurnRequest) -> BoxFuture<'static, TurnDecision> {
        let call = self.count.fetch_add(1, Ordering::SeqCst) + 1;
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(request);
        }
        let (delay, decision, panics) = (
            self.delay,
            self.decision.clone(),
            self.panic_on.contains(&call),
        );
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            if panics {
                panic!("scripted agent panics on turn {call}");
            }
            decision
        })
    }
}

struct Setup {
    app: TestApp,
    org: TestOrg,
    channel: ChannelId,
    router: ChatRouter,
    ingestor: Ingestor,
}

async fn setup(agent: Arc<ScriptedAgent>, settings: ChatSettings) -> Setup {
    let app = TestApp::spawn().await;
    let org = app.create_org("acme").await;
    let (_, channel) = app
        .post(
            "/api/v1/channels",
            &org.key,
            &json!({"name": "web", "kind": "web"}),
        )
        .await;
    let channel: ChannelId = serde_json::from_value(channel["id"].clone()).expect("id");
    let router = ChatRouter::new(app.ctx.clone(), agent, settings, 2);
    let ingestor = Ingestor::start(
        app.ctx.db().clone(),
        IngestConfig::default(),
        vec![Arc::new(router.clone())],
    );
    Setup {
        app,
        org,
        channel,
        router,
        ingestor,
    }
}

fn settings(quiet_ms: u64) -> ChatSettings {
    ChatSettings {
        quiet_window: Duration::from_millis(quiet_ms),
        idle_timeout: Duration::from_secs(60),
        mailbox_capacity: 64,
        lease_ttl: Duration::from_secs(30),
    }
}

async fn say(setup: &Setup, id: &str, text: &str) -> IngestOutcome {
    setup
        .ingestor
        .ingest(InboundMessage {
            channel_id: setup.channel,
            external_thread_id: "thread".into(),
            external_message_id: id.into(),
            sender: InboundSender {
                name: Some("Lead".into()),
                email: Some("lead@example.test".into()),
                ..Default::default()
            },
            text: text.into(),
            attachments: Vec::new(),
            reply_to_external_id: None,
            received_at: Utc::now(),
            metadata: json!({}),
        })
        .await
        .expect("ingest")
}

async fn event_types(setup: &Setup) -> Vec<String> {
    let mut conn = setup.app.ctx.db().get().await.expect("db");
    Event::list_after(&mut conn, setup.org.id, 0, None, 100)
        .await
        .expect("events")
        .into_iter()
        .map(|e| e.event_type)
        .collect()
}

#[actix_web::test]
async fn a_burst_becomes_one_turn_and_the_reply_is_stored_and_queued() {
    let agent = ScriptedAgent::new(Duration::ZERO, TurnDecision::Reply("Happy to help!".into()));
    let setup = setup(agent.clone(), settings(150)).await;
    let first = say(&setup, "m1", "Hi").await;
    let second = say(&setup, "m2", "I have a question").await;
    let third = say(&setup, "m3", "about pricing").await;
    eventually("the reply is stored", || async {
        event_types(&setup)
            .await
            .iter()
            .filter(|t| *t == "message.created")
            .count()
            == 4
    })
    .await;
    let calls = agent.calls();
    assert_eq!(calls.len(), 1, "one turn for the burst: {calls:?}");
    assert_eq!(
        calls[0].messages,
        vec![first.message.id, second.message.id, third.message.id]
    );

    let chat = first.chat.id;
    let (_, messages) = setup
        .app
        .get(&format!("/api/v1/chats/{chat}/messages"), &setup.org.key)
        .await;
    let newest = &messages["items"][0];
    assert_eq!(
        (
            newest["body"].as_str(),
            newest["sender_kind"].as_str(),
            newest["status"].as_str()
        ),
        (Some("Happy to help!"), Some("agent"), Some("queued"))
    );
    assert_eq!(newest["reply_to_message_id"], json!(third.message.id));
}

#[actix_web::test]
async fn a_newer_message_cancels_a_turn_that_has_not_answered_yet() {
    let agent = ScriptedAgent::new(
        Duration::from_millis(600),
        TurnDecision::Reply("Answer".into()),
    );
    let setup = setup(agent.clone(), settings(30)).await;
    let first = say(&setup, "m1", "Question one").await;
    let actor = setup.router.actor(setup.org.id, first.chat.id);
    eventually("the first turn runs", || async {
        actor
            .send(GetStatus)
            .await
            .map(|s| s.turn_running)
            .unwrap_or(false)
    })
    .await;
    let second = say(&setup, "m2", "and another thing").await;
    eventually("the second turn answers", || async {
        event_types(&setup)
            .await
            .iter()
            .filter(|t| *t == "message.created")
            .count()
            == 3
    })
    .await;
    let status = actor.send(GetStatus).await.expect("status");
    assert_eq!((status.turns_started, status.turns_cancelled), (2, 1));
    assert_eq!(
        agent.calls()[1].messages,
        vec![first.message.id, second.message.id],
        "the new turn answers both"
    );
    let (_, messages) = setup
        .app
        .get(
            &format!("/api/v1/chats/{}/messages", first.chat.id),
            &setup.org.key,
        )
        .await;
    let replies = messages["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|m| m["sender_kind"] == "agent")
        .count();
    assert_eq!(replies, 1, "the cancelled turn left nothing behind");
}

#[actix_web::test]
async fn drafts_and_handoffs_are_stored_with_their_events() {
    let agent = ScriptedAgent::new(
        Duration::ZERO,
        TurnDecision::Draft("Draft for review".into()),
    );
    let setup = setup(agent, settings(20)).await;
    let first = say(&setup, "m1", "Hello").await;
    eventually("the draft is stored", || async {
        event_types(&setup)
            .await
            .contains(&"draft.created".to_owned())
    })
    .await;
    let (_, drafts) = setup
        .app
        .get(
            &format!(
                "/api/v1/chats/{}/messages?draft_state=pending_approval",
                first.chat.id
            ),
            &setup.org.key,
        )
        .await;
    assert_eq!(drafts["items"][0]["body"], "Draft for review");

    let agent = ScriptedAgent::new(
        Duration::ZERO,
        TurnDecision::Handoff("asked for a human".into()),
    );
    let setup = self::setup(agent, settings(20)).await;
    let first = say(&setup, "m1", "Can I talk to a person?").await;
    eventually("the hand-off is stored", || async {
        event_types(&setup)
            .await
            .contains(&"chat.updated".to_owned())
    })
    .await;
    let (_, chat) = setup
        .app
        .get(&format!("/api/v1/chats/{}", first.chat.id), &setup.org.key)
        .await;
    assert_eq!(chat["status"], "pending");
    let mut conn = setup.app.ctx.db().get().await.expect("db");
    let events = Event::list_after(&mut conn, setup.org.id, 0, None, 100)
        .await
        .expect("events");
    assert_eq!(
        events
            .last()
            .map(|e| e.payload["handoff"]["reason"].clone()),
        Some(json!("asked for a human"))
    );
}

#[actix_web::test]
async fn a_chat_actor_that_dies_is_started_again_and_loses_nothing() {
    let agent = Arc::new(ScriptedAgent {
        delay: Duration::ZERO,
        decision: TurnDecision::Reply("Back again".into()),
        panic_on: vec![1],
        calls: Mutex::new(Vec::new()),
        count: AtomicUsize::new(0),
    });
    let setup = setup(agent.clone(), settings(20)).await;
    let first = say(&setup, "m1", "Hello?").await;
    let dead = setup.router.actor(setup.org.id, first.chat.id);
    eventually("the actor died with its panicking turn", || async {
        !dead.connected()
    })
    .await;
    let second = say(&setup, "m2", "Hello again?").await;
    eventually("the restarted actor answers", || async {
        event_types(&setup)
            .await
            .iter()
            .filter(|t| *t == "message.created")
            .count()
            == 3
    })
    .await;
    assert_eq!(agent.calls().len(), 2);
    assert_eq!(agent.calls()[1].messages, vec![second.message.id]);
    let (_, messages) = setup
        .app
        .get(
            &format!("/api/v1/chats/{}/messages", first.chat.id),
            &setup.org.key,
        )
        .await;
    assert_eq!(
        messages["items"].as_array().map(Vec::len),
        Some(3),
        "both inbound messages are stored, and the reply"
    );
}

#[actix_web::test]
async fn idle_actors_stop_and_come_back_on_demand() {
    let agent = ScriptedAgent::new(Duration::ZERO, TurnDecision::Nothing);
    let quick = ChatSettings {
        quiet_window: Duration::from_millis(10),
        idle_timeout: Duration::from_millis(100),
        mailbox_capacity: 8,
        lease_ttl: Duration::from_secs(30),
    };
    let setup = setup(agent.clone(), quick).await;
    say(&setup, "m1", "ping").await;
    assert_eq!(setup.router.live_actors(), 1);
    eventually("the idle actor stops", || async {
        setup.router.live_actors() == 0
    })
    .await;
    say(&setup, "m2", "ping again").await;
    eventually("a new actor takes the turn", || async {
        agent.calls().len() == 2
    })
    .await;
}

#[actix_web::test]
async fn a_turn_waits_while_another_node_holds_the_chats_lease() {
    let agent = ScriptedAgent::new(
        Duration::ZERO,
        TurnDecision::Reply("Now it is my turn".into()),
    );
    let setup = setup(agent.clone(), settings(20)).await;
    let first = say(&setup, "m0", "warm-up").await;
    eventually("the warm-up turn", || async { agent.calls().len() == 1 }).await;
    let other_node = TurnLease::new(
        setup.app.ctx.redis(),
        setup.app.ctx.config().redis.key_prefix.clone(),
        "another-node".into(),
        Duration::from_secs(30),
    );
    let taken = Mutex::new(None);
    eventually("the warm-up turn releases its lease", || async {
        let fence = other_node.acquire(first.chat.id).await.expect("redis");
        if let Ok(mut taken) = taken.lock() {
            *taken = fence;
        }
        fence.is_some()
    })
    .await;
    let fence = taken.lock().ok().and_then(|t| *t).expect("fence");
    say(&setup, "m1", "Are you there?").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        agent.calls().len(),
        1,
        "no turn while another node holds the lease"
    );
    assert!(
        other_node
            .acquire(first.chat.id)
            .await
            .expect("redis")
            .is_some_and(|f| f > fence),
        "still the other node's"
    );
    other_node.release(first.chat.id).await.expect("release");
    eventually("the turn runs once the lease is free", || async {
        agent.calls().len() == 2
    })
    .await;
}

#[actix_web::test]
async fn a_turn_that_outlived_its_lease_cannot_store_its_decision() {
    let agent = ScriptedAgent::new(
        Duration::from_millis(500),
        TurnDecision::Reply("Too late".into()),
    );
    let short = ChatSettings {
        lease_ttl: Duration::from_millis(100),
        ..settings(20)
    };
    let setup = setup(agent.clone(), short).await;
    let first = say(&setup, "m1", "Hello").await;
    let actor = setup.router.actor(setup.org.id, first.chat.id);
    eventually("the turn runs", || async {
        actor
            .send(GetStatus)
            .await
            .map(|s| s.turn_running)
            .unwrap_or(false)
    })
    .await;
    // The lease expires mid-turn; another node takes it and stores its own decision first.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let other_node = TurnLease::new(
        setup.app.ctx.redis(),
        setup.app.ctx.config().redis.key_prefix.clone(),
        "another-node".into(),
        Duration::from_secs(30),
    );
    let fence = other_node
        .acquire(first.chat.id)
        .await
        .expect("redis")
        .expect("the expired lease is free");
    let mut conn = setup.app.ctx.db().get().await.expect("db");
    assert!(
        switchboard::db::models::Chat::advance_turn_fence(
            &mut conn,
            setup.org.id,
            first.chat.id,
            fence
        )
        .await
        .expect("fence")
    );
    eventually("the slow turn finishes", || async {
        actor
            .send(GetStatus)
            .await
            .map(|s| !s.turn_running)
            .unwrap_or(false)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (_, messages) = setup
        .app
        .get(
            &format!("/api/v1/chats/{}/messages", first.chat.id),
            &setup.org.key,
        )
        .await;
    assert!(
        messages["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|m| m["sender_kind"] != "agent"),
        "the superseded turn wrote nothing: {messages}"
    );
}
