//! `events`: the inbox event log. Each organisation's events carry a gapless, increasing `seq`
//! (the client's resume cursor), taken from `organizations.event_seq` under that row's lock, so
//! cursors become visible in commit order: a reader never sees seq 7 before seq 6 commits.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

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

    /// Appends several events of one organisation with one cursor bump and one insert, in the
    /// order given (the set-based form of [`Event::append`], for ingest batches).
    pub async fn append_many(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        items: &[(&str, Option<ChatId>, &serde_json::Value)],
    ) -> QueryResult<Vec<Self>> {
        let Ok(count) = i64::try_from(items.len()) else {
            return Err(diesel::result::Error::QueryBuilderError(
                "too many events in one append".into(),
            ));
        };
        if count == 0 {
            return Ok(Vec::new());
        }
        let last: i64 = diesel::update(organizations::table.find(org))
            .set(organizations::event_seq.eq(organizations::event_seq + count))
            .returning(organizations::event_seq)
            .get_result(conn)
            .await?;
        let first = last - count + 1;
        let rows: Vec<EventInsertForm<'_>> = items
            .iter()
            .zip(first..)
            .map(|((event_type, chat_id, payload), seq)| EventInsertForm {
                organization_id: org,
                seq,
                event_type,
                chat_id: *chat_id,
                payload,
            })
            .collect();
        let mut events: Vec<Self> = diesel::insert_into(events::table)
            .values(&rows)
            .returning(Self::as_returning())
            .get_results(conn)
            .await?;
        events.sort_by_key(|e| e.seq);
        Ok(events)
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
