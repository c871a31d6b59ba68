//! Agent memory: the recent turns of each chat in Redis (`short_term`), rebuilt from PostgreSQL
//! whenever Redis has lost them, and durable facts per contact in pgvector (`long_term`).
//! Agents read both to build a turn's context.

pub mod embedder;
pub mod long_term;
pub mod short_term;

pub use embedder::{EmbedError, Embedder};
pub use long_term::{LongTermError, LongTermMemory, RecalledMemory};
pub use short_term::{CachedWindow, MemoryError, ShortTermMemory, WindowEntry};
