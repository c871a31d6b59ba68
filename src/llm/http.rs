//! The HTTP exchange both model-server protocols share, so that a refused request means the
//! same thing whichever server answered: POST a JSON body, turn a non-2xx answer into the
//! [`LlmError`] its body describes (Ollama's `{"error": "…"}` and OpenAI's
//! `{"error": {"message": "…"}}` both), and read a JSON reply.

use serde::Deserialize;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::LlmError;

#[derive(Deserialize)]
struct WireErrorBody {
    error: WireErrorDetail,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum WireErrorDetail {
    Object { message: String },
    Text(String),
}

/// POSTs `body` to `url`; a transport failure or a non-2xx status is an error, anything else is
/// the response, still unread (chat streams read it frame by frame).
pub(super) async fn post_json(
    http: &reqwest::Client,
    url: &str,
    body: &impl Serialize,
    model: &str,
) -> Result<reqwest::Response, LlmError> {
    let response = http
        .post(url)
        .json(body)
        .send()
        .await
        .map_err(|e| LlmError::from_reqwest(&e, false))?;
    if response.status().is_success() {
        Ok(response)
    } else {
        Err(error_from(response, model).await)
    }
}

/// Reads a whole JSON reply.
pub(super) async fn read_json<T: DeserializeOwned>(
    response: reqwest::Response,
) -> Result<T, LlmError> {
    response
        .json()
        .await
        .map_err(|e| LlmError::from_reqwest(&e, false))
}

/// Turns a non-2xx reply into the error it describes.
async fn error_from(response: reqwest::Response, model: &str) -> LlmError {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    let message = match serde_json::from_str::<WireErrorBody>(&text) {
        Ok(WireErrorBody {
            error: WireErrorDetail::Object { message } | WireErrorDetail::Text(message),
        }) => message,
        Err(_) => text,
    };
    LlmError::from_status(status, message, model)
}
