//! `events`: the inbox event log. Each organisation's events carry a gapless, increasing `seq`
//! (the client's resume cursor), taken from `organizations.event_seq` under that row's lock, so
//! cursors become visible in commit order: a reader never sees seq 7 before seq 6 commits.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use crate::db::prepared::cached;
use crate::db::schema::{events, organizations};
use crate::domain::{ChatId, OrganizationId};

/// One stored event.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, PartialEq)]
#[diesel(table_name = events, check_for_backend(diesel::pg::Pg))]
pub struct Event {
    /// Organisation.
    #[serde(skip)]
    pub organization_id: OrganizationId,
    /// The cursor.
    pub seq: i64,
    /// `message.created`, `chat.updated`, ...
    pub event_type: String,
    /// The chat it concerns, if any (subscriptions to one chat filter on it).
    pub chat_id: Option<ChatId>,
    /// The event's data.
    pub payload: serde_json::Value,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// What `event_append.sql` returns per event.
#[derive(QueryableByName)]
struct Appended {
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
}

#[derive(Insertable)]
#[diesel(table_name = events)]
struct EventInsertForm<'a> {
    organization_id: OrganizationId,
    seq: i64,
    event_type: &'a str,
    chat_id: Option<ChatId>,
    payload: &'a serde_json::Value,
}

impl Event {
    /// Appends an event inside the caller's transaction. The organisation row stays locked until
    /// that transaction ends, which orders concurrent appends; keep such transactions short.
    pub async fn append(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        event_type: &str,
        chat_id: Option<ChatId>,
        payload: &serde_json::Value,
    ) -> QueryResult<Self> {
        let seq: i64 = diesel::update(organizations::table.find(org))
            .set(organizations::event_seq.eq(organizations::event_seq + 1))
            .returning(organizations::event_seq)
            .get_result(conn)
            .await?;
        diesel::insert_into(events::table)
            .values(EventInsertForm {
                organization_id: org,
                seq,
                event_type,
                chat_id,
                payload,
            })
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }

    /// Appends several events of one organisation in one statement (`event_append.sql`: the
    /// cursor bump and the insert together), in the order given; the set-based form of
    /// [`Event::append`], for ingest batches. Payloads are moved into the returned events rather
    /// than read back from the database.
    pub async fn append_many(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        items: Vec<(&str, Option<ChatId>, serde_json::Value)>,
    ) -> QueryResult<Vec<Self>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let kinds: Vec<&str> = items.iter().map(|(kind, _, _)| *kind).collect();
        let chats: Vec<Option<uuid::Uuid>> = items
            .iter()
            .map(|(_, chat, _)| chat.map(uuid::Uuid::from))
            .collect();
        let payloads: Vec<&serde_json::Value> = items.iter().map(|(_, _, p)| p).collect();
        let query = diesel::sql_query(include_str!("event_append.sql"))
            .bind::<SqlUuid, _>(uuid::Uuid::from(org))
            .bind::<Array<Text>, _>(&kinds)
            .bind::<Array<Nullable<SqlUuid>>, _>(&chats)
            .bind::<Array<Jsonb>, _>(&payloads);
        let mut stored: Vec<Appended> = cached(query).load(conn).await?;
        if stored.len() != items.len() {
            // No such organisation: the cursor bump matched no row, so nothing was inserted.
            return Err(diesel::result::Error::NotFound);
        }
        stored.sort_by_key(|row| row.seq);
        Ok(items
            .into_iter()
            .zip(stored)
            .map(|((event_type, chat_id, payload), row)| Self {
                organization_id: org,
                seq: row.seq,
                event_type: event_type.to_owned(),
                chat_id,
                payload,
                created_at: row.created_at,
            })
            .collect())
    }

    /// Events after `seq`, oldest first, at most `limit` (a reconnecting client's backlog).
    pub async fn list_after(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        after_seq: i64,
        chat: Option<ChatId>,
        limit: i64,
    ) -> QueryResult<Vec<Self>> {
        let mut query = events::table
            .filter(events::organization_id.eq(org))
            .filter(events::seq.gt(after_seq))
            .order(events::seq.asc())
            .limit(limit)
            .select(Self::as_select())
            .into_boxed();
        if let Some(chat) = chat {
            query = query.filter(events::chat_id.eq(chat));
        }
        query.load(conn).await
    }

    /// The newest cursor of an organisation (where a fresh subscriber starts).
    pub async fn latest_seq(conn: &mut AsyncPgConnection, org: OrganizationId) -> QueryResult<i64> {
        organizations::table
            .find(org)
            .select(organizations::event_seq)
            .first(conn)
            .await
    }
}
