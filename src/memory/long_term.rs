//! Long-term memory: facts, preferences and chat summaries per contact in `agent_memories`,
//! embedded by the configured embedding model and recalled by cosine distance through the HNSW
//! index. Recall is always filtered by organisation AND contact, so a memory never crosses
//! tenants or people; it is shared across channels (a fact learned on Telegram is recalled in
//! email). Start-up compares the embedder's dimension with the column's, so rows never mix
//! dimensions.

use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use pgvector::Vector;
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

use super::{EmbedError, Embedder};
use crate::db::DbPool;
use crate::db::models::{AgentMemory, AgentMemoryInsertForm};
use crate::domain::{AgentId, ContactId, MemoryId, MemoryKind, MessageId, OrganizationId};

/// Longest memory the table accepts (its CHECK constraint).
pub const MAX_MEMORY_CHARS: usize = 4000;

/// Why long-term memory failed.
#[derive(Debug, thiserror::Error)]
pub enum LongTermError {
    /// PostgreSQL failed.
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
    /// No pooled connection.
    #[error("database pool: {0}")]
    Pool(#[from] diesel_async::pooled_connection::deadpool::PoolError),
    /// The embedder failed.
    #[error(transparent)]
    Embed(#[from] EmbedError),
    /// The embedder and the column disagree; nothing is written.
    #[error(
        "the embedding model produces {embedder} dimensions but agent_memories.embedding is vector({column}); \
         configure an embedding model of {column} dimensions (llm.embedding_model / llm.embedding_dimensions) \
         or migrate the column"
    )]
    DimensionMismatch {
        /// The column's dimension.
        column: usize,
        /// The embedder's dimension.
        embedder: usize,
    },
    /// The content is empty or too long.
    #[error("a memory must be 1 to {MAX_MEMORY_CHARS} characters")]
    InvalidContent,
    /// No such memory for this contact in this organisation.
    #[error("memory not found")]
    NotFound,
}

/// A memory and how close it was to the query.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecalledMemory {
    /// The memory.
    #[serde(flatten)]
    pub memory: AgentMemory,
    /// Cosine similarity to the query, 1 = same direction.
    pub similarity: f64,
}

/// Writes and recalls memories. Cheap to clone.
#[derive(Clone)]
pub struct LongTermMemory {
    pool: DbPool,
    embedder: Arc<dyn Embedder>,
}

#[derive(QueryableByName)]
struct TypeMod {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    atttypmod: i32,
}

impl LongTermMemory {
    /// A store over `pool` embedding with `embedder`.
    pub fn new(pool: DbPool, embedder: Arc<dyn Embedder>) -> Self {
        Self { pool, embedder }
    }

    /// The dimension of `agent_memories.embedding` as the database declares it.
    pub async fn column_dimensions(pool: &DbPool) -> Result<usize, LongTermError> {
        let mut conn = pool.get().await?;
        let row: TypeMod = diesel::sql_query(
            "SELECT atttypmod FROM pg_attribute \
             WHERE attrelid = 'agent_memories'::regclass AND attname = 'embedding'",
        )
        .get_result(&mut conn)
        .await?;
        Ok(usize::try_from(row.atttypmod).unwrap_or(0))
    }

    /// Start-up check: the embedder's dimension must equal the column's. An embedder that does
    /// not declare one is asked to embed a probe text.
    pub async fn check_dimensions(&self) -> Result<usize, LongTermError> {
        let column = Self::column_dimensions(&self.pool).await?;
        let embedder = match self.embedder.dimensions() {
            Some(d) => d,
            None => self
                .embedder
                .embed(vec!["dimension probe".into()])
                .await?
                .into_iter()
                .next()
                .map_or(0, |v| v.len()),
        };
        if embedder == column {
            Ok(column)
        } else {
            Err(LongTermError::DimensionMismatch { column, embedder })
        }
    }

