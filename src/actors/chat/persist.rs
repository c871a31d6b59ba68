//! Storing an agent turn's decision: the reply or draft message with its inbox event (and, for a
//! reply, its outbox row), or the hand-off, in one transaction; the events are published after
//! the commit.

use diesel_async::AsyncConnection;

use super::turn::{FollowUpTrigger, TurnDecision, followup_agent};
use crate::context::AppContext;
use crate::db::models::message::preview;
use crate::db::models::{
    Chat, ChatUpdateForm, Event, ExecutionSummary, Message, MessageInsertForm, OutboxEntry,
    OutboxEntryInsertForm,
};
use crate::domain::{
    ChatId, ChatStatus, Direction, DraftState, MessageId, MessageStatus, OrganizationId, SenderKind,
};

/// Why a chat actor could not store something.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// The database refused.
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    /// No connection could be had.
    #[error(transparent)]
    Pool(#[from] diesel_async::pooled_connection::deadpool::PoolError),
    /// A newer turn (on another node, after this one's lease expired) already stored its decision.
    #[error("the turn's lease was superseded")]
    Fenced,
}

/// Persists a decision; `answered` are the inbound messages the turn answered, `followup` the
/// follow-up that triggered it (its agent, when it answers in its own name, signs the message),
/// `execution` the logged decision, carried by a draft's or hand-off's event (`data.execution`).
#[allow(clippy::too_many_arguments)]
pub async fn persist_decision(
    app: &AppContext,
    org: OrganizationId,
    chat_id: ChatId,
    fence: i64,
    answered: &[MessageId],
    followup: Option<&FollowUpTrigger>,
    decision: TurnDecision,
    execution: Option<&ExecutionSummary>,
) -> Result<(), ChatError> {
    if decision == TurnDecision::Nothing {
        return Ok(());
    }
    let reply_to = answered.last().copied();
    let mut conn = app.db().get().await?;
    let (events, reply) = conn
        .transaction::<_, ChatError, _>(async |conn| {
            let chat = Chat::find_for_update(conn, org, chat_id).await?;
            if !Chat::advance_turn_fence(conn, org, chat_id, fence).await? {
                return Err(ChatError::Fenced);
            }
            // The agent that answered: a follow-up agent answers in its own name.
            let agent = followup_agent(conn, org, followup)
                .await
                .or(chat.assigned_agent_id);
            let message = |body: String, draft: Option<DraftState>| MessageInsertForm {
                id: MessageId::new(),
                organization_id: org,
                chat_id,
                channel_id: chat.channel_id,
                direction: Direction::Outbound,
                sender_kind: SenderKind::Agent,
                sender_user_id: None,
                sender_agent_id: agent,
                body,
                status: MessageStatus::Queued,
                draft_state: draft,
                external_id: None,
                reply_to_message_id: reply_to,
            };
            let mut stored_reply = None;
            let event = match decision {
                TurnDecision::Reply(text) => {
                    let stored = Message::create(conn, &message(text, None)).await?;
                    OutboxEntry::create(
                        conn,
                        &OutboxEntryInsertForm::message_send(
                            org,
                            chat_id,
                            chat.channel_id,
                            stored.id,
                        ),
                    )
                    .await?;
                    let chat = Chat::record_message(
                        conn,
                        org,
                        chat_id,
                        stored.created_at,
                        &preview(&stored.body),
                        0,
                    )
                    .await?;
                    let event = Event::append(
                        conn,
                        org,
                        "message.created",
                        Some(chat_id),
                        &serde_json::json!({ "message": stored, "chat": chat }),
                    )
                    .await?;
                    stored_reply = Some(stored);
                    event
                }
                TurnDecision::Draft(text) => {
                    let stored =
                        Message::create(conn, &message(text, Some(DraftState::PendingApproval)))
                            .await?;
                    Event::append(
                        conn,
                        org,
                        "draft.created",
                        Some(chat_id),
                        &serde_json::json!({ "message": stored, "chat": chat, "execution": execution }),
                    )
                    .await?
                }
                TurnDecision::Handoff(reason) => {
                    let form = ChatUpdateForm {
                        status: Some(ChatStatus::Pending),
                        ..Default::default()
                    };
                    let chat = Chat::update(conn, org, chat_id, &form).await?;
                    Event::append(
                        conn,
                        org,
                        "chat.updated",
                        Some(chat_id),
                        &serde_json::json!({ "chat": chat, "handoff": { "reason": reason }, "execution": execution }),
                    )
                    .await?
                }
                TurnDecision::Nothing => return Ok((Vec::new(), None)),
            };
            Ok((vec![event], stored_reply))
        })
        .await?;
    app.publisher().publish(&events);
    if let Some(reply) = reply {
        app.remember_message(&reply).await;
    }
    Ok(())
}
