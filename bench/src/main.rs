//! `dbsync-bench`: measures dbsync on the configured database server (DB_HOST, DB_PORT,
//! DB_USER, DB_PASSWORD; default 127.0.0.1:3306 root, no password) and prints a Markdown
//! report of medians, ratios and goals. It creates its own databases
//! (`dbsync_bench_<run>_*`) and drops them at the end, also after an error or Ctrl-C. It
//! times the real `dbsync` release binary next to it. Run it from `scripts/bench.sh`.

mod child;
mod cpu;
mod http_load;
mod mixed_table;
mod report;
mod scenarios;
mod server;
mod workload;
mod writer;

use std::process::ExitCode;

use clap::Parser;
use rand::Rng;

use report::{Facts, Row};
use scenarios::{Ctx, NAMES};

#[derive(Parser)]
#[command(
    name = "dbsync-bench",
    about = "Benchmarks dbsync against a real server and prints a Markdown report",
    after_help = "Scenarios: drain, history, capture, mixed, api, catchup, load, sites. \
                  SYNC_BATCH_SIZE, SYNC_MAX_RETRIES, SYNC_RETRY_BACKOFF, SYNC_RETENTION and \
                  LOG_FORMAT pass through to the dbsync children."
)]
struct Args {
    /// Repetitions per measurement (the median is reported).
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// Smaller sizes and shorter runs, for a quick look (the goals are for the full run).
    #[arg(long)]
    quick: bool,
    /// Only these scenarios (comma-separated).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Also drain the sites into the 3-node Galera cluster of `scripts/galera.sh up`.
    #[arg(long)]
    galera: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(unknown) = args.only.iter().find(|o| !NAMES.contains(&o.as_str())) {
        eprintln!(
            "dbsync-bench: unknown scenario {unknown:?}; known: {}",
            NAMES.join(", ")
        );
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("dbsync-bench: cannot start the async runtime: {err}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(supervise(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(err) => {
            eprintln!("dbsync-bench: {err}");
            ExitCode::from(1)
        }
    }
}

/// Runs the benchmark in a task that Ctrl-C can stop (its `dbsync` children die with it),
/// then drops every database it created, whatever happened. `Ok(false)`: a scenario failed.
async fn supervise(args: Args) -> Result<bool, String> {
    let run_id = format!("{:06x}", rand::rng().random_range(0..0xff_ffffu32));
    let task = tokio::spawn(benchmark(args, run_id.clone()));
    let abort = task.abort_handle();
    let outcome = tokio::select! {
        joined = task => joined.unwrap_or_else(|e| Err(format!("the benchmark stopped: {e}"))),
        _ = tokio::signal::ctrl_c() => {
            abort.abort();
            Err("interrupted".to_string())
        }
    };
    eprintln!("dropping the benchmark databases");
    server::drop_registered().await;
    child::remove_work_dir(&run_id);
    outcome
}

async fn benchmark(args: Args, run_id: String) -> Result<bool, String> {
    let server = server::Server::from_env()?;
    let (version, buffer_pool_mib) = server::server_facts(&server).await?;
    let dbsync = child::Dbsync::locate(&run_id)?;
    eprintln!(
        "benchmarking against {}:{} ({version}), run {run_id}, {} repetitions{}",
        server.host,
        server.port,
        args.reps.max(1),
        if args.quick { ", --quick" } else { "" }
    );
    let mut ctx = Ctx {
        server_threads: cpu::ServerThreads::find(&server.host),
        server,
        dbsync,
        reps: args.reps,
        quick: args.quick,
        galera: args.galera,
        only: args.only,
        run_id,
        drain_100k: None,
        drained_million: None,
    };
    let rows = run_scenarios(&mut ctx).await;
    report::print_table(&rows);
    let facts = Facts {
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        ram_mib: report::memory_total_mib(),
        server: version,
        buffer_pool_mib,
    };
    report::print_footer(ctx.reps(), ctx.quick, &facts);
    Ok(!rows.iter().any(Row::is_failure))
}

/// Every scenario asked for, in order; a scenario that fails is a row saying why.
async fn run_scenarios(ctx: &mut Ctx) -> Vec<Row> {
    let mut rows = Vec::new();
    for name in NAMES {
        if !ctx.wants(name) {
            continue;
        }
        let started = std::time::Instant::now();
        eprintln!("== {name}");
        match scenarios::run(ctx, name).await {
            Ok(mut more) => rows.append(&mut more),
            Err(err) => {
                eprintln!("{name} failed: {err}");
                rows.push(Row::failure(name, &err));
            }
        }
        eprintln!("== {name} took {:.0} s", started.elapsed().as_secs_f64());
    }
    if let Some(pair) = ctx.drained_million.take() {
        pair.drop().await;
    }
    rows
}