    async fn embed_one(&self, text: &str) -> Result<Vector, LongTermError> {
        let vector = self
            .embedder
            .embed(vec![text.to_owned()])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| EmbedError::Failed("the embedder returned no vector".into()))?;
        if let Some(expected) = self.embedder.dimensions()
            && vector.len() != expected
        {
            return Err(LongTermError::DimensionMismatch {
                column: expected,
                embedder: vector.len(),
            });
        }
        Ok(Vector::from(vector))
    }

    fn check_content(content: &str) -> Result<&str, LongTermError> {
        let content = content.trim();
        if content.is_empty() || content.chars().count() > MAX_MEMORY_CHARS {
            return Err(LongTermError::InvalidContent);
        }
        Ok(content)
    }

    /// Embeds and stores a memory about a contact.
    pub async fn remember(
        &self,
        org: OrganizationId,
        contact: ContactId,
        agent: Option<AgentId>,
        kind: MemoryKind,
        content: &str,
        source: Option<MessageId>,
    ) -> Result<AgentMemory, LongTermError> {
        let content = Self::check_content(content)?;
        let embedding = self.embed_one(content).await?;
        let mut conn = self.pool.get().await?;
        let form = AgentMemoryInsertForm {
            id: MemoryId::new(),
            organization_id: org,
            contact_id: contact,
            agent_id: agent,
            kind,
            content: content.to_owned(),
            embedding: Some(embedding),
            source_message_id: source,
        };
        Ok(AgentMemory::create(&mut conn, &form).await?)
    }

    /// The `k` memories of this contact (in this organisation only) most similar to `query`.
    pub async fn recall(
        &self,
        org: OrganizationId,
        contact: ContactId,
        query: &str,
        k: usize,
    ) -> Result<Vec<RecalledMemory>, LongTermError> {
        if k == 0 || query.trim().is_empty() {
            return Ok(Vec::new());
        }
        let embedding = self.embed_one(query).await?;
        let k = i64::try_from(k).unwrap_or(i64::MAX);
        let mut conn = self.pool.get().await?;
        // Every pooled session runs with `hnsw.iterative_scan = strict_order` (see
        // `db::build_pool`): a filtered HNSW scan keeps going until k rows of this contact pass.
        let rows = AgentMemory::nearest(&mut conn, org, contact, embedding, k).await?;
        Ok(rows
            .into_iter()
            .map(|(memory, distance)| RecalledMemory {
                memory,
                similarity: 1.0 - distance.unwrap_or(1.0),
            })
            .collect())
    }

    /// A memory of this contact, or `NotFound`.
    pub async fn get(
        &self,
        org: OrganizationId,
        contact: ContactId,
        id: MemoryId,
    ) -> Result<AgentMemory, LongTermError> {
        let mut conn = self.pool.get().await?;
        AgentMemory::find(&mut conn, org, contact, id)
            .await
            .map_err(not_found)
    }

    /// Replaces a memory's content and re-embeds it.
    pub async fn edit(
        &self,
        org: OrganizationId,
        contact: ContactId,
        id: MemoryId,
        content: &str,
    ) -> Result<AgentMemory, LongTermError> {
        let content = Self::check_content(content)?;
        self.get(org, contact, id).await?;
        let embedding = self.embed_one(content).await?;
        let mut conn = self.pool.get().await?;
        AgentMemory::update_content(&mut conn, org, contact, id, content, embedding)
            .await
            .map_err(not_found)
    }

    /// Deletes a memory of this contact.
    pub async fn forget(
        &self,
        org: OrganizationId,
        contact: ContactId,
        id: MemoryId,
    ) -> Result<(), LongTermError> {
        let mut conn = self.pool.get().await?;
        match AgentMemory::delete(&mut conn, org, contact, id).await? {
            0 => Err(LongTermError::NotFound),
            _ => Ok(()),
        }
    }
}

fn not_found(e: diesel::result::Error) -> LongTermError {
    match e {
        diesel::result::Error::NotFound => LongTermError::NotFound,
        other => LongTermError::Database(other),
    }
}
