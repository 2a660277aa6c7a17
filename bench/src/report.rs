//! The Markdown report: one row per figure, with the number of runs behind it, the limit or
//! ratio beside it and the goal with its verdict; plus the statistics and number formats.

use std::time::Duration;

/// One line of the report.
pub struct Row {
    pub scenario: String,
    pub runs: String,
    pub figure: String,
    pub ratio: String,
    pub goal: String,
}

impl Row {
    pub fn new(scenario: impl Into<String>, runs: usize, figure: impl Into<String>) -> Row {
        Row {
            scenario: scenario.into(),
            runs: runs.to_string(),
            figure: figure.into(),
            ratio: String::new(),
            goal: String::new(),
        }
    }

    pub fn ratio(mut self, ratio: impl Into<String>) -> Row {
        self.ratio = ratio.into();
        self
    }

    /// A goal in words (e.g. `≥ 0.8`) and whether it was met.
    pub fn goal(mut self, goal: &str, met: bool) -> Row {
        self.goal = format!("{goal} {}", if met { "✅" } else { "❌" });
        self
    }

    /// A scenario that could not be measured, and why.
    pub fn failure(scenario: &str, error: &str) -> Row {
        Row {
            scenario: format!("**{scenario} failed**"),
            runs: String::new(),
            figure: error.to_string(),
            ratio: String::new(),
            goal: "❌".into(),
        }
    }

    /// True for a [`Row::failure`].
    pub fn is_failure(&self) -> bool {
        self.scenario.starts_with("**")
    }

    /// A row that only says something (no runs, no goal).
    pub fn note(scenario: &str, text: &str) -> Row {
        let mut row = Row::new(scenario, 0, text);
        row.runs.clear();
        row
    }
}

pub fn print_table(rows: &[Row]) {
    println!("| scenario | runs | figure | ratio / limit | goal |");
    println!("| --- | --- | --- | --- | --- |");
    for row in rows {
        let cells = [&row.scenario, &row.runs, &row.figure, &row.ratio, &row.goal];
        let cells: Vec<String> = cells.iter().map(|c| cell(c)).collect();
        println!("| {} |", cells.join(" | "));
    }
}

/// Text that cannot break the table: pipes escaped, one line.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Latencies in milliseconds, sorted once, read by percentile.
pub struct Latencies(Vec<f64>);

impl Latencies {
    pub fn new(mut values: Vec<f64>) -> Latencies {
        values.sort_by(|a, b| a.total_cmp(b));
        Latencies(values)
    }

    /// The `q` quantile (0..=1), nearest rank; NaN when empty.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.0.is_empty() {
            return f64::NAN;
        }
        let at = ((self.0.len() - 1) as f64 * q).round() as usize;
        self.0[at.min(self.0.len() - 1)]
    }

    pub fn p50(&self) -> f64 {
        self.quantile(0.5)
    }

    pub fn p99(&self) -> f64 {
        self.quantile(0.99)
    }

    pub fn max(&self) -> f64 {
        self.0.last().copied().unwrap_or(f64::NAN)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// `1234567` → `1 234 567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// A rate as a whole number with thousands separated.
pub fn rate(per_second: f64) -> String {
    if per_second.is_finite() {
        thousands(per_second.round() as u64)
    } else {
        "n/a".into()
    }
}

pub fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

pub fn ms(value: f64) -> String {
    format!("{value:.2} ms")
}

/// Machine and server facts for the footer.
pub struct Facts {
    pub cores: usize,
    pub ram_mib: u64,
    pub server: String,
    pub buffer_pool_mib: i64,
}

pub fn print_footer(reps: usize, quick: bool, facts: &Facts) {
    println!();
    println!(
        "figure = the median over `runs` repetitions (peak RSS and max latency: the highest); \
         {reps} repetitions asked{}; machine: {} cores, {} MiB RAM; \
         server: {}, innodb_buffer_pool_size {} MiB.",
        if quick { ", --quick sizes" } else { "" },
        facts.cores,
        facts.ram_mib,
        facts.server,
        facts.buffer_pool_mib
    );
}

pub fn memory_total_mib() -> u64 {
    proc_field("/proc/meminfo", "MemTotal:").map_or(0, |kb| (kb / 1024.0) as u64)
}

/// A `Name: <kB> kB` line of a /proc file, in kB.
pub fn proc_field(path: &str, field: &str) -> Option<f64> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_statistics() {
        assert_eq!(thousands(1_234_567), "1 234 567");
        assert_eq!(thousands(12), "12");
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        let l = Latencies::new((1..=100).map(f64::from).collect());
        assert_eq!(l.p50(), 51.0);
        assert_eq!(l.max(), 100.0);
        assert!(Row::failure("x", "y").is_failure());
        assert!(
            Row::new("x", 1, "y")
                .goal("≤ 1", false)
                .goal
                .ends_with('❌')
        );
    }
}
