//! Applies one normalised update: a new message goes through the `Ingestor` (committed, deduped
//! on channel + `<chat>:<message>`), an edit replaces the stored body and announces
//! `message.updated`, and a `/start <payload>` deep link attributes the contact (first touch
//! wins). Shared by the webhook and the poller, so both modes store exactly the same thing.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use teloxide::types::Update;

use super::TelegramError;
use super::normalize::{MessageEdit, Normalized, attribution, normalize};
use crate::channels::ingest::{IngestError, Ingestor};
use crate::context::AppContext;
use crate::db::models::{Event, Message};
use crate::db::schema::{contacts, messages};
use crate::domain::{ChannelId, ContactId, OrganizationId};

/// What became of an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// A new message was stored.
    Stored,
    /// Telegram had delivered it before; nothing changed.
    Duplicate,
    /// A stored message's body was replaced.
    Edited,
    /// Not something we keep.
    Ignored,
}

/// Normalises and stores one update of `channel`; returns once it is committed.
pub async fn apply_update(
    ctx: &AppContext,
    ingestor: &Ingestor,
    channel: ChannelId,
    organization: OrganizationId,
    update: &Update,
) -> Result<Applied, TelegramError> {
    match normalize(channel, update) {
        Normalized::Ignored(why) => {
            tracing::debug!(channel.id = %channel, telegram.update_id = update.id.0, why, "telegram update ignored");
            Ok(Applied::Ignored)
        }
        Normalized::New(inbound) => {
            let payload = inbound.metadata["telegram"]["start_payload"]
                .as_str()
                .map(str::to_owned);
            let outcome = match ingestor.ingest(inbound).await {
                Ok(outcome) => outcome,
                // Unusable (e.g. too long): acknowledged, or Telegram would redeliver it forever.
                Err(IngestError::Invalid(why)) => {
                    tracing::warn!(channel.id = %channel, telegram.update_id = update.id.0, %why, "telegram message rejected");
                    return Ok(Applied::Ignored);
                }
                Err(e) => return Err(e.into()),
            };
            if outcome.duplicate {
                return Ok(Applied::Duplicate);
            }
            if let Some(payload) = payload {
                attribute_contact(ctx, organization, outcome.chat.contact_id, &payload).await?;
            }
            Ok(Applied::Stored)
        }
        Normalized::Edit(edit) => apply_edit(ctx, ingestor, channel, organization, edit).await,
    }
}

async fn apply_edit(
    ctx: &AppContext,
    ingestor: &Ingestor,
    channel: ChannelId,
    org: OrganizationId,
    edit: MessageEdit,
) -> Result<Applied, TelegramError> {
    let mut conn = ctx
        .db()
        .get()
        .await
        .map_err(|e| TelegramError::Pool(e.to_string()))?;
    let updated = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            edit_stored(conn, channel, org, &edit).await
        })
        .await?;
    match updated {
        Some(events) => {
            ctx.publisher().publish(&events);
            Ok(Applied::Edited)
        }
        // An edit of a message we never stored (sent before the bot was connected): keep it.
        None => {
            let outcome = ingestor.ingest(edit.as_new).await?;
            Ok(if outcome.duplicate {
                Applied::Duplicate
            } else {
                Applied::Stored
            })
        }
    }
}

async fn edit_stored(
    conn: &mut AsyncPgConnection,
    channel: ChannelId,
    org: OrganizationId,
    edit: &MessageEdit,
) -> QueryResult<Option<Vec<Event>>> {
    let stored: Option<Message> = messages::table
        .filter(messages::organization_id.eq(org))
        .filter(messages::channel_id.eq(channel))
        .filter(messages::external_id.eq(&edit.external_message_id))
        .select(Message::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?;
    let Some(stored) = stored else {
        return Ok(None);
    };
    if stored.body == edit.text {
        return Ok(Some(Vec::new()));
    }
    let mut metadata = stored.metadata.clone();
    if let Some(object) = metadata.as_object_mut() {
        object.insert(
            "edited_at".into(),
            serde_json::json!(edit.edited_at.to_rfc3339()),
        );
        object
            .entry("original_body")
            .or_insert_with(|| serde_json::json!(stored.body));
    }
    let message: Message = diesel::update(messages::table.find(stored.id))
        .set((
            messages::body.eq(&edit.text),
            messages::metadata.eq(metadata),
            messages::updated_at.eq(chrono::Utc::now()),
        ))
        .returning(Message::as_returning())
        .get_result(conn)
        .await?;
    let event = Event::append(
        conn,
        org,
        "message.updated",
        Some(message.chat_id),
        &serde_json::json!({ "message": message }),
    )
    .await?;
    Ok(Some(vec![event]))
}

/// Records where a contact came from, from its first deep link; later links do not overwrite.
async fn attribute_contact(
    ctx: &AppContext,
    org: OrganizationId,
    contact: ContactId,
    payload: &str,
) -> Result<(), TelegramError> {
    let mut conn = ctx
        .db()
        .get()
        .await
        .map_err(|e| TelegramError::Pool(e.to_string()))?;
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        let attributes: serde_json::Value = contacts::table
            .filter(contacts::organization_id.eq(org))
            .filter(contacts::id.eq(contact))
            .select(contacts::attributes)
            .for_update()
            .first(conn)
            .await?;
        let mut attributes = match attributes {
            serde_json::Value::Object(map) => map,
            _ => serde_json::Map::new(),
        };
        if attributes.contains_key("acquisition") {
            return Ok(());
        }
        attributes.insert("acquisition".into(), attribution(payload));
        diesel::update(
            contacts::table
                .filter(contacts::organization_id.eq(org))
                .filter(contacts::id.eq(contact)),
        )
        .set((
            contacts::attributes.eq(serde_json::Value::Object(attributes)),
            contacts::updated_at.eq(chrono::Utc::now()),
        ))
        .execute(conn)
        .await?;
        Ok(())
    })
    .await?;
    Ok(())
}
