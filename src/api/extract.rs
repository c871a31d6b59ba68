//! Extractor settings so malformed input gets our error shape, not actix's plain text: bad JSON
//! is 400 `malformed_json`, an oversize body 413 `payload_too_large`, a wrong content type 415.

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};

use super::error::ApiError;

/// Default JSON body limit; routes that take more (CSV import) set their own.
pub const JSON_LIMIT_BYTES: usize = 256 * 1024;

/// JSON body settings with our error shape.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(json_error)
}

fn json_error(error: JsonPayloadError, _: &HttpRequest) -> actix_web::Error {
    let api = match &error {
        JsonPayloadError::OverflowKnownLength { length, limit } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body is {length} bytes; this endpoint accepts at most {limit}"),
        ),
        JsonPayloadError::Overflow { limit } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body is larger than the {limit} bytes this endpoint accepts"),
        ),
        JsonPayloadError::ContentType => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as application/json",
        ),
        JsonPayloadError::Deserialize(e) if e.is_data() => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            format!("the body does not match the expected shape: {e}"),
        ),
        other => ApiError::bad_request(
            "malformed_json",
            format!("the body is not valid JSON: {other}"),
        ),
    };
    api.into()
}

/// Path parameter settings (a bad UUID in the URL is 404: no such record can exist).
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|error: PathError, _| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no such resource: {error}"),
        )
        .into()
    })
}

/// Query string settings.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|error: QueryPayloadError, _| {
        ApiError::bad_request(
            "invalid_query",
            format!("invalid query parameters: {error}"),
        )
        .into()
    })
}

/// For PATCH fields that can be cleared: absent → `None` (leave as is), `null` → `Some(None)`
/// (clear), a value → `Some(Some(v))`. Use with `#[serde(default, deserialize_with = "double_option")]`.
pub fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    serde::Deserialize::deserialize(deserializer).map(Some)
}
