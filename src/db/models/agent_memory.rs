//! `agent_memories`: what agents remember about a contact (facts, preferences, chat summaries),
//! with an embedding for recall. Every query is scoped by organisation, and recall by contact
//! too; the embedding itself never leaves the database through these rows.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use pgvector::{Vector, VectorExpressionMethods};
use serde::Serialize;
use utoipa::ToSchema;

use crate::after_cursor;
use crate::db::pagination::{Cursor, Page, PageRequest};
use crate::db::schema::agent_memories;
use crate::domain::{AgentId, ContactId, MemoryId, MemoryKind, MessageId, OrganizationId};

/// A memory (without its embedding).
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize, ToSchema)]
#[diesel(table_name = agent_memories, check_for_backend(diesel::pg::Pg))]
pub struct AgentMemory {
    /// Id.
    pub id: MemoryId,
    /// Organisation.
    #[serde(skip)]
    pub organization_id: OrganizationId,
    /// The contact it is about.
    pub contact_id: ContactId,
    /// The agent that wrote it, if any.
    pub agent_id: Option<AgentId>,
    /// `fact`, `preference` or `summary`.
    pub kind: MemoryKind,
    /// The memory itself.
    pub content: String,
    /// The message it was learned from.
    pub source_message_id: Option<MessageId>,
    /// Free-form details.
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A new memory.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = agent_memories)]
pub struct AgentMemoryInsertForm {
    /// Id.
    pub id: MemoryId,
    /// Organisation.
    pub organization_id: OrganizationId,
    /// Contact.
    pub contact_id: ContactId,
    /// Agent.
    pub agent_id: Option<AgentId>,
    /// Kind.
    pub kind: MemoryKind,
    /// Content.
    pub content: String,
    /// Its embedding.
    pub embedding: Option<Vector>,
    /// Source message.
    pub source_message_id: Option<MessageId>,
}

impl AgentMemory {
    /// Inserts a memory.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        form: &AgentMemoryInsertForm,
    ) -> QueryResult<Self> {
        diesel::insert_into(agent_memories::table)
            .values(form)
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }

    /// One memory of a contact.
    pub async fn find(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        contact: ContactId,
        id: MemoryId,
    ) -> QueryResult<Self> {
        agent_memories::table
            .filter(agent_memories::organization_id.eq(org))
            .filter(agent_memories::contact_id.eq(contact))
            .filter(agent_memories::id.eq(id))
            .select(Self::as_select())
            .first(conn)
            .await
    }

    /// A contact's memories, newest first.
    pub async fn list(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        contact: ContactId,
        page: PageRequest,
    ) -> QueryResult<Page<Self>> {
        let rows = after_cursor!(
            agent_memories::table
                .filter(agent_memories::organization_id.eq(org))
                .filter(agent_memories::contact_id.eq(contact)),
            agent_memories,
            page
        )
        .select(Self::as_select())
        .load(conn)
        .await?;
        Ok(page.finish(rows, |m: &Self| Cursor {
            created_at: m.created_at,
            id: m.id.0,
        }))
    }

    /// The `k` memories of a contact nearest to `query` by cosine distance, nearest first, with
    /// their distance. Uses the HNSW index; call inside a transaction that enabled iterative
    /// index scans so the organisation/contact filter cannot starve the result.
    pub async fn nearest(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        contact: ContactId,
        query: Vector,
        k: i64,
    ) -> QueryResult<Vec<(Self, Option<f64>)>> {
        agent_memories::table
            .filter(agent_memories::organization_id.eq(org))
            .filter(agent_memories::contact_id.eq(contact))
            .filter(agent_memories::embedding.is_not_null())
            .order(agent_memories::embedding.cosine_distance(query.clone()))
            .limit(k)
            .select((
                Self::as_select(),
                agent_memories::embedding.cosine_distance(query),
            ))
            .load(conn)
            .await
    }

    /// Replaces the content and its embedding.
    pub async fn update_content(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        contact: ContactId,
        id: MemoryId,
        content: &str,
        embedding: Vector,
    ) -> QueryResult<Self> {
        diesel::update(
            agent_memories::table
                .filter(agent_memories::organization_id.eq(org))
                .filter(agent_memories::contact_id.eq(contact))
                .filter(agent_memories::id.eq(id)),
        )
        .set((
            agent_memories::content.eq(content),
            agent_memories::embedding.eq(Some(embedding)),
        ))
        .returning(Self::as_returning())
        .get_result(conn)
        .await
    }

    /// Deletes a memory; returns how many rows went (0 or 1).
    pub async fn delete(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        contact: ContactId,
        id: MemoryId,
    ) -> QueryResult<usize> {
        diesel::delete(
            agent_memories::table
                .filter(agent_memories::organization_id.eq(org))
                .filter(agent_memories::contact_id.eq(contact))
                .filter(agent_memories::id.eq(id)),
        )
        .execute(conn)
        .await
    }
}
