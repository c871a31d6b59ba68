//! `outbox`: work a committed transaction wants done outside the database (send a message,
//! deliver a webhook). Rows are written in the same transaction as the change that needs them,
//! so nothing is sent for a rolled-back change and nothing committed is forgotten; the outbox
//! dispatcher claims and delivers them.

use chrono::{DateTime, Utc};
use diesel::data_types::PgInterval;
use diesel::dsl::{AsExprOf, Eq, Filter, sql};
use diesel::expression::{SqlLiteral, UncheckedBind};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Interval, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use std::time::Duration;

use crate::db::schema::outbox;
use crate::domain::{ChannelId, ChatId, MessageId, OrganizationId, OutboxId, OutboxStatus};

/// `kind` of a row asking the dispatcher to send an outbound message through its channel.
pub const MESSAGE_SEND: &str = "message.send";

/// One piece of outgoing work.
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Identifiable, Serialize)]
#[diesel(table_name = outbox, check_for_backend(diesel::pg::Pg))]
pub struct OutboxEntry {
    /// Id.
    pub id: OutboxId,
    /// Organisation.
    pub organization_id: OrganizationId,
    /// What to do, e.g. `message.send`.
    pub kind: String,
    /// Rows with the same key are delivered in id order (one chat's messages).
    pub ordering_key: Option<String>,
    /// What the handler of `kind` needs.
    pub payload: serde_json::Value,
    /// Where it stands.
    pub status: OutboxStatus,
    /// Delivery attempts so far.
    pub attempts: i32,
    /// Not before this time.
    pub next_attempt_at: DateTime<Utc>,
    /// A dispatcher's claim, until this time.
    pub locked_until: Option<DateTime<Utc>>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// Stops the same work being queued twice.
    pub idempotency_key: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// New outgoing work (pending, due now).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = outbox)]
pub struct OutboxEntryInsertForm {
    /// Id.
    pub id: OutboxId,
    /// Organisation.
    pub organization_id: OrganizationId,
    /// Kind.
    pub kind: String,
    /// Ordering key.
    pub ordering_key: Option<String>,
    /// Payload.
    pub payload: serde_json::Value,
    /// Idempotency key, unique per organisation.
    pub idempotency_key: Option<String>,
}

impl OutboxEntryInsertForm {
    /// Work to send one outbound message: ordered per chat, queued at most once per message.
    pub fn message_send(
        org: OrganizationId,
        chat: ChatId,
        channel: ChannelId,
        message: MessageId,
    ) -> Self {
        Self {
            id: OutboxId::new(),
            organization_id: org,
            kind: MESSAGE_SEND.to_owned(),
            ordering_key: Some(format!("chat:{chat}")),
            payload: serde_json::json!({
                "message_id": message,
                "chat_id": chat,
                "channel_id": channel,
            }),
            idempotency_key: Some(format!("message:{message}")),
        }
    }
}

impl OutboxEntry {
    /// Queues work; call it inside the transaction that makes the change needing it.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        form: &OutboxEntryInsertForm,
    ) -> QueryResult<Self> {
        diesel::insert_into(outbox::table)
            .values(form)
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }

    /// The organisation's row queued under this idempotency key.
    pub async fn find_by_idempotency_key(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        key: &str,
    ) -> QueryResult<Self> {
        outbox::table
            .filter(outbox::organization_id.eq(org))
            .filter(outbox::idempotency_key.eq(key))
            .select(Self::as_select())
            .first(conn)
            .await
    }
}

/// The longest delay a row can be put off by (a year): keeps interval arithmetic in range.
const MAX_DELAY: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// The expression `now_plus` builds.
type NowPlus = UncheckedBind<SqlLiteral<Timestamptz>, AsExprOf<PgInterval, Interval>>;

/// The rows of `outbox` a claim still covers.
type Claimed = Filter<
    Filter<Filter<outbox::table, Eq<outbox::id, OutboxId>>, Eq<outbox::status, OutboxStatus>>,
    Eq<outbox::attempts, i32>,
>;

