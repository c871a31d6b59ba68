//! `seed-demo` builds a usable workspace and can be run again (as `deploy/dev/run` does).

use reqwest::StatusCode;

use crate::migrations::TempDatabase;
use crate::support::{TestApp, test_config};
use switchboard::config::Sensitive;
use switchboard::db::migrate;
use switchboard::seed;

#[actix_web::test]
async fn seed_demo_makes_a_workspace_and_reruns_cleanly() {
    let db = TempDatabase::create("seed").await;
    migrate::run_pending(&db.url).await.expect("migrate");
    let mut config = test_config();
    config.database.url = Sensitive::new(db.url.clone());
    config.paths.agents_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/agents").into();
    config.paths.channels_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/channels").into();
    config.paths.prompts_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/prompts").into();
    let app = TestApp::spawn_with(config).await;

    let first = seed::seed_demo(&app.ctx).await.expect("seed");
    let (status, agents) = app.get("/api/v1/agents", &first.api_key).await;
    assert_eq!(status, StatusCode::OK, "{agents}");
    let mut kinds: Vec<&str> = agents["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|a| a["kind"].as_str())
        .collect();
    kinds.sort();
    assert_eq!(kinds, vec!["bizdev", "followup", "sdr"]);
    let (_, contacts) = app.get("/api/v1/contacts", &first.api_key).await;
    assert_eq!(contacts["items"].as_array().map(Vec::len), Some(5));
    let (_, pipelines) = app.get("/api/v1/pipelines", &first.api_key).await;
    assert_eq!(pipelines["items"][0]["is_default"], true);
    let (_, chats) = app.get("/api/v1/chats", &first.api_key).await;
    assert_eq!(chats["items"][0]["unread_count"], 2, "{chats}");
    let sdr = agents["items"]
        .as_array()
        .and_then(|items| items.iter().find(|a| a["kind"] == "sdr"))
        .map(|a| a["id"].clone());
    assert_eq!(
        Some(chats["items"][0]["assigned_agent_id"].clone()),
        sdr,
        "the demo chat is the SDR agent's"
    );
    assert_eq!(chats["items"][0]["autonomy"], "draft", "{chats}");
    let (_, channels) = app.get("/api/v1/channels", &first.api_key).await;
    assert_eq!(channels["items"].as_array().map(Vec::len), Some(3));
    app.login(&first.email, &first.password, Some("demo")).await;

    let second = seed::seed_demo(&app.ctx).await.expect("seed again");
    assert_ne!(second.api_key, first.api_key);
    assert_eq!(
        app.get("/api/v1/me", &first.api_key).await.0,
        StatusCode::OK,
        "earlier keys keep working"
    );
    app.login(&second.email, &second.password, Some("demo"))
        .await;
    let (_, contacts) = app.get("/api/v1/contacts", &second.api_key).await;
    assert_eq!(
        contacts["items"].as_array().map(Vec::len),
        Some(5),
        "no duplicate sample data"
    );
    drop(app);
    db.drop().await;
}
