//! `pitch_jobs` and `pitch_job_items`: a batch of pitches generated in the background
//! (`crate::pitches::jobs`). A worker holds a job by its lease; the counters move with each
//! finished item in one `UPDATE ... RETURNING`, so progress signals never go backwards.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::{pitch_job_items, pitch_jobs};
use crate::domain::{ContactId, OrganizationId, PitchId, PitchJobId, UserId};

/// Job and item states, as stored.
pub mod status {
    /// Created, no worker yet.
    pub const QUEUED: &str = "queued";
    /// A worker holds it (or held it and died; its lease tells).
    pub const RUNNING: &str = "running";
    /// Every item finished (some may have failed).
    pub const COMPLETED: &str = "completed";
    /// The job (or item) could not be done.
    pub const FAILED: &str = "failed";
}

/// A batch job.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize, ToSchema)]
#[diesel(table_name = pitch_jobs, check_for_backend(diesel::pg::Pg))]
pub struct PitchJob {
    /// Id.
    pub id: PitchJobId,
    /// Organisation.
    #[serde(skip)]
    pub organization_id: OrganizationId,
    /// `queued`, `running`, `completed`, `failed` or `cancelled`.
    pub status: String,
    /// Contacts in the batch.
    pub total: i32,
    /// Items finished, generated or failed.
    pub done: i32,
    /// Items of `done` that failed.
    pub failed: i32,
    /// The generator settings every item uses (`template_id`, `tone`, `length`, `focus`,
    /// `regenerate`).
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    /// Who asked for it (a user; `null` for an API key).
    pub created_by: Option<UserId>,
    /// Why the job itself failed.
    pub error: Option<String>,
    /// The holding worker's lease.
    #[serde(skip)]
    pub lease_until: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// A worker started it.
    pub started_at: Option<DateTime<Utc>>,
    /// It finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A new job.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = pitch_jobs)]
pub struct PitchJobInsertForm {
    /// Id.
    pub id: PitchJobId,
    /// Organisation.
    pub organization_id: OrganizationId,
    /// Status.
    pub status: String,
    /// Item count.
    pub total: i32,
    /// Settings.
    pub settings: serde_json::Value,
    /// Creator.
    pub created_by: Option<UserId>,
    /// The creating node's lease.
    pub lease_until: Option<DateTime<Utc>>,
}

/// One contact of a job.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, ToSchema)]
#[diesel(table_name = pitch_job_items, check_for_backend(diesel::pg::Pg))]
pub struct PitchJobItem {
    /// The job.
    #[serde(skip)]
    pub job_id: PitchJobId,
    /// The contact.
    pub contact_id: ContactId,
    /// Order in the request.
    #[serde(skip)]
    pub position: i32,
    /// `queued`, `running`, `completed` or `failed`.
    pub status: String,
    /// The pitch, once generated.
    pub pitch_id: Option<PitchId>,
    /// Whether the pitch came from the cache.
    pub cached: bool,
    /// Why it failed.
    pub error: Option<String>,
    /// Generation attempts made.
    pub attempts: i32,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// How an item ended.
#[derive(Debug, Clone)]
pub struct ItemOutcome {
    /// `completed` or `failed`.
    pub status: &'static str,
    /// The pitch.
    pub pitch_id: Option<PitchId>,
    /// From the cache.
    pub cached: bool,
    /// Failure reason.
    pub error: Option<String>,
    /// Attempts made.
    pub attempts: i32,
}

impl PitchJob {
    /// Inserts a job and its items.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        form: &PitchJobInsertForm,
        items: &[PitchJobItem],
    ) -> QueryResult<Self> {
        let job = diesel::insert_into(pitch_jobs::table)
            .values(form)
            .returning(Self::as_returning())
            .get_result(conn)
            .await?;
        diesel::insert_into(pitch_job_items::table)
            .values(items)
            .execute(conn)
            .await?;
        Ok(job)
    }

    /// A job of the organisation.
    pub async fn find(
        conn: &mut AsyncPgConnection,
        org: OrganizationId,
        id: PitchJobId,
    ) -> QueryResult<Self> {
        pitch_jobs::table
            .filter(pitch_jobs::organization_id.eq(org))
            .filter(pitch_jobs::id.eq(id))
            .select(Self::as_select())
            .first(conn)
            .await
    }

    /// A job's items in request order.
    pub async fn items(
        conn: &mut AsyncPgConnection,
        id: PitchJobId,
    ) -> QueryResult<Vec<PitchJobItem>> {
        pitch_job_items::table
            .filter(pitch_job_items::job_id.eq(id))
            .order(pitch_job_items::position.asc())
            .select(PitchJobItem::as_select())
            .load(conn)
            .await
    }

    /// Marks the job running (keeping its first start time) and extends its lease.
    pub async fn start(
        conn: &mut AsyncPgConnection,
        id: PitchJobId,
        lease_until: DateTime<Utc>,
    ) -> QueryResult<()> {
        diesel::update(pitch_jobs::table.filter(pitch_jobs::id.eq(id)))
            .set((
                pitch_jobs::status.eq(status::RUNNING),
                pitch_jobs::started_at.eq(diesel::dsl::sql::<
                    diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
                >("coalesce(started_at, now())")),
                pitch_jobs::lease_until.eq(Some(lease_until)),
            ))
            .execute(conn)
            .await
            .map(|_| ())
    }

