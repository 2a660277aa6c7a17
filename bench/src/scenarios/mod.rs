//! The scenarios, each named for `--only`, and what they share: the server, the `dbsync`
//! binary, the sizes asked for, and figures one scenario measures for another.

mod api;
mod capture;
mod catchup;
mod drain;
mod galera;
mod history;
mod load;
mod mixed;
mod sites;

use crate::child::Dbsync;
use crate::cpu::ServerThreads;
use crate::report::Row;
use crate::server::{Pair, Server};

/// Every scenario, in the order they run.
pub const NAMES: [&str; 8] = [
    "drain", "history", "capture", "mixed", "api", "catchup", "load", "sites",
];

pub struct Ctx {
    pub server: Server,
    /// The server's process, when it runs on this machine (for its CPU time).
    pub server_threads: Option<ServerThreads>,
    pub dbsync: Dbsync,
    pub reps: usize,
    pub quick: bool,
    pub galera: bool,
    pub only: Vec<String>,
    /// Names the databases of this run apart from any other run's.
    pub run_id: String,
    /// The median drain rate at 100 000 changes, when `drain` measured it.
    pub drain_100k: Option<f64>,
    /// The drained 1 000 000-change pair, kept for `history`.
    pub drained_million: Option<Pair>,
}

impl Ctx {
    pub fn wants(&self, name: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| o == name)
    }

    /// A database name of this run: `dbsync_bench_<run>_<tag>`.
    pub fn db_name(&self, tag: &str) -> String {
        format!("dbsync_bench_{}_{tag}", self.run_id)
    }

    /// A fresh pair with `dbsync init` done; `extra` settings win over the defaults.
    pub async fn pair(&self, tag: &str, extra: &[(&str, &str)]) -> Result<Pair, String> {
        let (a, b) = (
            self.db_name(&format!("{tag}_a")),
            self.db_name(&format!("{tag}_b")),
        );
        Pair::ready(&self.server, &a, &b, extra).await
    }

    /// Repetitions for this run, at least one.
    pub fn reps(&self) -> usize {
        self.reps.max(1)
    }
}

/// Runs one scenario by name.
pub async fn run(ctx: &mut Ctx, name: &str) -> Result<Vec<Row>, String> {
    match name {
        "drain" => drain::run(ctx).await,
        "history" => history::run(ctx).await,
        "capture" => capture::run(ctx).await,
        "mixed" => mixed::run(ctx).await,
        "api" => api::run(ctx).await,
        "catchup" => catchup::run(ctx).await,
        "load" => load::run(ctx).await,
        "sites" => sites::run(ctx).await,
        other => Err(format!("unknown scenario {other:?}")),
    }
}
