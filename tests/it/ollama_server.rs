//! An Ollama-compatible test server: real HTTP on a free port, speaking Ollama's wire format
//! (`/api/chat` streamed as NDJSON or whole, tool calls, `/api/embed`, Ollama's error bodies) and
//! the OpenAI-compatible one (`/v1/chat/completions`, `/v1/embeddings`). Each test scripts the
//! chat replies it wants, in order; every request is recorded for assertions.
//!
//! Embeddings are deterministic bags of words: each lower-cased word adds 1 to the dimension its
//! hash picks, then the vector is normalised. Texts sharing words are close in cosine distance,
//! so a test can arrange which memory a query recalls.

use actix_web::web::{Bytes, Data, Json};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One scripted chat reply.
#[derive(Debug, Clone)]
pub enum Scripted {
    /// A text reply, streamed in a few pieces and finished with `done: true`.
    Reply(String),
    /// Tool calls `(name, arguments)`, then the final frame.
    ToolCalls(Vec<(String, Value)>),
    /// Streams this text, then ends the stream without the final frame.
    Cut(String),
    /// An error reply: status and the `{"error": ...}` text.
    Error(u16, String),
    /// Waits, then replies as the inner script says.
    Slow(Duration, Box<Scripted>),
    /// A slow model: streams this text one piece every [`TRICKLE_PAUSE`], then the final frame.
    /// The server counts such streams while they are open and those the client hung up on.
    Trickle(String),
}

/// The pause between two pieces of a [`Scripted::Trickle`] reply.
pub const TRICKLE_PAUSE: Duration = Duration::from_millis(100);

impl Scripted {
    /// Ollama's 404 for a model that was never pulled.
    pub fn model_not_found(model: &str) -> Self {
        Self::Error(
            404,
            format!("model \"{model}\" not found, try pulling it first"),
        )
    }

    /// Ollama's 400 for a model without tool support.
    pub fn tools_unsupported(model: &str) -> Self {
        Self::Error(
            400,
            format!("registry.ollama.ai/library/{model} does not support tools"),
        )
    }

    /// A 500 from a crashed runner.
    pub fn server_error() -> Self {
        Self::Error(
            500,
            "llama runner process has terminated: exit status 2".into(),
        )
    }
}

/// A request the server received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Path, e.g. `/api/chat`.
    pub path: String,
    /// JSON body.
    pub body: Value,
}

struct State {
    script: Mutex<VecDeque<Scripted>>,
    fallback: Mutex<Option<Scripted>>,
    requests: Mutex<Vec<Recorded>>,
    dimensions: usize,
    streams: Mutex<StreamCounts>,
}

/// Trickled chat streams: open now, and dropped before their final frame (the client hung up).
#[derive(Default)]
struct StreamCounts {
    open: usize,
    abandoned: usize,
}

/// Lives inside a trickled stream: counts it open, and as abandoned if it is dropped unfinished.
struct OpenStream {
    state: Arc<State>,
    finished: bool,
}

impl OpenStream {
    fn new(state: Arc<State>) -> Self {
        state.streams.lock().expect("lock").open += 1;
        Self {
            state,
            finished: false,
        }
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        let mut counts = self.state.streams.lock().expect("lock");
        counts.open -= 1;
        if !self.finished {
            counts.abandoned += 1;
        }
    }
}

/// A running test server.
pub struct OllamaServer {
    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub url: String,
    state: Arc<State>,
    #[allow(dead_code)] // kept for tests that stop the model server
    handle: actix_web::dev::ServerHandle,
}

impl OllamaServer {
    /// Starts a server producing embeddings of `dimensions`.
    pub fn start(dimensions: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(State {
            script: Mutex::new(VecDeque::new()),
            fallback: Mutex::new(None),
            requests: Mutex::new(Vec::new()),
            dimensions,
            streams: Mutex::new(StreamCounts::default()),
        });
        let data = Data::from(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::JsonConfig::default().limit(16 * 1024 * 1024))
                .route("/api/chat", web::post().to(ollama_chat))
                .route("/api/embed", web::post().to(ollama_embed))
                .route("/v1/chat/completions", web::post().to(openai_chat))
                .route("/v1/embeddings", web::post().to(openai_embed))
        })
        .workers(1)
        .listen(listener)
        .expect("listen")
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Self { url, state, handle }
    }

    /// Queues chat replies, answered in order.
    pub fn script(&self, replies: impl IntoIterator<Item = Scripted>) {
        self.state.script.lock().expect("lock").extend(replies);
    }

    /// The reply once the queue is empty (by default: a 500 saying the script ran out).
    pub fn otherwise(&self, reply: Scripted) {
        *self.state.fallback.lock().expect("lock") = Some(reply);
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().expect("lock").clone()
    }

    /// Chat requests so far (either API).
    pub fn chat_requests(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.ends_with("/chat") || r.path.ends_with("/completions"))
            .collect()
    }

    /// Trickled chat streams still being written.
    pub fn open_chat_streams(&self) -> usize {
        self.state.streams.lock().expect("lock").open
    }

    /// Trickled chat streams the client hung up on before the final frame.
    pub fn abandoned_chat_streams(&self) -> usize {
        self.state.streams.lock().expect("lock").abandoned
    }

    /// Stops the server (the model server going away).
    #[allow(dead_code)]
    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }
}

