//! The workspace agent tests share: an organisation with an SDR agent answering through the
//! Ollama-compatible test server, and helpers to open channels and chats, store or ingest what a
//! contact writes, hand a chat to the agent and read what it decided.

use serde_json::{Value, json};

use crate::agent_llm::llm_config;
use crate::ollama_server::OllamaServer;
use crate::support::{TestApp, TestOrg, test_config};
use switchboard::actors::chat::TurnRequest;
use switchboard::config::Config;
use switchboard::db::models::{AgentExecution, Message, MessageInsertForm};
use switchboard::domain::{
    ChannelId, ChatId, ContactId, Direction, InboundMessage, InboundSender, MessageId,
    MessageStatus, SenderKind,
};

/// An organisation with one SDR agent (the shipped prompt), served by a test app whose model is
/// the Ollama-compatible test server.
pub(crate) struct Setup {
    pub(crate) app: TestApp,
    pub(crate) org: TestOrg,
    pub(crate) server: OllamaServer,
    pub(crate) config: Config,
    pub(crate) agent: String,
}

/// Test settings whose model is `server`, without retries.
pub(crate) fn config_for(server: &OllamaServer) -> Config {
    let mut config = test_config();
    config.llm = llm_config(&server.url, 0);
    config
}

/// A fresh organisation and its SDR agent with these budgets.
pub(crate) async fn setup_with(config: Config, server: OllamaServer, budgets: Value) -> Setup {
    let app = TestApp::spawn_with(config.clone()).await;
    let org = app.create_org("acme").await;
    let prompt = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/prompts/sdr.hbs"))
        .expect("prompt");
    let (status, agent) = app
        .post(
            "/api/v1/agents",
            &org.key,
            &json!({"name": "sdr", "kind": "sdr", "model": "llama3.1:8b",
                "prompt_template": prompt, "budgets": budgets,
                "tools": ["remember", "lookup_contact"]}),
        )
        .await;
    assert!(status.is_success(), "{status} {agent}");
    Setup {
        app,
        org,
        server,
        config,
        agent: agent["id"].as_str().expect("id").to_owned(),
    }
}

/// Like `setup`, on a database of its own: for tests whose outbox work (summaries,
/// follow-ups) another test app sharing the test database must not claim.
pub(crate) async fn setup_isolated(label: &str) -> (Setup, crate::migrations::TempDatabase) {
    let db = crate::migrations::TempDatabase::create(label).await;
    switchboard::db::migrate::run_pending(&db.url)
        .await
        .expect("migrate");
    let server = OllamaServer::start(384);
    let mut config = config_for(&server);
    config.database.url = db.url.clone().into();
    let setup = setup_with(
        config,
        server,
        json!({"turns_per_chat_per_day": 20, "tokens_per_day": 100000}),
    )
    .await;
    (setup, db)
}

/// Like `setup`, with these settings (the model server's address is filled in).
pub(crate) async fn setup_with_config(mut config: Config) -> Setup {
    let server = OllamaServer::start(384);
    config.llm = llm_config(&server.url, 0);
    setup_with(
        config,
        server,
        json!({"turns_per_chat_per_day": 20, "tokens_per_day": 100000}),
    )
    .await
}

/// The usual workspace: generous budgets, the shared test database.
pub(crate) async fn setup() -> Setup {
    let server = OllamaServer::start(384);
    let config = config_for(&server);
    setup_with(
        config,
        server,
        json!({"turns_per_chat_per_day": 20, "tokens_per_day": 100000}),
    )
    .await
}

