//! The LLM client against the Ollama-compatible test server: streamed replies and tool calls,
//! permanent errors (not retried) versus transient ones (retried), a cut stream yielding no
//! partial text, timeouts, the circuit breaker opening and closing, and the OpenAI-compatible API.

use serde_json::json;
use std::time::Duration;

use crate::ollama_server::{OllamaServer, Scripted};
use switchboard::config::{LlmApi, LlmConfig};
use switchboard::llm::{BreakerState, ChatMessage, ChatRequest, LlmClient, LlmError, Role};
use switchboard::tools::ToolSpec;

/// A client for `server` with quick retries and the given retry count.
pub fn llm_config(url: &str, retries: usize) -> LlmConfig {
    LlmConfig {
        base_url: url.to_owned(),
        max_retries: retries,
        retry_min_delay_ms: 1,
        ..LlmConfig::default()
    }
}

fn request(tools: Vec<ToolSpec>) -> ChatRequest {
    ChatRequest {
        model: "llama3.1:8b".into(),
        messages: vec![
            ChatMessage::new(Role::System, "You are terse."),
            ChatMessage::new(Role::User, "Hi"),
        ],
        tools,
        temperature: 0.2,
        max_tokens: 64,
    }
}

fn spec() -> ToolSpec {
    ToolSpec {
        name: "remember".into(),
        description: "Remember a fact about the contact".into(),
        parameters: json!({"type": "object", "properties": {"fact": {"type": "string"}}, "required": ["fact"]}),
    }
}

#[actix_web::test]
async fn a_streamed_reply_arrives_whole_with_its_token_counts() {
    let server = OllamaServer::start(384);
    server.script([Scripted::Reply("Hello there, how can I help?".into())]);
    let client = LlmClient::new(&llm_config(&server.url, 0)).expect("client");
    let reply = client.chat(&request(vec![spec()])).await.expect("reply");
    assert_eq!(reply.content, "Hello there, how can I help?");
    assert_eq!((reply.prompt_tokens, reply.completion_tokens), (42, 7));
    let sent = &server.chat_requests()[0].body;
    assert_eq!(sent["stream"], json!(true));
    assert_eq!(sent["model"], json!("llama3.1:8b"));
    assert_eq!(sent["options"]["num_predict"], json!(64));
    assert_eq!(sent["tools"][0]["type"], json!("function"));
    assert_eq!(sent["tools"][0]["function"]["name"], json!("remember"));
    assert_eq!(
        sent["messages"][1],
        json!({"role": "user", "content": "Hi"})
    );
}

#[actix_web::test]
async fn tool_calls_are_parsed_with_object_arguments() {
    let server = OllamaServer::start(384);
    server.script([Scripted::ToolCalls(vec![(
        "remember".into(),
        json!({"fact": "prefers email"}),
    )])]);
    let client = LlmClient::new(&llm_config(&server.url, 0)).expect("client");
    let reply = client.chat(&request(vec![spec()])).await.expect("reply");
    assert_eq!(reply.tool_calls.len(), 1);
    assert_eq!(reply.tool_calls[0].name, "remember");
    assert_eq!(
        reply.tool_calls[0].arguments,
        json!({"fact": "prefers email"})
    );
}

#[actix_web::test]
async fn a_missing_model_and_a_model_without_tools_are_permanent_and_not_retried() {
    let server = OllamaServer::start(384);
    server.script([
        Scripted::model_not_found("llama3.1:8b"),
        Scripted::tools_unsupported("llama3.1:8b"),
    ]);
    let client = LlmClient::new(&llm_config(&server.url, 3)).expect("client");
    let missing = client.chat(&request(vec![])).await;
    assert_eq!(missing, Err(LlmError::ModelNotFound("llama3.1:8b".into())));
    assert_eq!(server.chat_requests().len(), 1, "a 404 is not retried");
    let tools = client.chat(&request(vec![spec()])).await;
    assert_eq!(tools, Err(LlmError::ToolsUnsupported("llama3.1:8b".into())));
    assert_eq!(
        server.chat_requests().len(),
        2,
        "a missing tool support is not retried"
    );
    assert_eq!(client.breaker_state(), BreakerState::Closed);
}

#[actix_web::test]
async fn server_errors_and_429_are_retried_until_an_answer_comes() {
    let server = OllamaServer::start(384);
    server.script([
        Scripted::server_error(),
        Scripted::Error(429, "too many requests".into()),
        Scripted::Reply("finally".into()),
    ]);
    let client = LlmClient::new(&llm_config(&server.url, 2)).expect("client");
    let reply = client
        .chat(&request(vec![]))
        .await
        .expect("third attempt answers");
    assert_eq!(reply.content, "finally");
    assert_eq!(server.chat_requests().len(), 3);
}

#[actix_web::test]
async fn retries_are_bounded() {
    let server = OllamaServer::start(384);
    server.otherwise(Scripted::server_error());
    let client = LlmClient::new(&llm_config(&server.url, 2)).expect("client");
    let error = client.chat(&request(vec![])).await.expect_err("always 500");
    assert!(
        matches!(error, LlmError::Server { status: 500, .. }),
        "{error:?}"
    );
    assert_eq!(server.chat_requests().len(), 3, "one try and two retries");
}