impl State {
    fn record(&self, request: &HttpRequest, body: &Value) {
        self.requests.lock().expect("lock").push(Recorded {
            path: request.path().to_owned(),
            body: body.clone(),
        });
    }

    fn next(&self) -> Scripted {
        self.script
            .lock()
            .expect("lock")
            .pop_front()
            .or_else(|| self.fallback.lock().expect("lock").clone())
            .unwrap_or(Scripted::Error(
                500,
                "test script ran out of replies".into(),
            ))
    }
}

/// The deterministic bag-of-words vector of `text`.
pub fn embedding(text: &str, dimensions: usize) -> Vec<f32> {
    let mut vector = vec![0f32; dimensions];
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let word = word.to_lowercase();
        // FNV-1a: stable across runs and platforms.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in word.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        vector[(hash % dimensions as u64) as usize] += 1.0;
    }
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm == 0.0 {
        vector[0] = 1.0;
    } else {
        vector.iter_mut().for_each(|x| *x /= norm);
    }
    vector
}

fn inputs(body: &Value) -> Vec<String> {
    match &body["input"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().unwrap_or_default().to_owned())
            .collect(),
        _ => Vec::new(),
    }
}

fn error(status: u16, message: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("status"))
        .json(json!({"error": message}))
}

fn frame(model: &str, message: Value, done: bool) -> String {
    let mut frame = json!({
        "model": model,
        "created_at": "2026-11-22T10:00:00.000000Z",
        "message": message,
        "done": done,
    });
    if done {
        frame["done_reason"] = json!("stop");
        frame["total_duration"] = json!(1_000_000);
        frame["load_duration"] = json!(10_000);
        frame["prompt_eval_count"] = json!(42);
        frame["prompt_eval_duration"] = json!(100_000);
        frame["eval_count"] = json!(7);
        frame["eval_duration"] = json!(200_000);
    }
    format!("{frame}\n")
}

