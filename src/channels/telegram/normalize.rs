//! Telegram `Update` → our `InboundMessage`, as a pure function (no I/O), so every rule here is
//! unit-testable: which updates we take (messages and edits in private chats and groups), the
//! dedupe key (`<chat id>:<message id>`, stable across webhook and polling and redeliveries),
//! text or caption, reply-to, attachments as metadata, and `/start <payload>` deep links.

use serde_json::json;
use teloxide::types::{Message, Update, UpdateKind};

use crate::domain::{AttachmentMeta, ChannelId, InboundMessage, InboundSender};

/// What one update means for us.
#[derive(Debug, Clone, PartialEq)]
pub enum Normalized {
    /// A new message to ingest.
    New(InboundMessage),
    /// A known message was edited: replace the stored body.
    Edit(MessageEdit),
    /// Nothing we handle (channel posts, callbacks, service messages, ...): acknowledged.
    Ignored(&'static str),
}

/// An edit of a message we already hold.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageEdit {
    /// The edited message's dedupe key.
    pub external_message_id: String,
    /// The new text (or caption).
    pub text: String,
    /// When Telegram says it was edited.
    pub edited_at: chrono::DateTime<chrono::Utc>,
    /// The same message as a new one, for an edit of a message we never received.
    pub as_new: InboundMessage,
}

/// The dedupe key of a Telegram message: message ids are unique only within a chat.
pub fn external_message_id(chat_id: i64, message_id: i32) -> String {
    format!("{chat_id}:{message_id}")
}

/// The payload of a `/start <payload>` deep link (`t.me/<bot>?start=<payload>`), if any.
pub fn start_payload(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("/start")?;
    // `/start@MyBot payload` in groups.
    let rest = match rest.strip_prefix('@') {
        Some(after) => after.split_once(char::is_whitespace).map_or("", |(_, p)| p),
        None if rest.starts_with(char::is_whitespace) => rest,
        None => return None,
    };
    let payload = rest.trim();
    (!payload.is_empty()).then_some(payload)
}

/// The contact attribution a deep-link payload carries: `<source>-<campaign>`, or just a source.
pub fn attribution(payload: &str) -> serde_json::Value {
    match payload.split_once('-') {
        Some((source, campaign)) if !source.is_empty() && !campaign.is_empty() => json!({
            "start_payload": payload, "source": source, "campaign": campaign,
        }),
        _ => json!({ "start_payload": payload, "source": payload }),
    }
}

/// Normalises one update of the bot behind `channel`.
pub fn normalize(channel: ChannelId, update: &Update) -> Normalized {
    let update_id = i64::from(update.id.0);
    match &update.kind {
        UpdateKind::Message(message) => match to_inbound(channel, update_id, message) {
            Some(inbound) => Normalized::New(inbound),
            None => Normalized::Ignored("message without text or attachment"),
        },
        UpdateKind::EditedMessage(message) => match to_inbound(channel, update_id, message) {
            Some(as_new) => Normalized::Edit(MessageEdit {
                external_message_id: as_new.external_message_id.clone(),
                text: as_new.text.clone(),
                edited_at: message
                    .edit_date()
                    .copied()
                    .unwrap_or_else(chrono::Utc::now),
                as_new,
            }),
            None => Normalized::Ignored("edit without text"),
        },
        _ => Normalized::Ignored("update kind not handled"),
    }
}

fn to_inbound(channel: ChannelId, update_id: i64, message: &Message) -> Option<InboundMessage> {
    let chat = &message.chat;
    if !(chat.is_private() || chat.is_group() || chat.is_supergroup()) {
        return None;
    }
    let from = message.from.as_ref().filter(|u| !u.is_bot)?;
    let text = message
        .text()
        .or_else(|| message.caption())
        .unwrap_or_default()
        .to_owned();
    let attachments = attachments(message);
    if text.trim().is_empty() && attachments.is_empty() {
        return None;
    }
    let chat_type = if chat.is_private() {
        "private"
    } else if chat.is_supergroup() {
        "supergroup"
    } else {
        "group"
    };
    let reply_to = message
        .reply_to_message()
        .map(|r| external_message_id(chat.id.0, r.id.0));
    let payload = message.text().and_then(start_payload);
    Some(InboundMessage {
        channel_id: channel,
        external_thread_id: chat.id.0.to_string(),
        external_message_id: external_message_id(chat.id.0, message.id.0),
        sender: InboundSender {
            name: Some(from.full_name()),
            telegram_user_id: i64::try_from(from.id.0).ok(),
            telegram_username: from.username.clone(),
            ..Default::default()
        },
        text,
        attachments,
        reply_to_external_id: reply_to,
        received_at: message.date,
        metadata: json!({
            "telegram": {
                "update_id": update_id,
                "chat_id": chat.id.0,
                "chat_type": chat_type,
                "chat_title": chat.title(),
                "message_id": message.id.0,
                "reply_to_message_id": message.reply_to_message().map(|r| r.id.0),
                "start_payload": payload,
            }
        }),
    })
}

fn attachments(message: &Message) -> Vec<AttachmentMeta> {
    let meta = |kind: &str,
                file: &teloxide::types::FileMeta,
                name: Option<&String>,
                mime: Option<String>| AttachmentMeta {
        kind: kind.to_owned(),
        file_name: name.cloned(),
        mime_type: mime,
        size: Some(i64::from(file.size)),
        external_ref: Some(file.id.to_string()),
    };
    let mut found = Vec::new();
    if let Some(photo) = message.photo().and_then(|sizes| sizes.last()) {
        found.push(meta("photo", &photo.file, None, Some("image/jpeg".into())));
    }
    if let Some(d) = message.document() {
        let mime = d.mime_type.as_ref().map(ToString::to_string);
        found.push(meta("document", &d.file, d.file_name.as_ref(), mime));
    }
    if let Some(a) = message.audio() {
        let mime = a.mime_type.as_ref().map(ToString::to_string);
        found.push(meta("audio", &a.file, a.file_name.as_ref(), mime));
    }
    if let Some(v) = message.video() {
        let mime = v.mime_type.as_ref().map(ToString::to_string);
        found.push(meta("video", &v.file, v.file_name.as_ref(), mime));
    }
    if let Some(v) = message.voice() {
        let mime = v.mime_type.as_ref().map(ToString::to_string);
        found.push(meta("voice", &v.file, None, mime));
    }
    if let Some(s) = message.sticker() {
        found.push(meta("sticker", &s.file, None, None));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_payloads() {
        assert_eq!(start_payload("/start linkedin-q4"), Some("linkedin-q4"));
        assert_eq!(start_payload("/start@SalesBot ads"), Some("ads"));
        assert_eq!(start_payload("/start"), None);
        assert_eq!(start_payload("/started x"), None);
        assert_eq!(start_payload("hello /start x"), None);
        assert_eq!(attribution("linkedin-q4")["campaign"], "q4");
        assert_eq!(attribution("ads")["source"], "ads");
    }
}
