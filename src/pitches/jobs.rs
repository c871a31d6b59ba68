//! Batch pitch jobs: a background task per job generates its items with bounded concurrency
//! (`[pitches] concurrency`), retries transient failures with backoff (`backon`), records each
//! item, and sends `job.progress` signals to the organisation's inbox sockets. The worker holds
//! the job by a lease it renews; a node starting up resumes jobs whose lease ran out (their
//! worker died), so a restart never leaves a job `running` forever.

use backon::{ExponentialBuilder, Retryable};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;
use utoipa::ToSchema;

use super::{PitchOptions, PitchService};
use crate::db::models::pitch_job::status;
use crate::db::models::{ItemOutcome, PitchJob};
use crate::domain::{ContactId, OrganizationId, PitchJobId};
use crate::inbox::Signal;

/// The kind named in this job's `job.progress` signals.
pub const JOB_KIND: &str = "pitch_batch";

/// What every item of a batch is generated with (stored as the job's `settings`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct BatchSettings {
    /// Template and quick settings.
    #[serde(flatten)]
    pub options: PitchOptions,
}

fn lease(service: &PitchService) -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
        + chrono::Duration::seconds(service.ctx().config().pitches.lease_secs.max(10))
}

/// The lease a freshly created job starts with (its creator runs it).
pub fn initial_lease(service: &PitchService) -> chrono::DateTime<chrono::Utc> {
    lease(service)
}

/// Runs a job in the background on this node.
pub fn spawn(service: PitchService, org: OrganizationId, job: PitchJobId) {
    tokio::spawn(async move { run(service, org, job).await });
}

/// Claims jobs whose worker died (lease run out) and runs them here; called at start-up.
pub fn resume_orphans(service: PitchService) {
    tokio::spawn(async move {
        let claimed = match service.ctx().db().get().await {
            Ok(mut conn) => PitchJob::claim_orphans(&mut conn, lease(&service)).await,
            Err(e) => {
                tracing::warn!(error = %e, "cannot resume pitch jobs: no database connection");
                return;
            }
        };
        match claimed {
            Ok(jobs) => {
                for job in jobs {
                    tracing::info!(job.id = %job.id, "resuming an orphaned pitch job");
                    spawn(service.clone(), job.organization_id, job.id);
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot resume pitch jobs"),
        }
    });
}

async fn run(service: PitchService, org: OrganizationId, job_id: PitchJobId) {
    let work = work(&service, org, job_id);
    tokio::pin!(work);
    let every = Duration::from_secs(
        u64::try_from(service.ctx().config().pitches.lease_secs / 3)
            .unwrap_or(10)
            .max(3),
    );
    let mut ticker = tokio::time::interval(every);
    ticker.tick().await;
    let result = loop {
        tokio::select! {
            result = &mut work => break result,
            _ = ticker.tick() => {
                if let Ok(mut conn) = service.ctx().db().get().await
                    && let Err(e) = PitchJob::renew(&mut conn, job_id, lease(&service)).await
                {
                    tracing::warn!(job.id = %job_id, error = %e, "renewing a pitch job's lease failed");
                }
            }
        }
    };
    if let Err(e) = result {
        tracing::warn!(job.id = %job_id, error = %e, "pitch job failed");
        if let Ok(mut conn) = service.ctx().db().get().await {
            let _ = PitchJob::finish(&mut conn, job_id, status::FAILED, Some(&e)).await;
        }
    }
}

async fn work(
    service: &PitchService,
    org: OrganizationId,
    job_id: PitchJobId,
) -> Result<(), String> {
    let ctx = service.ctx();
    let (job, contacts) = {
        let mut conn = ctx.db().get().await.map_err(|e| e.to_string())?;
        let job = PitchJob::find(&mut conn, org, job_id)
            .await
            .map_err(|e| e.to_string())?;
        PitchJob::start(&mut conn, job_id, lease(service))
            .await
            .map_err(|e| e.to_string())?;
        let contacts = PitchJob::take_queued(&mut conn, job_id)
            .await
            .map_err(|e| e.to_string())?;
        (job, contacts)
    };
    let settings: BatchSettings = serde_json::from_value(job.settings.clone())
        .map_err(|e| format!("the job's settings are unreadable: {e}"))?;
    let concurrency = ctx.config().pitches.concurrency.max(1);
    futures_util::stream::iter(contacts)
        .for_each_concurrent(concurrency, |contact| {
            let options = settings.options.clone();
            async move {
                let outcome = item(service, org, contact, &options).await;
                record(service, org, job_id, contact, &outcome).await;
            }
        })
        .await;
    let mut conn = ctx.db().get().await.map_err(|e| e.to_string())?;
    let finished = PitchJob::finish(&mut conn, job_id, status::COMPLETED, None)
        .await
        .map_err(|e| e.to_string())?;
    ctx.publisher().signal(Signal::job_progress(
        org,
        &job_id.to_string(),
        JOB_KIND,
        u64::try_from(finished.done).unwrap_or(0),
        u64::try_from(finished.failed).unwrap_or(0),
        u64::try_from(finished.total).unwrap_or(0),
    ));
    tracing::info!(job.id = %job_id, job.done = finished.done, job.failed = finished.failed, "pitch job completed");
    Ok(())
}

/// One contact, with bounded retries of transient failures.
async fn item(
    service: &PitchService,
    org: OrganizationId,
    contact: ContactId,
    options: &PitchOptions,
) -> ItemOutcome {
    let config = &service.ctx().config().pitches;
    let attempts = AtomicI32::new(0);
    let backoff = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(config.retry_min_delay_ms))
        .with_max_delay(Duration::from_secs(30))
        .with_max_times(config.item_retries)
        .with_jitter();
    let result = (|| async {
        attempts.fetch_add(1, Ordering::Relaxed);
        service.generate(org, contact, options).await
    })
    .retry(backoff)
    .sleep(tokio::time::sleep)
    .when(super::PitchError::is_transient)
    .await;
    let attempts = attempts.load(Ordering::Relaxed);
    match result {
        Ok(generated) => ItemOutcome {
            status: status::COMPLETED,
            pitch_id: Some(generated.pitch.id),
            cached: generated.cached,
            error: None,
            attempts,
        },
        Err(e) => ItemOutcome {
            status: status::FAILED,
            pitch_id: None,
            cached: false,
            error: Some(e.to_string()),
            attempts,
        },
    }
}

/// Stores an item's outcome and signals progress (the final signal is sent once the job is
/// marked completed, so a client seeing `finished` finds the job completed).
async fn record(
    service: &PitchService,
    org: OrganizationId,
    job_id: PitchJobId,
    contact: ContactId,
    outcome: &ItemOutcome,
) {
    let ctx = service.ctx();
    let counted = match ctx.db().get().await {
        Ok(mut conn) => PitchJob::finish_item(&mut conn, job_id, contact, outcome)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match counted {
        Ok((done, failed, total)) if done < total => {
            ctx.publisher().signal(Signal::job_progress(
                org,
                &job_id.to_string(),
                JOB_KIND,
                u64::try_from(done).unwrap_or(0),
                u64::try_from(failed).unwrap_or(0),
                u64::try_from(total).unwrap_or(0),
            ));
        }
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(job.id = %job_id, contact.id = %contact, error = %e, "recording a pitch job item failed");
        }
    }
}
