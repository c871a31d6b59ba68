//! Chat request bodies and their checks.

use actix_web::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;
use validator::{Validate, ValidationError};

use crate::api::error::ApiError;
use crate::api::extract::double_option;
use crate::db::models::ChatUpdateForm;
use crate::domain::{AgentId, Autonomy, ChannelId, ChatStatus, ContactId, MessageId, UserId};

/// `POST /chats`: an operator starts a conversation.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateChat {
    /// Who to talk to (a contact of your organisation).
    pub contact_id: ContactId,
    /// Which channel to talk on (a channel of your organisation).
    pub channel_id: ChannelId,
    /// The channel's thread id, unique per channel; a new UUID when absent.
    #[validate(length(min = 1, max = 500))]
    pub external_thread_id: Option<String>,
    /// Subject (email) or a title.
    #[validate(length(max = 500))]
    pub subject: Option<String>,
}

/// `PATCH /chats/{id}`: absent fields stay, `null` clears the subject.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateChat {
    /// New status. `snoozed` needs `snoozed_until`; any other status ends a snooze.
    pub status: Option<ChatStatus>,
    /// When the snooze ends; in the future, and only together with `status: "snoozed"`.
    pub snoozed_until: Option<DateTime<Utc>>,
    /// How far an agent may act on its own in this chat.
    pub autonomy: Option<Autonomy>,
    /// Subject.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub subject: Option<Option<String>>,
}

impl UpdateChat {
    /// Checks the request as of `now` and turns it into the changes to apply.
    pub fn into_form(self, now: DateTime<Utc>) -> Result<ChatUpdateForm, ApiError> {
        if let Some(Some(subject)) = &self.subject
            && subject.chars().count() > 500
        {
            return Err(ApiError::invalid_field("subject", "at most 500 characters"));
        }
        let snoozed_until = match (self.status, self.snoozed_until) {
            (Some(ChatStatus::Snoozed), Some(until)) if until > now => Some(Some(until)),
            (Some(ChatStatus::Snoozed), Some(_)) => {
                return Err(ApiError::invalid_field(
                    "snoozed_until",
                    "must be in the future",
                ));
            }
            (Some(ChatStatus::Snoozed), None) => {
                return Err(ApiError::invalid_field(
                    "snoozed_until",
                    "is required when status is snoozed",
                ));
            }
            (_, Some(_)) => {
                return Err(ApiError::invalid_field(
                    "snoozed_until",
                    "only goes with status snoozed",
                ));
            }
            (Some(_), None) => Some(None),
            (None, None) => None,
        };
        Ok(ChatUpdateForm {
            status: self.status,
            snoozed_until,
            autonomy: self.autonomy,
            subject: self.subject,
        })
    }
}

/// `POST /chats/{id}/assign`: `{"user_id": ...}` or `{"agent_id": ...}`; `{}` or `null`
/// unassigns.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignChat {
    /// A member of your organisation.
    pub user_id: Option<UserId>,
    /// An agent of your organisation.
    pub agent_id: Option<AgentId>,
}

/// `POST /chats/{id}/messages`: an operator's reply, sent through the chat's channel.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessage {
    /// Text, 1 to 16000 characters.
    #[validate(
        length(min = 1, max = 16000, message = "must be 1 to 16000 characters"),
        custom(function = "not_blank")
    )]
    pub body: String,
    /// The message of this chat being answered.
    pub reply_to_message_id: Option<MessageId>,
}

fn not_blank(text: &str) -> Result<(), ValidationError> {
    if text.trim().is_empty() {
        Err(ValidationError::new("blank").with_message("must not be blank".into()))
    } else {
        Ok(())
    }
}

/// 422 `invalid_reference` for a body field naming no suitable record of the organisation,
/// the same answer a broken foreign key gives.
pub fn invalid_reference(field: &str, message: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_reference",
        format!("{field} {message}"),
    )
    .with_details(serde_json::json!({ "field": field }))
}