#[actix_web::test]
async fn a_stream_cut_before_its_final_frame_is_an_error_without_partial_text() {
    let server = OllamaServer::start(384);
    server.script([Scripted::Cut("Sure, our price is".into())]);
    let client = LlmClient::new(&llm_config(&server.url, 0)).expect("client");
    assert_eq!(
        client.chat(&request(vec![])).await,
        Err(LlmError::StreamCut)
    );
}

#[actix_web::test]
async fn a_slow_server_times_out() {
    let server = OllamaServer::start(384);
    server.script([Scripted::Slow(
        Duration::from_secs(3),
        Box::new(Scripted::Reply("late".into())),
    )]);
    let mut config = llm_config(&server.url, 0);
    config.timeout_secs = 1;
    let client = LlmClient::new(&config).expect("client");
    assert_eq!(client.chat(&request(vec![])).await, Err(LlmError::Timeout));
}

#[actix_web::test]
async fn an_unreachable_server_is_a_transient_error() {
    let client = LlmClient::new(&llm_config("http://127.0.0.1:9", 0)).expect("client");
    let error = client
        .chat(&request(vec![]))
        .await
        .expect_err("nothing listens");
    assert!(matches!(error, LlmError::Unreachable(_)), "{error:?}");
    assert!(error.is_transient());
}

#[actix_web::test]
async fn the_breaker_opens_after_repeated_failures_and_closes_after_a_good_probe() {
    let server = OllamaServer::start(384);
    server.script([Scripted::server_error(), Scripted::server_error()]);
    let mut config = llm_config(&server.url, 0);
    config.breaker_failures = 2;
    config.breaker_cooldown_ms = 200;
    let client = LlmClient::new(&config).expect("client");
    for _ in 0..2 {
        let error = client.chat(&request(vec![])).await.expect_err("500");
        assert!(matches!(error, LlmError::Server { .. }), "{error:?}");
    }
    assert_eq!(client.breaker_state(), BreakerState::Open);
    assert_eq!(
        client.chat(&request(vec![])).await,
        Err(LlmError::CircuitOpen)
    );
    assert_eq!(
        server.chat_requests().len(),
        2,
        "an open breaker sends nothing"
    );

    server.otherwise(Scripted::Reply("back".into()));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match client.chat(&request(vec![])).await {
            Ok(reply) => {
                assert_eq!(reply.content, "back");
                break;
            }
            Err(LlmError::CircuitOpen) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(other) => panic!("the probe should succeed: {other:?}"),
        }
    }
    assert_eq!(client.breaker_state(), BreakerState::Closed);
}

#[actix_web::test]
async fn embeddings_have_the_configured_dimension_or_are_refused() {
    let server = OllamaServer::start(384);
    let client = LlmClient::new(&llm_config(&server.url, 0)).expect("client");
    let vectors = client
        .embed(&["budget is fifty thousand".into(), "prefers email".into()])
        .await
        .expect("vectors");
    assert_eq!(vectors.len(), 2);
    assert!(vectors.iter().all(|v| v.len() == 384));
    assert_eq!(server.requests()[0].body["model"], json!("all-minilm"));

    let small = OllamaServer::start(8);
    let client = LlmClient::new(&llm_config(&small.url, 0)).expect("client");
    let error = client
        .embed(&["x".into()])
        .await
        .expect_err("wrong dimension");
    assert!(error.to_string().contains("8 dimensions"), "{error}");
}

#[actix_web::test]
async fn the_openai_compatible_api_chats_calls_tools_and_embeds() {
    let server = OllamaServer::start(384);
    server.script([
        Scripted::ToolCalls(vec![("remember".into(), json!({"fact": "likes tea"}))]),
        Scripted::Reply("Noted.".into()),
        Scripted::model_not_found("llama3.1:8b"),
    ]);
    let mut config = llm_config(&server.url, 2);
    config.api = LlmApi::Openai;
    let client = LlmClient::new(&config).expect("client");
    let calls = client
        .chat(&request(vec![spec()]))
        .await
        .expect("tool call");
    assert_eq!(calls.tool_calls[0].arguments, json!({"fact": "likes tea"}));
    assert_eq!(calls.tool_calls[0].id.as_deref(), Some("call_0"));
    let reply = client.chat(&request(vec![])).await.expect("reply");
    assert_eq!(reply.content, "Noted.");
    let missing = client.chat(&request(vec![])).await;
    assert_eq!(missing, Err(LlmError::ModelNotFound("llama3.1:8b".into())));
    assert_eq!(server.chat_requests().len(), 3);
    assert!(server.chat_requests()[0].path.starts_with("/v1/"));
    let vectors = client.embed(&["hello".into()]).await.expect("vectors");
    assert_eq!(vectors[0].len(), 384);
}
