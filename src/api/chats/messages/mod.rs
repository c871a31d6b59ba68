//! `/api/v1/chats/{id}/messages`: a chat's history, and operators' replies. Replies are not
//! sent here: they are committed with an outbox row, and the outbox dispatcher delivers them
//! through the chat's channel.

mod approve;
mod list;
mod reject;
mod send;

pub use approve::*;
pub use list::*;
pub use reject::*;
pub use send::*;
