//! Agent memory: the recent turns of each chat in Redis (`short_term`), rebuilt from PostgreSQL
//! whenever Redis has lost them. Agents read it to build a turn's context.

pub mod embedder;
pub mod short_term;

pub use embedder::{EmbedError, Embedder};
pub use short_term::{MemoryError, ShortTermMemory, WindowEntry};