/// `now() + delay` in the database's clock, so every node schedules against one time source.
fn now_plus(delay: Duration) -> NowPlus {
    let micros = i64::try_from(delay.min(MAX_DELAY).as_micros()).unwrap_or(i64::MAX);
    sql::<Timestamptz>("now() + ").bind::<Interval, _>(PgInterval::from_microseconds(micros))
}

/// The dispatcher's side: claim due rows, then settle each claim exactly once. Every settling
/// update is fenced by the claim (`status = 'sending'` and the `attempts` the claim set), so a
/// dispatcher that lost its lease to another node cannot overwrite that node's outcome.
impl OutboxEntry {
    /// Claims up to `limit` due rows of `kinds` until `now() + lease` (see `outbox_claim.sql`):
    /// per ordering key only the earliest unfinished row, safe to run on several nodes at once.
    /// Returned oldest first.
    pub async fn claim_due(
        conn: &mut AsyncPgConnection,
        kinds: &[String],
        limit: i64,
        lease: Duration,
    ) -> QueryResult<Vec<Self>> {
        let lease_ms = i64::try_from(lease.min(MAX_DELAY).as_millis()).unwrap_or(i64::MAX);
        let mut rows: Vec<Self> = diesel::sql_query(include_str!("outbox_claim.sql"))
            .bind::<BigInt, _>(limit)
            .bind::<Array<Text>, _>(kinds)
            .bind::<BigInt, _>(lease_ms)
            .load(conn)
            .await?;
        rows.sort_by_key(|row| (row.created_at, row.id));
        Ok(rows)
    }

    /// Delivered. False when the claim was lost (another dispatcher owns the row now).
    pub async fn mark_sent(&self, conn: &mut AsyncPgConnection) -> QueryResult<bool> {
        diesel::update(self.claimed())
            .set((
                outbox::status.eq(OutboxStatus::Sent),
                outbox::locked_until.eq(None::<DateTime<Utc>>),
                outbox::last_error.eq(None::<String>),
            ))
            .execute(conn)
            .await
            .map(|n| n == 1)
    }

    /// Failed for now: pending again, due `delay` from now, with the reason kept.
    pub async fn reschedule(
        &self,
        conn: &mut AsyncPgConnection,
        delay: Duration,
        error: &str,
    ) -> QueryResult<bool> {
        diesel::update(self.claimed())
            .set((
                outbox::status.eq(OutboxStatus::Pending),
                outbox::next_attempt_at.eq(now_plus(delay)),
                outbox::locked_until.eq(None::<DateTime<Utc>>),
                outbox::last_error.eq(error),
            ))
            .execute(conn)
            .await
            .map(|n| n == 1)
    }

    /// Given up: dead, for a human to look at; later rows of its ordering key go ahead.
    pub async fn mark_dead(&self, conn: &mut AsyncPgConnection, error: &str) -> QueryResult<bool> {
        diesel::update(self.claimed())
            .set((
                outbox::status.eq(OutboxStatus::Dead),
                outbox::locked_until.eq(None::<DateTime<Utc>>),
                outbox::last_error.eq(error),
            ))
            .execute(conn)
            .await
            .map(|n| n == 1)
    }

    /// Hands the claim back unattempted: pending, due `delay` from now, the claim's attempt
    /// not counted.
    pub async fn release(
        &self,
        conn: &mut AsyncPgConnection,
        delay: Duration,
    ) -> QueryResult<bool> {
        diesel::update(self.claimed())
            .set((
                outbox::status.eq(OutboxStatus::Pending),
                outbox::next_attempt_at.eq(now_plus(delay)),
                outbox::locked_until.eq(None::<DateTime<Utc>>),
                outbox::attempts.eq(outbox::attempts - 1),
            ))
            .execute(conn)
            .await
            .map(|n| n == 1)
    }

    /// This row as long as this claim on it stands.
    fn claimed(&self) -> Claimed {
        outbox::table
            .filter(outbox::id.eq(self.id))
            .filter(outbox::status.eq(OutboxStatus::Sending))
            .filter(outbox::attempts.eq(self.attempts))
    }
}
