//! The agents of `agents/*.toml` in every organisation, over real PostgreSQL and Redis: a new
//! organisation lists the shipped agents (origin `file`) and its SDR answers a chat through the
//! Ollama-compatible test server; after a start-up with changed files an agent the
//! organisation edited keeps its edits while an untouched one follows its file; a deleted one
//! stays deleted; an organisation's own agent of the same name wins; nodes provisioning at once
//! create each agent once; and no organisation sees another's rows.

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

use crate::agent_llm::llm_config;
use crate::ollama_server::{OllamaServer, Scripted};
use crate::support::{PASSWORD, TestApp, TestOrg, test_config};
use switchboard::actors::agent::AgentTurnHandler;
use switchboard::actors::chat::{TurnDecision, TurnRequest};
use switchboard::agents::provision::{Provisioned, provision_all, provision_organization};
use switchboard::config::{Config, Sensitive};
use switchboard::context::AppContext;
use switchboard::db::models::{Message, MessageInsertForm};
use switchboard::domain::{
    ChannelId, ChatId, Direction, MessageId, MessageStatus, Role, SenderKind,
};
use switchboard::seed;

fn repo(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)
}

/// The test configuration with the shipped folders (or `agents_dir`).
fn config_with(agents_dir: PathBuf) -> Config {
    let mut config = test_config();
    config.paths.agents_dir = agents_dir;
    config.paths.prompts_dir = repo("prompts");
    config.paths.channels_dir = repo("channels");
    config
}

/// An organisation created the way a running deployment creates one: with its file agents.
async fn org_with_agents(app: &TestApp, label: &str) -> TestOrg {
    let unique = uuid::Uuid::now_v7().simple().to_string();
    let slug = format!("{label}-{}", &unique[unique.len() - 12..]);
    let email = format!("owner-{unique}@example.test");
    let created = seed::create_organization_with_agents(&app.ctx, label, &slug, &email, PASSWORD)
        .await
        .expect("org");
    let mut conn = app.ctx.db().get().await.expect("db");
    let (_, key) = seed::create_api_key(
        &mut conn,
        created.organization.id,
        "test",
        Role::Owner.scopes(),
        None,
    )
    .await
    .expect("key");
    TestOrg {
        id: created.organization.id,
        slug,
        owner_id: created.owner.id,
        owner_email: email,
        owner_password: PASSWORD.into(),
        key,
    }
}

/// The organisation's agents by name.
async fn agents(app: &TestApp, org: &TestOrg) -> Vec<Value> {
    let (status, body) = app.get("/api/v1/agents?limit=50", &org.key).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut items = body["items"].as_array().expect("items").clone();
    items.sort_by_key(|a| a["name"].as_str().unwrap_or_default().to_owned());
    items
}

fn named<'a>(agents: &'a [Value], name: &str) -> &'a Value {
    agents
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("no agent {name} in {agents:?}"))
}

async fn created_id(app: &TestApp, org: &TestOrg, path: &str, body: Value) -> String {
    let (status, body) = app.post(path, &org.key, &body).await;
    assert!(status.is_success(), "{path}: {status} {body}");
    body["id"].as_str().expect("id").to_owned()
}

