//! A local Telegram Bot API server for tests: real HTTP on a free port, the real URL scheme
//! (`/bot<token>/<method>`) and the real JSON envelopes (`{"ok":true,"result":...}` and
//! `{"ok":false,"error_code":..,"description":..,"parameters":{..}}`). teloxide is pointed at it
//! through the channel's `api_url`. It holds updates for `getUpdates` (forgetting those below a
//! confirmed offset, as Telegram does), answers `sendMessage`, `sendChatAction`, `setWebhook`,
//! `deleteWebhook` and `getMe`, can be scripted to answer 429 with `retry_after`, 403 for a chat
//! that blocked the bot, and 400 with `migrate_to_chat_id` for a group that became a supergroup,
//! and records every request it received (method names are matched case-insensitively, as
//! Telegram does).

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// One request the server received.
#[derive(Debug, Clone)]
pub struct Received {
    /// Bot API method, e.g. `sendMessage`.
    pub method: String,
    /// Its parameters.
    pub params: Value,
    /// When it arrived.
    pub at: Instant,
}

#[derive(Default)]
struct State {
    updates: VecDeque<Value>,
    received: Vec<Received>,
    next_message_id: i32,
    rate_limited: VecDeque<u32>,
    blocked: Vec<i64>,
    migrated: HashMap<i64, i64>,
}

/// A running test server.
pub struct TelegramServer {
    /// Base URL to give teloxide (`http://127.0.0.1:<port>/`).
    pub url: String,
    state: Arc<Mutex<State>>,
    arrived: Arc<Notify>,
    handle: actix_web::dev::ServerHandle,
}

impl TelegramServer {
    /// Starts a server that accepts only `token`.
    pub fn start(token: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/", listener.local_addr().expect("addr"));
        let state = Arc::new(Mutex::new(State {
            next_message_id: 1000,
            ..Default::default()
        }));
        let arrived = Arc::new(Notify::new());
        let shared = web::Data::new(Shared {
            token: token.to_owned(),
            state: state.clone(),
            arrived: arrived.clone(),
        });
        let server = HttpServer::new(move || {
            App::new()
                .app_data(shared.clone())
                .app_data(web::PayloadConfig::new(1 << 20))
                .route("/{bot}/{method}", web::to(handle))
        })
        .workers(1)
        .listen(listener)
        .expect("listen")
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Self {
            url,
            state,
            arrived,
            handle,
        }
    }

    /// Queues an update for `getUpdates`.
    pub fn push_update(&self, update: Value) {
        self.lock().updates.push_back(update);
        self.arrived.notify_waiters();
    }

    /// The next `count` `sendMessage` calls answer 429 with `retry_after`.
    pub fn rate_limit_next(&self, count: usize, retry_after: u32) {
        self.lock()
            .rate_limited
            .extend(std::iter::repeat_n(retry_after, count));
    }

    /// Every `sendMessage` to `chat` answers 403 "bot was blocked by the user".
    pub fn block(&self, chat: i64) {
        self.lock().blocked.push(chat);
    }

    /// Every `sendMessage` to `chat` answers 400 with `migrate_to_chat_id: to`.
    pub fn migrate(&self, chat: i64, to: i64) {
        self.lock().migrated.insert(chat, to);
    }

    /// Requests received for `method`, oldest first.
    pub fn received(&self, method: &str) -> Vec<Received> {
        self.lock()
            .received
            .iter()
            .filter(|r| r.method == method)
            .cloned()
            .collect()
    }

    /// The messages it accepted: `(chat_id, text)` of successful `sendMessage` calls.
    pub fn delivered(&self) -> Vec<(i64, String)> {
        self.received("sendMessage")
            .into_iter()
            .filter(|r| r.params["_accepted"] == json!(true))
            .map(|r| {
                (
                    r.params["chat_id"].as_i64().unwrap_or_default(),
                    r.params["text"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("telegram test server state")
    }

    /// Stops the server.
    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

const METHODS: &[&str] = &[
    "getUpdates",
    "sendMessage",
    "sendChatAction",
    "setWebhook",
    "deleteWebhook",
    "getMe",
];

struct Shared {
    token: String,
    state: Arc<Mutex<State>>,
    arrived: Arc<Notify>,
}

fn ok(result: Value) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "ok": true, "result": result }))
}

fn error(status: u16, description: &str, parameters: Option<Value>) -> HttpResponse {
    let mut body = json!({ "ok": false, "error_code": status, "description": description });
    if let Some(parameters) = parameters {
        body["parameters"] = parameters;
    }
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("status")).json(body)
}

