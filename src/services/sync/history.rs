//! Queue depth over the last hour, kept in memory for the status page's chart.

use std::collections::VecDeque;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// Samples older than this are dropped.
const KEEP: Duration = Duration::hours(1);

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Sample {
    pub at: DateTime<Utc>,
    pub pending: i64,
    pub failed: i64,
}

#[derive(Default)]
pub struct QueueHistory {
    samples: Mutex<VecDeque<Sample>>,
}

impl QueueHistory {
    pub fn record(&self, sample: Sample) {
        // A poisoned lock only means a panic elsewhere mid-push; the data is still usable.
        let mut samples = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        samples.push_back(sample);
        while samples.front().is_some_and(|s| sample.at - s.at > KEEP) {
            samples.pop_front();
        }
    }

    pub fn samples(&self) -> Vec<Sample> {
        self.samples
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .copied()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_one_hour() {
        let history = QueueHistory::default();
        let start = Utc::now();
        for minute in 0..90 {
            history.record(Sample {
                at: start + Duration::minutes(minute),
                pending: minute,
                failed: 0,
            });
        }
        let samples = history.samples();
        assert_eq!(samples.first().map(|s| s.pending), Some(29));
        assert_eq!(samples.len(), 61);
    }
}
