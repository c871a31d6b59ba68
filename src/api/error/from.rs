//! Each lower layer's error mapped to the HTTP edge's `ApiError`, once: the status and the
//! stable code a client sees for a database conflict, an auth failure, a busy chat, a model that
//! is down, and so on.

use actix_web::http::StatusCode;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde_json::{Value, json};

use super::ApiError;
use crate::auth::AuthError;
use crate::db::pagination::PageParamsError;

impl From<DieselError> for ApiError {
    fn from(error: DieselError) -> Self {
        match error {
            DieselError::NotFound => Self::not_found("resource"),
            DieselError::DatabaseError(kind, info) => {
                let constraint = info.constraint_name().unwrap_or_default().to_owned();
                match kind {
                    DatabaseErrorKind::UniqueViolation => Self::conflict(
                        "already_exists",
                        "a record with the same unique value already exists",
                    )
                    .with_details(json!({ "constraint": constraint })),
                    DatabaseErrorKind::ForeignKeyViolation => {
                        let field = referenced_field(&constraint);
                        Self::new(
                            StatusCode::UNPROCESSABLE_ENTITY,
                            "invalid_reference",
                            format!("{field} does not name a record of this organisation, or it is still in use"),
                        )
                        .with_details(json!({ "field": field, "constraint": constraint }))
                    }
                    DatabaseErrorKind::CheckViolation => Self::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "validation_failed",
                        format!("a value is outside what is allowed ({constraint})"),
                    )
                    .with_details(json!({ "constraint": constraint })),
                    DatabaseErrorKind::SerializationFailure => Self::conflict(
                        "concurrent_update",
                        "the record was changed concurrently; retry",
                    ),
                    _ => Self::internal(info.message()),
                }
            }
            other => Self::internal(other),
        }
    }
}

/// `deals_contact_fk` → `contact_id`: the field a client sent that broke a foreign key.
fn referenced_field(constraint: &str) -> String {
    constraint
        .strip_suffix("_fk")
        .and_then(|rest| rest.rsplit_once('_'))
        .map(|(_, field)| format!("{field}_id"))
        .unwrap_or_else(|| "reference".to_owned())
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for ApiError {
    fn from(error: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        Self::unavailable(format!("database pool: {error}"))
    }
}

impl From<redis::RedisError> for ApiError {
    fn from(error: redis::RedisError) -> Self {
        Self::unavailable(format!("redis: {error}"))
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Forbidden { needed } => Self::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("this action needs the {needed} permission"),
            )
            .with_details(json!({ "required_scope": needed.as_str() })),
            AuthError::Database(e) => e.into(),
            AuthError::Pool(e) => e.into(),
            AuthError::Internal(e) => Self::internal(e),
            other => Self::new(StatusCode::UNAUTHORIZED, other.code(), other.to_string()),
        }
    }
}

impl From<crate::actors::router::RouteError> for ApiError {
    fn from(error: crate::actors::router::RouteError) -> Self {
        use crate::actors::router::RouteError;
        match error {
            RouteError::Saturated => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "chat_busy",
                error.to_string(),
            ),
            RouteError::Stopped => Self::unavailable(error),
        }
    }
}

impl From<PageParamsError> for ApiError {
    fn from(error: PageParamsError) -> Self {
        let field = match error {
            PageParamsError::Limit(_) => "limit",
            PageParamsError::Cursor(_) => "cursor",
        };
        Self::new(StatusCode::BAD_REQUEST, "invalid_query", error.to_string())
            .with_details(json!({ "parameter": field }))
    }
}

impl From<validator::ValidationErrors> for ApiError {
    fn from(errors: validator::ValidationErrors) -> Self {
        let mut fields = serde_json::Map::new();
        for (field, problems) in errors.field_errors() {
            let messages: Vec<Value> = problems
                .iter()
                .map(|p| {
                    Value::String(
                        p.message
                            .as_ref()
                            .map(ToString::to_string)
                            .unwrap_or_else(|| p.code.to_string()),
                    )
                })
                .collect();
            fields.insert(field.to_string(), Value::Array(messages));
        }
        let names: Vec<&String> = fields.keys().collect();
        let message = format!(
            "invalid fields: {}",
            names
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            message,
        )
        .with_details(json!({ "fields": fields }))
    }
}

