//! Ollama's native wire format: `POST /api/chat` streamed as NDJSON (content pieces, tool calls,
//! then a final frame with `done: true` and the token counts) and `POST /api/embed`. Errors come
//! as `{"error": "..."}`, either as the whole body of a non-2xx reply or as a frame mid-stream.

use serde::{Deserialize, Serialize};

use super::http::{post_json, read_json};
use super::{ChatRequest, ChatResponse, LlmError, Role};
use crate::tools::ToolCall;

#[derive(Serialize)]
struct WireChatRequest<'a> {
    model: &'a str,
    messages: Vec<WireMessage>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<WireTool<'a>>,
    stream: bool,
    options: WireOptions,
}

#[derive(Serialize)]
struct WireOptions {
    temperature: f32,
    num_predict: u32,
}

#[derive(Serialize, Deserialize, Default)]
struct WireMessage {
    #[serde(default)]
    role: String,
    #[serde(default)]
    content: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<WireToolCall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tool_name: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct WireToolCall {
    function: WireFunctionCall,
}

#[derive(Serialize, Deserialize)]
struct WireFunctionCall {
    name: String,
    #[serde(default)]
    arguments: serde_json::Value,
}

#[derive(Serialize)]
struct WireTool<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    function: WireFunction<'a>,
}

#[derive(Serialize)]
struct WireFunction<'a> {
    name: &'a str,
    description: &'a str,
    parameters: &'a serde_json::Value,
}

/// One NDJSON frame of a streamed chat (or the whole body of a non-streamed one).
#[derive(Deserialize)]
struct WireFrame {
    #[serde(default)]
    message: Option<WireMessage>,
    #[serde(default)]
    done: bool,
    #[serde(default)]
    prompt_eval_count: Option<u32>,
    #[serde(default)]
    eval_count: Option<u32>,
    #[serde(default)]
    error: Option<String>,
}

fn role(role: Role) -> &'static str {
    match role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    }
}

fn wire_request(request: &ChatRequest) -> WireChatRequest<'_> {
    WireChatRequest {
        model: &request.model,
        messages: request
            .messages
            .iter()
            .map(|m| WireMessage {
                role: role(m.role).to_owned(),
                content: m.content.clone(),
                tool_calls: m
                    .tool_calls
                    .iter()
                    .map(|c| WireToolCall {
                        function: WireFunctionCall {
                            name: c.name.clone(),
                            arguments: c.arguments.clone(),
                        },
                    })
                    .collect(),
                tool_name: m.tool_name.clone(),
            })
            .collect(),
        tools: request
            .tools
            .iter()
            .map(|t| WireTool {
                kind: "function",
                function: WireFunction {
                    name: &t.name,
                    description: &t.description,
                    parameters: &t.parameters,
                },
            })
            .collect(),
        stream: true,
        options: WireOptions {
            temperature: request.temperature,
            num_predict: request.max_tokens,
        },
    }
}

/// Streams one chat reply; only a stream that reached `done: true` yields a response.
pub(super) async fn chat(
    http: &reqwest::Client,
    url: &str,
    request: &ChatRequest,
) -> Result<ChatResponse, LlmError> {
    let mut response = post_json(http, url, &wire_request(request), &request.model).await?;
    let mut reply = ChatResponse::default();
    let mut buffer: Vec<u8> = Vec::new();
    let mut done = false;
    loop {
        let chunk = response
            .chunk()
            .await
            .map_err(|e| LlmError::from_reqwest(&e, true))?;
        let end = chunk.is_none();
        if let Some(chunk) = chunk {
            buffer.extend_from_slice(&chunk);
        }
        while let Some(newline) = buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buffer.drain(..=newline).collect();
            done |= apply_frame(&line, &mut reply, &request.model)?;
        }
        if end {
            // A last line without a trailing newline is still a frame.
            if !buffer.is_empty() {
                let line = std::mem::take(&mut buffer);
                done |= apply_frame(&line, &mut reply, &request.model)?;
            }
            break;
        }
    }
    if done {
        Ok(reply)
    } else {
        Err(LlmError::StreamCut)
    }
}

/// Folds one frame into the reply; true when it was the final one.
fn apply_frame(line: &[u8], reply: &mut ChatResponse, model: &str) -> Result<bool, LlmError> {
    let text = std::str::from_utf8(line)
        .map_err(|e| LlmError::Protocol(e.to_string()))?
        .trim();
    if text.is_empty() {
        return Ok(false);
    }
    let frame: WireFrame =
        serde_json::from_str(text).map_err(|e| LlmError::Protocol(format!("bad frame: {e}")))?;
    if let Some(error) = frame.error {
        return Err(match LlmError::from_status(500, error, model) {
            LlmError::Server { message, .. } => LlmError::Server {
                status: 200,
                message,
            },
            other => other,
        });
    }
    if let Some(message) = frame.message {
        reply.content.push_str(&message.content);
        reply
            .tool_calls
            .extend(message.tool_calls.into_iter().map(|c| ToolCall {
                id: None,
                name: c.function.name,
                arguments: c.function.arguments,
            }));
    }
    if frame.done {
        reply.prompt_tokens = frame.prompt_eval_count.unwrap_or(0);
        reply.completion_tokens = frame.eval_count.unwrap_or(0);
    }
    Ok(frame.done)
}

#[derive(Serialize)]
struct WireEmbedRequest<'a> {
    model: &'a str,
    input: &'a [String],
}

#[derive(Deserialize)]
struct WireEmbedResponse {
    embeddings: Vec<Vec<f32>>,
}

/// `POST /api/embed`.
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
    let body: WireEmbedResponse = read_json(response).await?;
    Ok(body.embeddings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_accumulate_and_only_the_final_one_finishes() {
        let mut reply = ChatResponse::default();
        let first = br#"{"model":"m","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":"Hel"},"done":false}"#;
        assert!(!apply_frame(first, &mut reply, "m").expect("frame"));
        let call = br#"{"model":"m","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"remember","arguments":{"fact":"x"}}}]},"done":false}"#;
        assert!(!apply_frame(call, &mut reply, "m").expect("frame"));
        let last = br#"{"model":"m","message":{"role":"assistant","content":"lo"},"done":true,"done_reason":"stop","prompt_eval_count":12,"eval_count":3}"#;
        assert!(apply_frame(last, &mut reply, "m").expect("frame"));
        assert_eq!(reply.content, "Hello");
        assert_eq!(reply.tool_calls.len(), 1);
        assert_eq!(reply.tool_calls[0].arguments["fact"], "x");
        assert_eq!((reply.prompt_tokens, reply.completion_tokens), (12, 3));
    }

    #[test]
    fn an_error_frame_is_an_error() {
        let mut reply = ChatResponse::default();
        let frame = br#"{"error":"registry.ollama.ai/library/m does not support tools"}"#;
        assert_eq!(
            apply_frame(frame, &mut reply, "m"),
            Err(LlmError::ToolsUnsupported("m".into()))
        );
    }
}
