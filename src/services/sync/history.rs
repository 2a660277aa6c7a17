//! Queue depth over the last hour, kept in memory for the status page's chart.

use std::collections::VecDeque;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// Samples older than this are dropped.
const KEEP: Duration = Duration::hours(1);
/// A sample in the same 10-second slot as the previous one replaces it, so however often
/// runs end the history holds at most one sample per slot: 360 in the hour.
const SLOT_SECONDS: i64 = 10;

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
        let slot = |s: &Sample| s.at.timestamp().div_euclid(SLOT_SECONDS);
        if samples
            .back()
            .is_some_and(|last| slot(last) == slot(&sample))
        {
            samples.pop_back();
        }
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

    #[test]
    fn frequent_samples_share_a_slot() {
        let history = QueueHistory::default();
        let start = Utc::now();
        for ms in 0..10_000 {
            history.record(Sample {
                at: start + Duration::milliseconds(ms * 10),
                pending: ms,
                failed: 0,
            });
        }
        let samples = history.samples();
        assert!(samples.len() <= 11, "{} samples for 100 s", samples.len());
        assert_eq!(
            samples.last().map(|s| s.pending),
            Some(9_999),
            "the newest is kept"
        );
    }
}