impl From<crate::channels::telegram::TelegramError> for ApiError {
    fn from(e: crate::channels::telegram::TelegramError) -> Self {
        use crate::channels::ingest::IngestError;
        use crate::channels::telegram::TelegramError as T;
        match e {
            T::UnknownChannel => Self::not_found("channel"),
            T::BadSecret => Self::new(
                StatusCode::FORBIDDEN,
                "telegram_secret_mismatch",
                "the secret token does not match",
            ),
            T::BadUpdate(why) => Self::bad_request("invalid_telegram_update", why),
            T::Ingest(IngestError::Saturated | IngestError::Stopped) | T::Api(_) => {
                Self::unavailable(e)
            }
            other => Self::internal(other),
        }
    }
}

impl From<crate::memory::LongTermError> for ApiError {
    fn from(e: crate::memory::LongTermError) -> Self {
        use crate::memory::{EmbedError, LongTermError};
        match e {
            LongTermError::NotFound => Self::not_found("memory"),
            LongTermError::InvalidContent => Self::invalid_field("content", e.to_string()),
            LongTermError::Embed(EmbedError::Unavailable(cause)) => {
                tracing::warn!(error = %cause, "embedding model unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "embedding_unavailable",
                    "the embedding model is unavailable; retry later",
                )
            }
            LongTermError::Database(e) => e.into(),
            LongTermError::Pool(e) => e.into(),
            other => Self::internal(other),
        }
    }
}

impl From<crate::pitches::PitchError> for ApiError {
    fn from(error: crate::pitches::PitchError) -> Self {
        use crate::pitches::PitchError as E;
        let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
        match error {
            E::ContactNotFound => Self::not_found("contact"),
            E::TemplateNotFound => Self::not_found("template"),
            e @ E::TemplateNotPitch(_) => Self::invalid_field("template_id", e.to_string()),
            e @ E::NoAgent => Self::conflict("pitch_agent_missing", e.to_string()),
            e @ E::Prompt(_) => Self::new(unprocessable, "pitch_prompt_invalid", e.to_string()),
            e @ E::Template(_) => Self::new(unprocessable, "pitch_template_invalid", e.to_string()),
            e @ E::Guardrails(_) => {
                Self::new(unprocessable, "pitch_guardrails_invalid", e.to_string())
            }
            E::Llm(e) => {
                // Down or degraded: retry later (503). Refused (missing model...): 502.
                let status = if e.is_transient() || e == crate::llm::LlmError::CircuitOpen {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::BAD_GATEWAY
                };
                tracing::warn!(llm.error = e.code(), error = %e, "pitch model call failed");
                Self::new(status, e.code(), e.to_string())
            }
            e @ E::EmptyReply => {
                Self::new(StatusCode::BAD_GATEWAY, "llm_empty_reply", e.to_string())
            }
            E::Blocked { rail, reason } => Self::new(
                unprocessable,
                "pitch_blocked",
                format!("the pitch was blocked by a guardrail: {reason}"),
            )
            .with_details(json!({ "rail": rail, "reason": reason })),
            E::BudgetExhausted {
                agent,
                tokens_per_day,
            } => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "agent_budget_exhausted",
                format!(
                    "agent {agent} has spent its budget of {tokens_per_day} tokens for today; \
                     raise budgets.tokens_per_day or try again tomorrow (UTC)"
                ),
            )
            .with_details(json!({ "agent": agent, "tokens_per_day": tokens_per_day })),
            e @ E::BudgetUnavailable(_) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "budget_unavailable",
                e.to_string(),
            ),
            E::Db(e) => e.into(),
            E::Pool(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::referenced_field;

    #[test]
    fn foreign_key_names_map_to_fields() {
        assert_eq!(referenced_field("deals_contact_fk"), "contact_id");
        assert_eq!(
            referenced_field("campaign_steps_template_fk"),
            "template_id"
        );
        assert_eq!(referenced_field("weird"), "reference");
    }
}