#[actix_web::test]
async fn a_new_organisation_has_the_shipped_agents_and_its_sdr_answers_a_chat() {
    let server = OllamaServer::start(384);
    let mut config = config_with(repo("agents"));
    config.llm = llm_config(&server.url, 0);
    let app = TestApp::spawn_with(config).await;
    let org = org_with_agents(&app, "fresh").await;

    let listed = agents(&app, &org).await;
    let names: Vec<&str> = listed.iter().filter_map(|a| a["name"].as_str()).collect();
    assert_eq!(names, ["bizdev", "followup", "sdr"]);
    for agent in &listed {
        assert_eq!(agent["origin"]["source"], "file", "{agent}");
        assert_eq!(
            agent["origin"]["file"],
            format!("{}.toml", agent["name"].as_str().unwrap_or_default())
        );
        assert_eq!(agent["origin"]["overridden"], false);
    }
    let sdr = named(&listed, "sdr");
    assert_eq!(sdr["model"], "llama3.1:8b");
    assert_eq!(sdr["budgets"]["tokens_per_day"], 400_000, "from sdr.toml");
    let sdr_id = sdr["id"].as_str().expect("id").to_owned();

    // A chat assigned to the file SDR gets its turn through the model server.
    let channel: ChannelId = serde_json::from_value(json!(
        created_id(
            &app,
            &org,
            "/api/v1/channels",
            json!({"name": "web", "kind": "web"})
        )
        .await
    ))
    .expect("channel id");
    let ada = created_id(
        &app,
        &org,
        "/api/v1/contacts",
        json!({"name": "Ada Lovelace"}),
    )
    .await;
    let chat: ChatId = serde_json::from_value(json!(
        created_id(
            &app,
            &org,
            "/api/v1/chats",
            json!({"contact_id": ada, "channel_id": channel, "external_thread_id": "t-1"})
        )
        .await
    ))
    .expect("chat id");
    let (status, body) = app
        .post(
            &format!("/api/v1/chats/{chat}/assign"),
            &org.key,
            &json!({"agent_id": sdr_id}),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    let (status, body) = app
        .patch(
            &format!("/api/v1/chats/{chat}"),
            &org.key,
            &json!({"autonomy": "draft"}),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    let mut conn = app.ctx.db().get().await.expect("db");
    let said = Message::create(
        &mut conn,
        &MessageInsertForm {
            id: MessageId::new(),
            organization_id: org.id,
            chat_id: chat,
            channel_id: channel,
            direction: Direction::Inbound,
            sender_kind: SenderKind::Contact,
            sender_user_id: None,
            sender_agent_id: None,
            body: "Do you have a plan for a team of ten?".into(),
            status: MessageStatus::Received,
            draft_state: None,
            external_id: Some("m-1".into()),
            reply_to_message_id: None,
        },
    )
    .await
    .expect("message");
    drop(conn);
    app.ctx.short_term().invalidate(chat).await.expect("window");
    server.script([Scripted::Reply(
        "Hi Ada! Yes, the Team plan covers ten seats.".into(),
    )]);
    let handler = AgentTurnHandler::new(&app.ctx, None).expect("handler");
    let decision = handler
        .take_turn(TurnRequest {
            organization_id: org.id,
            chat_id: chat,
            messages: vec![said.id],
            turn_number: 1,
            followup: None,
        })
        .await;
    assert_eq!(
        decision,
        TurnDecision::Draft("Hi Ada! Yes, the Team plan covers ten seats.".into())
    );
    let asked = server.chat_requests();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].body["model"], "llama3.1:8b", "the file's model");
    let system = asked[0].body["messages"][0]["content"]
        .as_str()
        .unwrap_or_default();
    assert!(
        system.contains("Do you have a plan for a team of ten?"),
        "the sdr prompt rendered the chat: {system}"
    );
}

/// Copies the shipped definitions into a folder of the test's own.
fn agents_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for entry in std::fs::read_dir(repo("agents")).expect("agents") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            std::fs::copy(&path, dir.path().join(path.file_name().expect("name"))).expect("copy");
        }
    }
    dir
}

fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join(file);
    let source = std::fs::read_to_string(&path).expect("read");
    assert!(source.contains(from), "{file} has {from:?}");
    std::fs::write(&path, source.replacen(from, to, 1)).expect("write");
}

