//! The seam between long-term memory and whatever computes embeddings (the LLM client's
//! `/api/embed`, or an in-process model later). Memory only needs vectors of the column's
//! dimension; the embedder says which dimension it produces so start-up can refuse a mismatch.

use futures_util::future::BoxFuture;

/// Why embeddings could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmbedError {
    /// Worth retrying later (timeout, model server down, breaker open).
    #[error("embedding unavailable: {0}")]
    Unavailable(String),
    /// The model or input is wrong; retrying cannot help.
    #[error("embedding failed: {0}")]
    Failed(String),
}

/// Turns texts into vectors.
pub trait Embedder: Send + Sync + 'static {
    /// One vector per input, in order.
    fn embed(&self, inputs: Vec<String>) -> BoxFuture<'static, Result<Vec<Vec<f32>>, EmbedError>>;

    /// The dimension of the vectors it produces, when known up front (start-up compares it
    /// with the `agent_memories.embedding` column).
    fn dimensions(&self) -> Option<usize> {
        None
    }
}
