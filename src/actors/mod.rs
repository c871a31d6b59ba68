//! Actors and background tasks of the real-time core: the outbox dispatcher that delivers what
//! committed transactions queued, chat actors, the inbox hub (see `docs/architecture.md`).

pub mod agent;
pub mod chat;
pub mod followup;
pub mod outbox;
pub mod router;
pub mod summary;