    /// Extends the holding worker's lease.
    pub async fn renew(
        conn: &mut AsyncPgConnection,
        id: PitchJobId,
        lease_until: DateTime<Utc>,
    ) -> QueryResult<()> {
        diesel::update(pitch_jobs::table.filter(pitch_jobs::id.eq(id)))
            .set(pitch_jobs::lease_until.eq(Some(lease_until)))
            .execute(conn)
            .await
            .map(|_| ())
    }

    /// Claims unfinished jobs whose worker is gone (lease run out): their lease becomes ours,
    /// items a dead worker was running go back to the queue, and the counters are recounted
    /// from the items.
    pub async fn claim_orphans(
        conn: &mut AsyncPgConnection,
        lease_until: DateTime<Utc>,
    ) -> QueryResult<Vec<Self>> {
        let claimed: Vec<Self> = diesel::update(
            pitch_jobs::table
                .filter(pitch_jobs::status.eq_any([status::QUEUED, status::RUNNING]))
                .filter(
                    pitch_jobs::lease_until
                        .is_null()
                        .or(pitch_jobs::lease_until.lt(diesel::dsl::now)),
                ),
        )
        .set(pitch_jobs::lease_until.eq(Some(lease_until)))
        .returning(Self::as_returning())
        .get_results(conn)
        .await?;
        for job in &claimed {
            diesel::update(
                pitch_job_items::table
                    .filter(pitch_job_items::job_id.eq(job.id))
                    .filter(pitch_job_items::status.eq(status::RUNNING)),
            )
            .set(pitch_job_items::status.eq(status::QUEUED))
            .execute(conn)
            .await?;
            diesel::sql_query(
                "UPDATE pitch_jobs SET \
                   done = (SELECT count(*) FROM pitch_job_items i WHERE i.job_id = $1 \
                           AND i.status IN ('completed', 'failed')), \
                   failed = (SELECT count(*) FROM pitch_job_items i WHERE i.job_id = $1 \
                           AND i.status = 'failed') \
                 WHERE id = $1",
            )
            .bind::<diesel::sql_types::Uuid, _>(job.id.0)
            .execute(conn)
            .await?;
        }
        Ok(claimed)
    }

    /// The queued items of a job in request order, marked running in the same statement.
    pub async fn take_queued(
        conn: &mut AsyncPgConnection,
        id: PitchJobId,
    ) -> QueryResult<Vec<ContactId>> {
        let mut taken: Vec<(i32, ContactId)> = diesel::update(
            pitch_job_items::table
                .filter(pitch_job_items::job_id.eq(id))
                .filter(pitch_job_items::status.eq(status::QUEUED)),
        )
        .set(pitch_job_items::status.eq(status::RUNNING))
        .returning((pitch_job_items::position, pitch_job_items::contact_id))
        .get_results(conn)
        .await?;
        taken.sort_by_key(|(position, _)| *position);
        Ok(taken.into_iter().map(|(_, contact)| contact).collect())
    }

    /// Records how an item ended and counts it; returns the job's `(done, failed, total)`.
    pub async fn finish_item(
        conn: &mut AsyncPgConnection,
        id: PitchJobId,
        contact: ContactId,
        outcome: &ItemOutcome,
    ) -> QueryResult<(i32, i32, i32)> {
        diesel::update(
            pitch_job_items::table
                .filter(pitch_job_items::job_id.eq(id))
                .filter(pitch_job_items::contact_id.eq(contact)),
        )
        .set((
            pitch_job_items::status.eq(outcome.status),
            pitch_job_items::pitch_id.eq(outcome.pitch_id),
            pitch_job_items::cached.eq(outcome.cached),
            pitch_job_items::error.eq(outcome.error.as_deref()),
            pitch_job_items::attempts.eq(outcome.attempts),
            pitch_job_items::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
        let failed = i32::from(outcome.status == status::FAILED);
        diesel::update(pitch_jobs::table.filter(pitch_jobs::id.eq(id)))
            .set((
                pitch_jobs::done.eq(pitch_jobs::done + 1),
                pitch_jobs::failed.eq(pitch_jobs::failed + failed),
            ))
            .returning((pitch_jobs::done, pitch_jobs::failed, pitch_jobs::total))
            .get_result(conn)
            .await
    }

    /// Ends the job: `completed`, or `failed` with the reason; the lease is released.
    pub async fn finish(
        conn: &mut AsyncPgConnection,
        id: PitchJobId,
        state: &'static str,
        error: Option<&str>,
    ) -> QueryResult<Self> {
        diesel::update(pitch_jobs::table.filter(pitch_jobs::id.eq(id)))
            .set((
                pitch_jobs::status.eq(state),
                pitch_jobs::error.eq(error),
                pitch_jobs::finished_at.eq(Some(Utc::now())),
                pitch_jobs::lease_until.eq(None::<DateTime<Utc>>),
            ))
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }
}