fn pieces(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        current.push(c);
        if c == ' ' {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

async fn resolve(mut script: Scripted) -> Scripted {
    while let Scripted::Slow(delay, inner) = script {
        tokio::time::sleep(delay).await;
        script = *inner;
    }
    script
}

async fn ollama_chat(state: Data<State>, request: HttpRequest, body: Json<Value>) -> HttpResponse {
    state.record(&request, &body);
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    let stream = body["stream"].as_bool().unwrap_or(true);
    let script = resolve(state.next()).await;
    let (frames, complete) = match script {
        Scripted::Error(status, message) => return error(status, &message),
        Scripted::Trickle(text) => return trickle(state.into_inner(), &model, &text),
        Scripted::Reply(text) => {
            let mut frames: Vec<String> = pieces(&text)
                .into_iter()
                .map(|p| frame(&model, json!({"role": "assistant", "content": p}), false))
                .collect();
            frames.push(frame(
                &model,
                json!({"role": "assistant", "content": ""}),
                true,
            ));
            (frames, Some(json!({"role": "assistant", "content": text})))
        }
        Scripted::ToolCalls(calls) => {
            let calls: Vec<Value> = calls
                .into_iter()
                .map(
                    |(name, arguments)| json!({"function": {"name": name, "arguments": arguments}}),
                )
                .collect();
            let message = json!({"role": "assistant", "content": "", "tool_calls": calls});
            (
                vec![
                    frame(&model, message.clone(), false),
                    frame(&model, json!({"role": "assistant", "content": ""}), true),
                ],
                Some(message),
            )
        }
        Scripted::Cut(text) => (
            pieces(&text)
                .into_iter()
                .map(|p| frame(&model, json!({"role": "assistant", "content": p}), false))
                .collect(),
            None,
        ),
        Scripted::Slow(..) => unreachable!("resolved above"),
    };
    if stream {
        let chunks = frames
            .into_iter()
            .map(|f| Ok::<_, actix_web::Error>(Bytes::from(f)));
        HttpResponse::Ok()
            .content_type("application/x-ndjson")
            .streaming(futures_util::stream::iter(chunks))
    } else {
        match complete {
            Some(message) => {
                let whole = frame(&model, message, true);
                HttpResponse::Ok()
                    .content_type("application/json; charset=utf-8")
                    .body(whole.trim_end().to_owned())
            }
            // A body cut in the middle of the JSON document.
            None => HttpResponse::Ok()
                .content_type("application/json; charset=utf-8")
                .body(format!(
                    "{{\"model\":\"{model}\",\"message\":{{\"role\":\"assistant\",\"content\":\""
                )),
        }
    }
}

/// Streams `text` piece by piece, [`TRICKLE_PAUSE`] apart, then the final frame; the stream's
/// guard tells the server whether the client stayed until the end.
fn trickle(state: Arc<State>, model: &str, text: &str) -> HttpResponse {
    let mut frames: std::collections::VecDeque<String> = pieces(text)
        .into_iter()
        .map(|p| frame(model, json!({"role": "assistant", "content": p}), false))
        .collect();
    frames.push_back(frame(
        model,
        json!({"role": "assistant", "content": ""}),
        true,
    ));
    let guard = OpenStream::new(state);
    let body = futures_util::stream::unfold((frames, guard), |(mut frames, mut guard)| async {
        let next = frames.pop_front()?;
        tokio::time::sleep(TRICKLE_PAUSE).await;
        guard.finished = frames.is_empty();
        Some((
            Ok::<_, actix_web::Error>(Bytes::from(next)),
            (frames, guard),
        ))
    });
    HttpResponse::Ok()
        .content_type("application/x-ndjson")
        .streaming(body)
}

async fn ollama_embed(state: Data<State>, request: HttpRequest, body: Json<Value>) -> HttpResponse {
    state.record(&request, &body);
    let model = body["model"].as_str().unwrap_or_default();
    let embeddings: Vec<Vec<f32>> = inputs(&body)
        .iter()
        .map(|t| embedding(t, state.dimensions))
        .collect();
    HttpResponse::Ok().json(json!({
        "model": model,
        "embeddings": embeddings,
        "total_duration": 14_143_917,
        "load_duration": 1_019_500,
        "prompt_eval_count": 8,
    }))
}

async fn openai_chat(state: Data<State>, request: HttpRequest, body: Json<Value>) -> HttpResponse {
    state.record(&request, &body);
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    let message = match resolve(state.next()).await {
        Scripted::Error(status, message) => {
            return HttpResponse::build(
                actix_web::http::StatusCode::from_u16(status).expect("status"),
            )
            .json(json!({"error": {"message": message, "type": "api_error"}}));
        }
        Scripted::Reply(text) => json!({"role": "assistant", "content": text}),
        Scripted::ToolCalls(calls) => {
            let calls: Vec<Value> = calls
                .into_iter()
                .enumerate()
                .map(|(i, (name, arguments))| {
                    json!({"id": format!("call_{i}"), "type": "function",
                    "function": {"name": name, "arguments": arguments.to_string()}})
                })
                .collect();
            json!({"role": "assistant", "content": null, "tool_calls": calls})
        }
        Scripted::Trickle(text) => json!({"role": "assistant", "content": text}),
        Scripted::Cut(_) => {
            return HttpResponse::Ok()
                .content_type("application/json")
                .body("{\"id\":\"chatcmpl-1\",\"choices\":[{\"message\":{\"content\":\"");
        }
        Scripted::Slow(..) => unreachable!("resolved above"),
    };
    HttpResponse::Ok().json(json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 42, "completion_tokens": 7, "total_tokens": 49},
    }))
}

async fn openai_embed(state: Data<State>, request: HttpRequest, body: Json<Value>) -> HttpResponse {
    state.record(&request, &body);
    let data: Vec<Value> = inputs(&body)
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"object": "embedding", "index": i, "embedding": embedding(t, state.dimensions)}))
        .collect();
    HttpResponse::Ok().json(json!({"object": "list", "data": data, "model": body["model"]}))
}