async fn handle(
    shared: web::Data<Shared>,
    path: web::Path<(String, String)>,
    query: web::Query<HashMap<String, String>>,
    body: web::Bytes,
) -> HttpResponse {
    let (bot, method) = path.into_inner();
    // Method names are case-insensitive in the Bot API (teloxide sends `SendMessage`).
    let Some(method) = METHODS
        .iter()
        .find(|m| m.eq_ignore_ascii_case(&method))
        .map(|m| (*m).to_owned())
    else {
        return error(404, "Not Found: method not found", None);
    };
    if bot.strip_prefix("bot") != Some(shared.token.as_str()) {
        return error(401, "Unauthorized", None);
    }
    // Parameters come as JSON (teloxide) or as a query string (curl).
    let mut params: Value = serde_json::from_slice(&body).unwrap_or_else(|_| json!({}));
    if let Some(object) = params.as_object_mut() {
        for (k, v) in query.into_inner() {
            let parsed = serde_json::from_str(&v).unwrap_or(Value::String(v));
            object.entry(k).or_insert(parsed);
        }
    }
    if method == "getUpdates" {
        return get_updates(&shared, params).await;
    }
    let mut state = shared.state.lock().expect("state");
    let record = |state: &mut State, params: Value| {
        state.received.push(Received {
            method: method.clone(),
            params,
            at: Instant::now(),
        });
    };
    match method.as_str() {
        "sendMessage" => {
            let chat = params["chat_id"].as_i64().unwrap_or_default();
            if let Some(retry_after) = state.rate_limited.pop_front() {
                record(&mut state, params);
                return error(
                    429,
                    &format!("Too Many Requests: retry after {retry_after}"),
                    Some(json!({ "retry_after": retry_after })),
                );
            }
            if state.blocked.contains(&chat) {
                record(&mut state, params);
                return error(403, "Forbidden: bot was blocked by the user", None);
            }
            if let Some(to) = state.migrated.get(&chat).copied() {
                record(&mut state, params);
                return error(
                    400,
                    "Bad Request: group chat was upgraded to a supergroup chat",
                    Some(json!({ "migrate_to_chat_id": to })),
                );
            }
            state.next_message_id += 1;
            let id = state.next_message_id;
            let text = params["text"].clone();
            let mut accepted = params.clone();
            accepted["_accepted"] = json!(true);
            record(&mut state, accepted);
            ok(json!({
                "message_id": id,
                "date": chrono::Utc::now().timestamp(),
                "chat": chat_json(chat),
                "from": { "id": 42, "is_bot": true, "first_name": "Test Bot", "username": "test_bot" },
                "text": text,
            }))
        }
        "sendChatAction" | "setWebhook" | "deleteWebhook" => {
            record(&mut state, params);
            ok(json!(true))
        }
        "getMe" => {
            record(&mut state, params);
            ok(json!({
                "id": 42, "is_bot": true, "first_name": "Test Bot", "username": "test_bot",
                "can_join_groups": true, "can_read_all_group_messages": false,
                "supports_inline_queries": false, "can_connect_to_business": false,
                "has_main_web_app": false,
            }))
        }
        _ => error(404, "Not Found: method not found", None),
    }
}

async fn get_updates(shared: &Shared, params: Value) -> HttpResponse {
    let offset = params["offset"].as_i64();
    let timeout = Duration::from_secs(params["timeout"].as_u64().unwrap_or(0).min(5));
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let arrived = shared.arrived.notified();
        {
            let mut state = shared.state.lock().expect("state");
            state.received.push(Received {
                method: "getUpdates".into(),
                params: params.clone(),
                at: Instant::now(),
            });
            // Asking with an offset confirms every update below it: Telegram forgets them.
            if let Some(offset) = offset {
                state
                    .updates
                    .retain(|u| u["update_id"].as_i64().unwrap_or_default() >= offset);
            }
            if !state.updates.is_empty() || tokio::time::Instant::now() >= deadline {
                let updates: Vec<Value> = state.updates.iter().take(100).cloned().collect();
                return ok(Value::Array(updates));
            }
        }
        let _ = tokio::time::timeout_at(deadline, arrived).await;
    }
}

fn chat_json(chat: i64) -> Value {
    if chat < 0 {
        json!({ "id": chat, "type": if chat < -1_000_000_000_000 { "supergroup" } else { "group" }, "title": "Sales group" })
    } else {
        json!({ "id": chat, "type": "private", "first_name": "Ada" })
    }
}

/// A user as Telegram describes one.
pub fn user_json(id: i64, name: &str) -> Value {
    json!({ "id": id, "is_bot": false, "first_name": name, "username": name.to_lowercase() })
}

/// A message object: `text` (or, with `extra`, any other fields such as `photo`/`caption`).
pub fn message_json(
    chat: i64,
    message_id: i32,
    from: i64,
    text: Option<&str>,
    extra: Value,
) -> Value {
    let mut message = json!({
        "message_id": message_id,
        "date": 1_764_400_000,
        "chat": chat_json(chat),
        "from": user_json(from, "Ada"),
    });
    if let Some(text) = text {
        message["text"] = json!(text);
    }
    if let (Some(message), Some(extra)) = (message.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            message.insert(k.clone(), v.clone());
        }
    }
    message
}

/// An update carrying a new text message.
pub fn text_update(update_id: i64, chat: i64, message_id: i32, text: &str) -> Value {
    json!({ "update_id": update_id, "message": message_json(chat, message_id, chat.abs(), Some(text), json!({})) })
}
