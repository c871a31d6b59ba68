//! `/api/v1/chats/{id}/messages`: a chat's history, and operators' replies. Replies are not
//! sent here: they are committed with an outbox row, and the outbox dispatcher delivers them
//! through the chat's channel.

mod list;
mod send;

pub use list::*;
pub use send::*;