#[actix_web::test]
async fn edited_and_deleted_agents_survive_a_start_up_with_changed_files_and_untouched_ones_follow()
{
    let dir = agents_copy();
    let config = config_with(dir.path().to_owned());
    let app = TestApp::spawn_with(config.clone()).await;
    let org = org_with_agents(&app, "editor").await;
    let other = org_with_agents(&app, "bystander").await;
    let before = agents(&app, &org).await;
    let sdr = named(&before, "sdr")["id"].as_str().expect("id").to_owned();
    let bizdev = named(&before, "bizdev")["id"]
        .as_str()
        .expect("id")
        .to_owned();

    // The organisation takes the SDR over and deletes bizdev.
    let (status, body) = app
        .patch(
            &format!("/api/v1/agents/{sdr}"),
            &org.key,
            &json!({"temperature": 1.1, "description": "Ours now."}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app.get(&format!("/api/v1/agents/{sdr}"), &org.key).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["origin"]["overridden"], true, "{body}");
    assert_eq!(body["origin"]["source"], "file");
    let (status, _) = app
        .delete(&format!("/api/v1/agents/{bizdev}"), &org.key)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // Another organisation never reaches these rows.
    assert_eq!(
        app.get(&format!("/api/v1/agents/{sdr}"), &other.key)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.patch(
            &format!("/api/v1/agents/{sdr}"),
            &other.key,
            &json!({"temperature": 0.0})
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );

    // The files change, and the node starts again.
    edit(
        dir.path(),
        "sdr.toml",
        "temperature = 0.3",
        "temperature = 0.8",
    );
    edit(
        dir.path(),
        "followup.toml",
        "temperature = ",
        "temperature = 0.1 # was ",
    );
    let restarted = AppContext::connect(config).await.expect("context");
    let catalog = restarted.agent_catalog();
    assert!(catalog.problems.is_empty(), "{:?}", catalog.problems);
    let mut conn = restarted.db().get().await.expect("db");
    let done = provision_organization(&mut conn, org.id, catalog)
        .await
        .expect("provision");
    assert_eq!(
        done,
        [
            ("bizdev.toml".to_owned(), Provisioned::Deleted),
            ("followup.toml".to_owned(), Provisioned::Updated),
            ("sdr.toml".to_owned(), Provisioned::Overridden),
        ]
    );
    let again = provision_organization(&mut conn, org.id, catalog)
        .await
        .expect("provision again");
    assert_eq!(again[1].1, Provisioned::Unchanged, "idempotent");
    drop(conn);

    let after = agents(&app, &org).await;
    let names: Vec<&str> = after.iter().filter_map(|a| a["name"].as_str()).collect();
    assert_eq!(
        names,
        ["followup", "sdr"],
        "the deleted agent stays deleted"
    );
    let sdr_after = named(&after, "sdr");
    assert_eq!(
        sdr_after["temperature"], 1.1,
        "the organisation's edit is kept"
    );
    assert_eq!(sdr_after["description"], "Ours now.");
    let followup_before = named(&before, "followup");
    let followup_after = named(&after, "followup");
    assert_eq!(followup_after["id"], followup_before["id"], "same row");
    assert_eq!(followup_after["temperature"], 0.1, "follows its file");
    assert_eq!(followup_after["origin"]["overridden"], false);
    // The bystander's agents were not touched by the other organisation's edits.
    let theirs = agents(&app, &other).await;
    assert_eq!(theirs.len(), 3);
    assert_ne!(named(&theirs, "sdr")["temperature"], 1.1);
    assert!(
        !theirs.iter().any(|a| a["id"] == sdr.as_str()),
        "rows are per organisation"
    );
}

#[actix_web::test]
async fn an_organisations_own_agent_wins_over_a_file_of_the_same_name() {
    let app = TestApp::spawn_with(config_with(repo("agents"))).await;
    let org = app.create_org("ownsdr").await;
    let prompt = std::fs::read_to_string(repo("prompts/sdr.hbs")).expect("prompt");
    let (status, body) = app
        .post(
            "/api/v1/agents",
            &org.key,
            &json!({"name": "sdr", "kind": "sdr", "model": "qwen2.5:7b", "prompt_template": prompt}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let mut conn = app.ctx.db().get().await.expect("db");
    let done = provision_organization(&mut conn, org.id, app.ctx.agent_catalog())
        .await
        .expect("provision");
    assert_eq!(done[2], ("sdr.toml".to_owned(), Provisioned::NameTaken));
    drop(conn);
    let listed = agents(&app, &org).await;
    assert_eq!(listed.len(), 3);
    let sdr = named(&listed, "sdr");
    assert_eq!(sdr["model"], "qwen2.5:7b");
    assert_eq!(sdr["origin"]["source"], "organization", "{sdr}");
    assert_eq!(named(&listed, "bizdev")["origin"]["source"], "file");
}

#[actix_web::test]
async fn nodes_starting_at_once_provision_every_organisation_once() {
    let db = crate::migrations::TempDatabase::create("provision").await;
    switchboard::db::migrate::run_pending(&db.url)
        .await
        .expect("migrate");
    let mut config = config_with(repo("agents"));
    config.database.url = Sensitive::new(db.url.clone());
    let app = TestApp::spawn_with(config.clone()).await;
    let first = app.create_org("one").await;
    let second = app.create_org("two").await;
    assert!(
        agents(&app, &first).await.is_empty(),
        "created without agents"
    );

    let node_a = AppContext::connect(config.clone()).await.expect("a");
    let node_b = AppContext::connect(config).await.expect("b");
    let (a, b) = tokio::join!(provision_all(&node_a), provision_all(&node_b));
    assert_eq!(
        (a.expect("a"), b.expect("b")),
        (0, 0),
        "no organisation failed"
    );
    for org in [&first, &second] {
        let listed = agents(&app, org).await;
        let names: Vec<&str> = listed.iter().filter_map(|a| a["name"].as_str()).collect();
        assert_eq!(names, ["bizdev", "followup", "sdr"]);
    }
    drop(app);
    db.drop().await;
}
