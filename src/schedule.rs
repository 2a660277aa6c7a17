//! Runs the sync engine on `SYNC_CRON`. Only schedules: the engine itself guarantees one run
//! at a time, so a tick that arrives while a run is going simply skips.

use std::sync::Arc;

use tokio_cron_scheduler::{Job, JobScheduler};
use tokio_util::sync::CancellationToken;

use crate::services::sync::{RunError, SyncEngine};

/// Why the schedule did not start: only a `Cron` error is the configuration's.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("SYNC_CRON {cron:?} cannot be scheduled: {reason}")]
    Cron { cron: String, reason: String },
    #[error("the scheduler did not start: {0}")]
    Scheduler(String),
}

pub struct SyncSchedule {
    scheduler: JobScheduler,
    engine: Arc<SyncEngine>,
    /// When the schedule fires next; `None` for one that never does (the 31st of February).
    pub next_run: Option<chrono::DateTime<chrono::Utc>>,
}

pub async fn start(
    cron: &str,
    engine: Arc<SyncEngine>,
    shutdown: CancellationToken,
) -> Result<SyncSchedule, ScheduleError> {
    let failed =
        |e: tokio_cron_scheduler::JobSchedulerError| ScheduleError::Scheduler(e.to_string());
    let mut scheduler = JobScheduler::new().await.map_err(failed)?;
    let job_engine = engine.clone();
    let job = Job::new_async(cron, move |_, _| {
        let engine = job_engine.clone();
        let shutdown = shutdown.clone();
        Box::pin(async move {
            if shutdown.is_cancelled() {
                return;
            }
            match engine.run().await {
                Ok(_) => {}
                Err(RunError::AlreadyRunning) => {
                    tracing::info!("scheduled sync skipped: a run is already in progress")
                }
                Err(err) => tracing::error!(error = %err, "scheduled sync run failed"),
            }
        })
    })
    .map_err(|e| ScheduleError::Cron {
        cron: cron.to_string(),
        reason: e.to_string(),
    })?;
    let job_id = scheduler.add(job).await.map_err(failed)?;
    scheduler.start().await.map_err(failed)?;
    let next_run = scheduler.next_tick_for_job(job_id).await.ok().flatten();
    Ok(SyncSchedule {
        scheduler,
        engine,
        next_run,
    })
}

impl SyncSchedule {
    /// Stops scheduling and waits for a run in progress to end (the engine stops after the
    /// batch in hand once shutdown is cancelled).
    pub async fn stop(mut self) {
        if let Err(err) = self.scheduler.shutdown().await {
            tracing::warn!(error = %err, "scheduler did not shut down cleanly");
        }
        self.engine.wait_idle().await;
    }
}
