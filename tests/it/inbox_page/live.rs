//! Live updates in the browser: two operators see each other's replies, and a page that lost its
//! connection (a drop, then the browser offline) shows everything sent meanwhile exactly once.

use serde_json::{Value, json};

use super::{channel, inbound, member, page_app, person, run_script};

#[actix_web::test]
async fn two_operators_see_each_others_replies_live() {
    let app = page_app().await;
    let org = app.create_org("acme").await;
    let (_, alice) = member(&app, &org, "Alice Moreau").await;
    let (_, bob) = member(&app, &org, "Bob Okafor").await;
    let web = channel(&app, &org, json!({"name": "Website", "kind": "web"})).await;
    let chat = inbound(
        &app,
        web,
        person("Ada Lovelace", "ada@example.test"),
        "Is anyone there?",
    )
    .await;

    let seen = run_script(
        &app,
        "live.mjs",
        json!({"chat_id": chat, "alice": alice, "bob": bob}),
    )
    .await;
    let bodies = |who: &str| -> Vec<String> {
        seen[who]
            .as_array()
            .expect("messages")
            .iter()
            .map(|m| m["body"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let expected = [
        "Is anyone there?",
        "Hello from Alice",
        "Hi Alice, Bob here.\nSecond line.",
    ];
    assert_eq!(bodies("alice"), expected, "{seen}");
    assert_eq!(bodies("bob"), expected, "{seen}");
    for who in ["alice", "bob"] {
        for message in seen[who].as_array().expect("messages").iter().skip(1) {
            assert_eq!(message["status"], "queued", "{who}: {message}");
            assert_eq!(message["pending"], false);
        }
    }
    assert_eq!(seen["alice_preview"], "Hi Alice, Bob here. Second line.");
    assert_eq!(seen["reply_box_after_send"], "");

    let (_, page) = app
        .get(&format!("/api/v1/chats/{chat}/messages"), &org.key)
        .await;
    assert_eq!(
        page["items"].as_array().map(Vec::len),
        Some(3),
        "each reply stored once: {page}"
    );
}

#[actix_web::test]
async fn a_reconnecting_page_misses_nothing_and_repeats_nothing() {
    let app = page_app().await;
    let org = app.create_org("acme").await;
    let (_, user) = member(&app, &org, "Carla Diaz").await;
    let web = channel(&app, &org, json!({"name": "Website", "kind": "web"})).await;
    let chat = inbound(
        &app,
        web,
        person("Grace Hopper", "grace@example.test"),
        "Hello?",
    )
    .await;

    let seen = run_script(
        &app,
        "reconnect.mjs",
        json!({"chat_id": chat, "user": user, "api_key": org.key}),
    )
    .await;
    let bodies: Vec<&str> = seen["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["body"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        bodies,
        [
            "Hello?",
            "while dropped 1",
            "while dropped 2",
            "while offline 1",
            "while offline 2",
            "while offline 3",
        ],
        "everything, once, in order: {seen}"
    );
    assert_eq!(
        seen["shown_while_offline"].as_array().map(Vec::len),
        Some(3),
        "{seen}"
    );
    let states: Vec<&str> = seen["states"]
        .as_array()
        .expect("states")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        states
            .windows(2)
            .any(|w| w == ["offline", "reconnecting"] || w == ["offline", "connected"]),
        "the indicator went offline and came back: {states:?}"
    );
    assert!(states.contains(&"reconnecting"), "{states:?}");
}
