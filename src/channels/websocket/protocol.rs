//! The inbox WebSocket protocol (version 1): JSON text frames. Clients send commands, each with
//! an `id` that its `ack` or `error` echoes; the server sends `hello` once, then events (each
//! [`InboxEvent`](crate::inbox::InboxEvent) is its own frame, carrying the organisation's cursor
//! `seq`) and signals (no cursor). See docs/inbox-protocol.md.

use serde::{Deserialize, Serialize};

use crate::domain::{AgentId, ChatId, MessageId, UserId};

/// A command from the client.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientCommand {
    /// Start (or change) the event stream: every chat, or one; from `cursor` (exclusive) when
    /// resuming, else from now.
    Subscribe {
        /// Echoed in the ack.
        id: String,
        /// The last `seq` the client saw.
        cursor: Option<i64>,
        /// Only this chat's events.
        chat_id: Option<ChatId>,
    },
    /// An operator reply.
    Send {
        /// Echoed in the ack.
        id: String,
        /// The chat.
        chat_id: ChatId,
        /// The text.
        body: String,
        /// The message answered.
        reply_to_message_id: Option<MessageId>,
    },
    /// The operator has read the chat.
    MarkRead {
        /// Echoed in the ack.
        id: String,
        /// The chat.
        chat_id: ChatId,
    },
    /// A human approves an AI draft, as written or with `body` instead.
    ApproveDraft {
        /// Echoed in the ack.
        id: String,
        /// The chat.
        chat_id: ChatId,
        /// The draft.
        message_id: MessageId,
        /// Edited text to send instead of the draft's.
        body: Option<String>,
    },
    /// A human rejects an AI draft.
    RejectDraft {
        /// Echoed in the ack.
        id: String,
        /// The chat.
        chat_id: ChatId,
        /// The draft.
        message_id: MessageId,
    },
    /// The operator started (or, with `active: false`, stopped) typing in a chat; the other
    /// operators get a `typing` signal.
    Typing {
        /// Echoed in the ack.
        id: String,
        /// The chat.
        chat_id: ChatId,
        /// Typing now (default) or stopped.
        #[serde(default = "yes")]
        active: bool,
    },
    /// Hands the chat to a member, to an agent, or (neither) to nobody.
    Assign {
        /// Echoed in the ack.
        id: String,
        /// The chat.
        chat_id: ChatId,
        /// A member of the organisation.
        user_id: Option<UserId>,
        /// An agent of the organisation.
        agent_id: Option<AgentId>,
    },
}

fn yes() -> bool {
    true
}

impl ClientCommand {
    /// The command's id.
    pub fn id(&self) -> &str {
        match self {
            ClientCommand::Subscribe { id, .. }
            | ClientCommand::Send { id, .. }
            | ClientCommand::MarkRead { id, .. }
            | ClientCommand::ApproveDraft { id, .. }
            | ClientCommand::RejectDraft { id, .. }
            | ClientCommand::Typing { id, .. }
            | ClientCommand::Assign { id, .. } => id,
        }
    }
}

/// A frame from the server.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame<'a> {
    /// First frame: protocol version and the organisation's current cursor.
    Hello {
        /// Protocol version.
        v: u32,
        /// The newest `seq` at connect time.
        cursor: i64,
    },
    /// A command succeeded.
    Ack {
        /// The command's id.
        id: &'a str,
        /// For `subscribe`: the cursor the live stream continues from.
        #[serde(skip_serializing_if = "Option::is_none")]
        cursor: Option<i64>,
        /// For `send`, `approve_draft`, `reject_draft`: the stored message.
        #[serde(skip_serializing_if = "Option::is_none")]
        data: Option<serde_json::Value>,
    },
    /// A command (or the connection) failed.
    Error {
        /// The command's id, when one failed.
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<&'a str>,
        /// Stable code (the same codes as the REST API).
        code: &'a str,
        /// Explanation.
        message: String,
    },
}
