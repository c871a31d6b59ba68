//! The OpenAI-compatible wire format served by llama.cpp, vLLM and Ollama's `/v1`:
//! `POST /v1/chat/completions` (not streamed: the whole reply or an error) and
//! `POST /v1/embeddings`. Tool-call arguments travel as JSON text here, not as objects.

use serde::{Deserialize, Serialize};

use super::http::{post_json, read_json};
use super::{ChatRequest, ChatResponse, LlmError, Role};
use crate::tools::ToolCall;

#[derive(Serialize)]
struct WireRequest<'a> {
    model: &'a str,
    messages: Vec<WireMessage>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<serde_json::Value>,
    temperature: f32,
    max_tokens: u32,
    stream: bool,
}

#[derive(Serialize, Deserialize, Default)]
struct WireMessage {
    #[serde(default)]
    role: String,
    #[serde(default)]
    content: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<WireToolCall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tool_call_id: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct WireToolCall {
    #[serde(default)]
    id: Option<String>,
    #[serde(rename = "type", default = "function")]
    kind: String,
    function: WireFunctionCall,
}

fn function() -> String {
    "function".into()
}

#[derive(Serialize, Deserialize)]
struct WireFunctionCall {
    name: String,
    #[serde(default)]
    arguments: String,
}

#[derive(Deserialize)]
struct WireResponse {
    choices: Vec<WireChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct WireChoice {
    message: WireMessage,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u32,
    #[serde(default)]
    completion_tokens: u32,
}

fn role(role: Role) -> &'static str {
    match role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    }
}

/// `POST /v1/chat/completions`, not streamed.
pub(super) async fn chat(
    http: &reqwest::Client,
    url: &str,
    request: &ChatRequest,
) -> Result<ChatResponse, LlmError> {
    let wire = WireRequest {
        model: &request.model,
        messages: request
            .messages
            .iter()
            .map(|m| WireMessage {
                role: role(m.role).to_owned(),
                content: Some(m.content.clone()),
                tool_calls: m
                    .tool_calls
                    .iter()
                    .map(|c| WireToolCall {
                        id: c.id.clone(),
                        kind: function(),
                        function: WireFunctionCall {
                            name: c.name.clone(),
                            arguments: c.arguments.to_string(),
                        },
                    })
                    .collect(),
                tool_call_id: m.tool_call_id.clone(),
            })
            .collect(),
        tools: request
            .tools
            .iter()
            .map(|t| {
                serde_json::json!({"type": "function", "function": {
                    "name": t.name, "description": t.description, "parameters": t.parameters}})
            })
            .collect(),
        temperature: request.temperature,
        max_tokens: request.max_tokens,
        stream: false,
    };
    let response = post_json(http, url, &wire, &request.model).await?;
    let body: WireResponse = read_json(response).await?;
    let choice = body
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| LlmError::Protocol("a reply without choices".into()))?;
    let tool_calls = choice
        .message
        .tool_calls
        .into_iter()
        .map(|c| ToolCall {
            id: c.id,
            arguments: serde_json::from_str(&c.function.arguments)
                .unwrap_or(serde_json::Value::String(c.function.arguments)),
            name: c.function.name,
        })
        .collect();
    let usage = body.usage.unwrap_or(WireUsage {
        prompt_tokens: 0,
        completion_tokens: 0,
    });
    Ok(ChatResponse {
        content: choice.message.content.unwrap_or_default(),
        tool_calls,
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
    })
}

#[derive(Serialize)]
struct WireEmbedRequest<'a> {
    model: &'a str,
    input: &'a [String],
}

#[derive(Deserialize)]
struct WireEmbedResponse {
    data: Vec<WireEmbedding>,
}

#[derive(Deserialize)]
struct WireEmbedding {
    embedding: Vec<f32>,
    #[serde(default)]
    index: usize,
}

/// `POST /v1/embeddings`, returned in input order.
pub(super) async fn embed(
    http: &reqwest::Client,
    url: &str,
    model: &str,
    inputs: &[String],
) -> Result<Vec<Vec<f32>>, LlmError> {
    let request = WireEmbedRequest {
        model,
        input: inputs,
    };
    let response = post_json(http, url, &request, model).await?;
    let mut body: WireEmbedResponse = read_json(response).await?;
    body.data.sort_by_key(|d| d.index);
    Ok(body.data.into_iter().map(|d| d.embedding).collect())
}
