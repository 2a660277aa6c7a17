//! CPU time from /proc: of the `dbsync` child (its own work), and of the database server's
//! threads when the server runs on this machine — what a drain costs the server, and its
//! busiest thread: the connection applying batches to db_b, which each run's batches go
//! through one after another (one transaction each), so its time bounds the drain's rate.

use std::collections::HashMap;

/// Clock ticks per second of /proc's CPU times (`USER_HZ`, 100 on every Linux ABI in use).
const TICKS: f64 = 100.0;

/// User + system CPU seconds in a `/proc/…/stat` line (fields 14 and 15, after the
/// command name, which may hold spaces and parentheses).
fn cpu_of_stat(stat: &str) -> Option<f64> {
    let after_name = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    Some((user + system) / TICKS)
}

/// CPU seconds of a process so far (all its threads).
pub fn process_cpu(pid: u32) -> Option<f64> {
    cpu_of_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// The database server's process on this machine.
pub struct ServerThreads {
    pid: u32,
}

/// What the server spent between two snapshots.
#[derive(Debug, Clone, Copy)]
pub struct ServerCpu {
    /// All threads, CPU seconds.
    pub total: f64,
    /// The busiest thread, CPU seconds.
    pub busiest: f64,
}

impl ServerThreads {
    /// The local `mariadbd` or `mysqld`, when `host` is this machine and one runs here.
    pub fn find(host: &str) -> Option<ServerThreads> {
        if !matches!(host, "127.0.0.1" | "localhost" | "::1") {
            return None;
        }
        let mut found = std::fs::read_dir("/proc").ok()?.filter_map(|entry| {
            let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
            matches!(comm.trim(), "mariadbd" | "mysqld").then_some(pid)
        });
        let pid = found.next()?;
        // Two servers here: which one answers is not known.
        found.next().is_none().then_some(ServerThreads { pid })
    }

    /// CPU seconds of each thread now.
    pub fn snapshot(&self) -> HashMap<u32, f64> {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{}/task", self.pid)) else {
            return HashMap::new();
        };
        tasks
            .filter_map(|entry| {
                let tid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
                let stat =
                    std::fs::read_to_string(format!("/proc/{}/task/{tid}/stat", self.pid)).ok()?;
                Some((tid, cpu_of_stat(&stat)?))
            })
            .collect()
    }
}

/// What each thread spent from `before` to `after` (a thread that began in between counts
/// from zero).
pub fn spent(before: &HashMap<u32, f64>, after: &HashMap<u32, f64>) -> ServerCpu {
    let deltas = after
        .iter()
        .map(|(tid, cpu)| cpu - before.get(tid).copied().unwrap_or(0.0));
    deltas.fold(
        ServerCpu {
            total: 0.0,
            busiest: 0.0,
        },
        |acc, d| ServerCpu {
            total: acc.total + d,
            busiest: acc.busiest.max(d),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cpu_times_past_an_odd_command_name() {
        let stat = "42 (a) b (c)) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0";
        assert_eq!(cpu_of_stat(stat), Some(3.0));
        let before = HashMap::from([(1, 1.0), (2, 5.0)]);
        let after = HashMap::from([(1, 1.5), (2, 7.0), (3, 0.25)]);
        let cpu = spent(&before, &after);
        assert_eq!((cpu.total, cpu.busiest), (2.75, 2.0));
    }

    #[test]
    fn this_process_has_cpu_time() {
        assert!(process_cpu(std::process::id()).is_some());
    }
}
