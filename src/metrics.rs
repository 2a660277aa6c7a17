//! Prometheus metrics. One [`Metrics`] value is created at start-up and passed to the engine
//! and the HTTP layer (no global registry); `GET /metrics` renders it.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    /// Queue rows by status, refreshed at each scrape.
    pub queue_depth: IntGaugeVec,
    /// PENDING and FAILED rows per table, refreshed at each scrape.
    pub queue_depth_by_table: IntGaugeVec,
    /// Age in seconds of the oldest PENDING change (0 when none), refreshed at each scrape.
    pub oldest_pending_age: IntGauge,
    /// Whether the last scrape read the queue gauges from db_a (else they hold the values
    /// read before).
    pub queue_read_ok: IntGauge,
    pub runs: IntCounterVec,
    pub run_duration: HistogramVec,
    pub changes_applied: IntCounterVec,
    pub changes_failed: IntCounterVec,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let queue_depth = IntGaugeVec::new(
            Opts::new("dbsync_queue_depth", "Changes in sync_queue by status"),
            &["status"],
        )?;
        let queue_depth_by_table = IntGaugeVec::new(
            Opts::new(
                "dbsync_queue_depth_by_table",
                "PENDING and FAILED changes in sync_queue per table",
            ),
            &["table", "status"],
        )?;
        let oldest_pending_age = IntGauge::new(
            "dbsync_oldest_pending_age_seconds",
            "Age of the oldest PENDING change (0 when none)",
        )?;
        let queue_read_ok = IntGauge::new(
            "dbsync_queue_read_ok",
            "1 when this scrape read the queue gauges from db_a; 0 when db_a did not answer \
             (they keep the values read before)",
        )?;
        let runs = IntCounterVec::new(
            Opts::new("dbsync_sync_runs_total", "Sync runs by outcome"),
            &["outcome"],
        )?;
        let run_duration = HistogramVec::new(
            HistogramOpts::new("dbsync_sync_run_duration_seconds", "Duration of sync runs")
                .buckets(vec![0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0]),
            &["outcome"],
        )?;
        let changes_applied = IntCounterVec::new(
            Opts::new(
                "dbsync_changes_applied_total",
                "Changes applied to db_b (or superseded)",
            ),
            &["table", "operation"],
        )?;
        let changes_failed = IntCounterVec::new(
            Opts::new(
                "dbsync_changes_failed_total",
                "Failed attempts to apply a change",
            ),
            &["table", "operation"],
        )?;
        let http_requests = IntCounterVec::new(
            Opts::new(
                "dbsync_http_requests_total",
                "HTTP requests by route, method and status",
            ),
            &["route", "method", "status"],
        )?;
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "dbsync_http_request_duration_seconds",
                "HTTP request latency",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0,
            ]),
            &["route"],
        )?;
        registry.register(Box::new(queue_depth.clone()))?;
        registry.register(Box::new(queue_depth_by_table.clone()))?;
        registry.register(Box::new(oldest_pending_age.clone()))?;
        registry.register(Box::new(queue_read_ok.clone()))?;
        registry.register(Box::new(runs.clone()))?;
        registry.register(Box::new(run_duration.clone()))?;
        registry.register(Box::new(changes_applied.clone()))?;
        registry.register(Box::new(changes_failed.clone()))?;
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_duration.clone()))?;
        Ok(Metrics {
            registry,
            queue_depth,
            queue_depth_by_table,
            oldest_pending_age,
            queue_read_ok,
            runs,
            run_duration,
            changes_applied,
            changes_failed,
            http_requests,
            http_duration,
        })
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        if let Err(err) = TextEncoder::new().encode(&self.registry.gather(), &mut buffer) {
            tracing::error!(error = %err, "could not encode metrics");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}