/// A web channel of the organisation.
pub(crate) async fn channel(setup: &Setup, name: &str) -> ChannelId {
    let (status, body) = setup
        .app
        .post(
            "/api/v1/channels",
            &setup.org.key,
            &json!({"name": name, "kind": "web"}),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    serde_json::from_value(body["id"].clone()).expect("id")
}

/// A chat of `who` on `channel` with this autonomy, assigned to the agent when `assign`.
pub(crate) async fn chat(
    setup: &Setup,
    who: ContactId,
    channel: ChannelId,
    autonomy: &str,
    assign: bool,
) -> ChatId {
    let (status, body) = setup
        .app
        .post(
            "/api/v1/chats",
            &setup.org.key,
            &json!({"contact_id": who, "channel_id": channel, "external_thread_id": format!("t-{}", uuid::Uuid::now_v7())}),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    let id: ChatId = serde_json::from_value(body["id"].clone()).expect("id");
    if assign {
        hand_to_agent(setup, id, autonomy).await;
    } else {
        set_autonomy(setup, id, autonomy).await;
    }
    id
}

/// Stores an inbound message directly (no chat actor), as a committed inbound would be.
pub(crate) async fn inbound(
    setup: &Setup,
    chat: ChatId,
    channel: ChannelId,
    text: &str,
) -> MessageId {
    let mut conn = setup.app.ctx.db().get().await.expect("db");
    let message = Message::create(
        &mut conn,
        &MessageInsertForm {
            id: MessageId::new(),
            organization_id: setup.org.id,
            chat_id: chat,
            channel_id: channel,
            direction: Direction::Inbound,
            sender_kind: SenderKind::Contact,
            sender_user_id: None,
            sender_agent_id: None,
            body: text.into(),
            status: MessageStatus::Received,
            draft_state: None,
            external_id: Some(uuid::Uuid::now_v7().to_string()),
            reply_to_message_id: None,
        },
    )
    .await
    .expect("message");
    setup
        .app
        .ctx
        .short_term()
        .invalidate(chat)
        .await
        .expect("window");
    message.id
}

/// A turn request for one stored message of `chat`, as the chat actor would send it.
pub(crate) fn turn_request(setup: &Setup, chat: ChatId, message: MessageId) -> TurnRequest {
    TurnRequest {
        organization_id: setup.org.id,
        chat_id: chat,
        messages: vec![message],
        turn_number: 1,
        followup: None,
    }
}

/// The chat's execution log, newest first.
pub(crate) async fn executions(setup: &Setup, chat: ChatId) -> Vec<AgentExecution> {
    let mut conn = setup.app.ctx.db().get().await.expect("db");
    AgentExecution::list_for_chat(&mut conn, setup.org.id, chat, 20)
        .await
        .expect("executions")
}

/// The system prompt of the model server's `index`-th chat request.
pub(crate) fn system_prompt(server: &OllamaServer, index: usize) -> String {
    server.chat_requests()[index].body["messages"][0]["content"]
        .as_str()
        .expect("system prompt")
        .to_owned()
}

/// The last chat request's system prompt.
pub(crate) fn last_system_prompt(setup: &Setup) -> String {
    let count = setup.server.chat_requests().len();
    assert!(count > 0, "no chat request reached the model");
    system_prompt(&setup.server, count - 1)
}

/// Assigns the chat to the agent and sets its autonomy, as an operator would.
pub(crate) async fn hand_to_agent(setup: &Setup, chat: ChatId, autonomy: &str) {
    let (status, body) = setup
        .app
        .post(
            &format!("/api/v1/chats/{chat}/assign"),
            &setup.org.key,
            &json!({"agent_id": setup.agent}),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    set_autonomy(setup, chat, autonomy).await;
}

async fn set_autonomy(setup: &Setup, chat: ChatId, autonomy: &str) {
    let (status, body) = setup
        .app
        .patch(
            &format!("/api/v1/chats/{chat}"),
            &setup.org.key,
            &json!({"autonomy": autonomy}),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
}

/// What "Lead <lead@example.test>" writes in `thread` of a channel, as a channel edge would
/// hand it to ingest.
pub(crate) fn inbound_message(
    channel: ChannelId,
    thread: &str,
    external_id: &str,
    text: &str,
) -> InboundMessage {
    InboundMessage {
        sender: InboundSender {
            name: Some("Lead".into()),
            email: Some("lead@example.test".into()),
            ..Default::default()
        },
        ..crate::ingest::inbound(channel, thread, external_id, text)
    }
}
