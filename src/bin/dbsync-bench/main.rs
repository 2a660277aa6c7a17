//! `dbsync-bench`: measures dbsync on the configured database server and prints a Markdown
//! report of medians and ratios. It creates its own databases (`dbsync_bench_*`) and drops
//! them. Run it from `scripts/bench.sh`, which builds the release binaries first.

mod http_load;
mod workload;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use dbsync::config::DbTarget;
use workload::BenchDbs;

#[derive(Parser)]
#[command(
    name = "dbsync-bench",
    about = "Benchmarks dbsync and prints a Markdown report"
)]
struct Args {
    #[command(subcommand)]
    command: Option<Internal>,
    /// Repetitions per measurement (the median is reported).
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// Smaller sizes and shorter runs, for a quick look (the targets are for the full run).
    #[arg(long)]
    quick: bool,
    /// Only these scenarios (comma-separated): drain, history, capture, api, catchup.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
}

#[derive(Subcommand)]
enum Internal {
    /// Generates HTTP load (used by the api scenario as a separate process).
    #[command(hide = true)]
    Load {
        #[arg(long)]
        addr: SocketAddr,
        #[arg(long, value_enum)]
        kind: http_load::Kind,
        #[arg(long)]
        concurrency: u32,
        #[arg(long)]
        millis: u64,
        #[arg(long)]
        users: u64,
    },
}

fn main() {
    let args = Args::parse();
    let _ = dotenvy::dotenv();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => fail(&format!("cannot start the runtime: {err}")),
    };
    if let Some(Internal::Load {
        addr,
        kind,
        concurrency,
        millis,
        users,
    }) = args.command
    {
        let result = runtime.block_on(http_load::run(
            addr,
            kind,
            concurrency,
            Duration::from_millis(millis),
            users,
        ));
        println!("{}", serde_json::to_string(&result).unwrap_or_default());
        return;
    }
    if let Err(err) = runtime.block_on(report(&args)) {
        fail(&err);
    }
}

fn fail(message: &str) -> ! {
    eprintln!("dbsync-bench: {message}");
    std::process::exit(1);
}

fn server() -> DbTarget {
    let var = |name: &str, default: &str| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| default.to_string())
    };
    DbTarget {
        host: var("DB_HOST", "127.0.0.1"),
        port: var("DB_PORT", "3306").parse().unwrap_or(3306),
        user: var("DB_USER", "root"),
        password: var("DB_PASSWORD", ""),
        database: String::new(),
    }
}

fn sibling_binary(name: &str) -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let path = exe.with_file_name(name);
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} not found: build it with `cargo build --release`",
            path.display()
        ))
    }
}

struct Row {
    scenario: String,
    figure: String,
    ratio: String,
    target: String,
}

impl Row {
    fn new(
        scenario: impl Into<String>,
        figure: impl Into<String>,
        ratio: impl Into<String>,
        target: impl Into<String>,
    ) -> Self {
        Row {
            scenario: scenario.into(),
            figure: figure.into(),
            ratio: ratio.into(),
            target: target.into(),
        }
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

fn verdict(ok: bool) -> &'static str {
    if ok { "✅" } else { "❌" }
}

async fn report(args: &Args) -> Result<(), String> {
    let server = server();
    let dbsync = sibling_binary("dbsync")?;
    let wants = |name: &str| args.only.is_empty() || args.only.iter().any(|o| o == name);
    let reps = args.reps.max(1);
    let mut rows: Vec<Row> = Vec::new();
    eprintln!(
        "benchmarking against {}:{} ({} repetitions)",
        server.host, server.port, reps
    );

    let sizes: [u64; 3] = if args.quick {
        [10_000, 50_000, 100_000]
    } else {
        [10_000, 100_000, 1_000_000]
    };
    let mut rate_100k = 0.0;
    if wants("drain") {
        let mut rates = Vec::new();
        for size in sizes {
            let drain = drain_scenario(&server, &dbsync, size, reps).await?;
            eprintln!(
                "drain {size}: {:.0} changes/s, limit {:.0} rows/s, peak RSS {:.1} MiB",
                drain.rate, drain.limit, drain.peak_rss_mib
            );
            let ratio = drain.rate / drain.limit;
            rows.push(Row::new(
                format!("drain {} changes (`dbsync sync`)", thousands(size)),
                format!("{} changes/s", thousands(drain.rate as u64)),
                format!(
                    "{ratio:.2} × INSERT…SELECT ({} rows/s)",
                    thousands(drain.limit as u64)
                ),
                if size == sizes[1] {
                    format!("≥ 0.25 {}", verdict(ratio >= 0.25))
                } else {
                    String::new()
                },
            ));
            rows.push(Row::new(
                format!("peak RSS of `dbsync sync`, {} changes", thousands(size)),
                format!("{:.1} MiB", drain.peak_rss_mib),
                String::new(),
                if size == sizes[2] {
                    format!("≤ 64 MiB {}", verdict(drain.peak_rss_mib <= 64.0))
                } else {
                    String::new()
                },
            ));
            rates.push((size, drain.rate));
        }
        rate_100k = rates[1].1;
        let ratio = rates[2].1 / rates[1].1;
        rows.push(Row::new(
            format!(
                "scaling: rate at {} ÷ rate at {}",
                thousands(sizes[2]),
                thousands(sizes[1])
            ),
            format!("{ratio:.2}"),
            String::new(),
            format!("≥ 0.8 {}", verdict(ratio >= 0.8)),
        ));
    }
    if wants("history") {
        let (history, fresh) = (sizes[2], sizes[1]);
        let rate = history_scenario(&server, &dbsync, history, fresh, reps).await?;
        eprintln!("drain {fresh} over {history} SYNCED: {rate:.0} changes/s");
        let compare = if rate_100k > 0.0 {
            format!("{:.2} × the same drain without history", rate / rate_100k)
        } else {
            String::new()
        };
        let ok = rate_100k == 0.0 || rate / rate_100k >= 0.8;
        rows.push(Row::new(
            format!(
                "drain {} changes with {} old SYNCED rows in the queue",
                thousands(fresh),
                thousands(history)
            ),
            format!("{} changes/s", thousands(rate as u64)),
            compare,
            format!("≥ 0.8 {}", verdict(ok)),
        ));
    }
    if wants("capture") {
        rows.extend(capture_scenario(&server, reps, args.quick).await?);
    }
    if wants("api") {
        rows.extend(api_scenario(&server, &dbsync, args.quick).await?);
    }
    if wants("catchup") {
        rows.extend(catchup_scenario(&server, &dbsync, args.quick).await?);
    }

    println!("| scenario | median | ratio | target |");
    println!("| --- | --- | --- | --- |");
    for row in rows {
        println!(
            "| {} | {} | {} | {} |",
            row.scenario, row.figure, row.ratio, row.target
        );
    }
    println!();
    println!(
        "{} repetitions per figure; machine: {} cores, {} MiB RAM; server: {}.",
        reps,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        memory_total_mib(),
        server_version(&server).await
    );
    Ok(())
}

struct DrainFigures {
    rate: f64,
    limit: f64,
    peak_rss_mib: f64,
}

async fn drain_scenario(
    server: &DbTarget,
    dbsync: &PathBuf,
    size: u64,
    reps: usize,
) -> Result<DrainFigures, String> {
    let dbs = BenchDbs::create(server, &format!("drain{size}")).await?;
    let queued = dbs.queue_mix(size, 1).await?;
    let (mut rates, mut limits, mut peak) = (Vec::new(), Vec::new(), 0.0f64);
    for rep in 0..reps {
        if rep > 0 {
            dbs.reset_drain(0).await?;
        }
        let (elapsed, rss) = run_sync(dbsync, &dbs.env)?;
        rates.push(queued as f64 / elapsed.as_secs_f64());
        peak = peak.max(rss);
        let (rows, took) = dbs.copy_limit().await?;
        limits.push(rows as f64 / took.as_secs_f64());
    }
    let pending = dbs
        .scalar(
            &dbs.local,
            "SELECT COUNT(*) FROM sync_queue WHERE sync_status <> 'SYNCED'",
        )
        .await?;
    dbs.drop().await;
    if pending != 0 {
        return Err(format!("drain of {size} left {pending} changes unsynced"));
    }
    Ok(DrainFigures {
        rate: median(&mut rates),
        limit: median(&mut limits),
        peak_rss_mib: peak,
    })
}

async fn history_scenario(
    server: &DbTarget,
    dbsync: &PathBuf,
    history: u64,
    fresh: u64,
    reps: usize,
) -> Result<f64, String> {
    let dbs = BenchDbs::create(server, "history").await?;
    dbs.queue_mix(history, 1).await?;
    run_sync(dbsync, &dbs.env)?;
    let first_new = dbs
        .scalar(
            &dbs.local,
            "SELECT COALESCE(MAX(id), 0) + 1 FROM sync_queue",
        )
        .await?;
    let queued = dbs.queue_mix(fresh, 10_000_000).await?;
    let mut rates = Vec::new();
    for rep in 0..reps {
        if rep > 0 {
            dbs.reset_drain(first_new).await?;
        }
        let (elapsed, _) = run_sync(dbsync, &dbs.env)?;
        rates.push(queued as f64 / elapsed.as_secs_f64());
    }
    dbs.drop().await;
    Ok(median(&mut rates))
}

/// Runs `dbsync sync`; its wall time and peak RSS (MiB).
fn run_sync(dbsync: &PathBuf, env: &[(String, String)]) -> Result<(Duration, f64), String> {
    let started = Instant::now();
    let child = dbsync_command(dbsync, env, &["sync"])
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let (status, rss) = wait_with_peak_rss(child)?;
    let elapsed = started.elapsed();
    if !status {
        return Err("dbsync sync failed".into());
    }
    Ok((elapsed, rss))
}

fn dbsync_command(dbsync: &PathBuf, env: &[(String, String)], args: &[&str]) -> Command {
    let mut command = Command::new(dbsync);
    command
        .args(args)
        .env_clear()
        .current_dir(std::env::temp_dir());
    if let Ok(path) = std::env::var("PATH") {
        command.env("PATH", path);
    }
    command.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    command
}

/// Waits for `child` and returns (success, peak RSS in MiB) from the kernel's accounting.
fn wait_with_peak_rss(child: Child) -> Result<(bool, f64), String> {
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if waited != pid {
        return Err(format!("waiting for child {pid} failed"));
    }
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    Ok((ok, usage.ru_maxrss as f64 / 1024.0))
}

async fn capture_scenario(server: &DbTarget, reps: usize, quick: bool) -> Result<Vec<Row>, String> {
    let single = if quick { 500 } else { 2000 };
    let batches = if quick { 5 } else { 20 };
    let dbs = BenchDbs::create(server, "capture").await?;
    dbs.exec("CREATE TABLE users_plain LIKE users".into())
        .await?;
    let mut conn = dbs.local.acquire().await.map_err(|e| e.to_string())?;
    let mut times: [[Vec<f64>; 2]; 3] = Default::default();
    for _ in 0..reps {
        for (t, table) in ["users", "users_plain"].into_iter().enumerate() {
            dbs.exec(format!("DELETE FROM {table}; DELETE FROM sync_queue"))
                .await?;
            let insert = format!("INSERT INTO {table} (id, name, email) VALUES (?, ?, ?)");
            let started = Instant::now();
            for i in 1..=single {
                sqlx::query(sqlx::AssertSqlSafe(insert.clone()))
                    .bind(i)
                    .bind(format!("Customer {i}"))
                    .bind(format!("c{i}@example.com"))
                    .execute(&mut *conn)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            times[0][t].push(started.elapsed().as_secs_f64());
            let update = format!("UPDATE {table} SET name = ? WHERE id = ?");
            let started = Instant::now();
            for i in 1..=single {
                sqlx::query(sqlx::AssertSqlSafe(update.clone()))
                    .bind(format!("Customer {i} (moved)"))
                    .bind(i)
                    .execute(&mut *conn)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            times[1][t].push(started.elapsed().as_secs_f64());
            let started = Instant::now();
            for b in 0..batches {
                let rows: Vec<String> = (0..1000)
                    .map(|j| {
                        let id = 1_000_000 + b * 1000 + j;
                        format!("({id},'Bulk {id}','bulk{id}@example.com')")
                    })
                    .collect();
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO {table} (id, name, email) VALUES {}",
                    rows.join(",")
                )))
                .execute(&mut *conn)
                .await
                .map_err(|e| e.to_string())?;
            }
            times[2][t].push(started.elapsed().as_secs_f64());
        }
    }
    drop(conn);
    dbs.drop().await;
    let labels = [
        (
            format!("capture: {single} single-row autocommit INSERTs"),
            1.3,
        ),
        (
            format!("capture: {single} single-row autocommit UPDATEs"),
            1.3,
        ),
        (format!("capture: {batches} × 1000-row INSERTs"), 2.5),
    ];
    Ok(labels
        .into_iter()
        .zip(times.iter_mut())
        .map(|((label, target), [with, without])| {
            let (with, without) = (median(with), median(without));
            let ratio = with / without;
            Row::new(
                label,
                format!(
                    "{:.0} ms with triggers, {:.0} ms without",
                    with * 1000.0,
                    without * 1000.0
                ),
                format!("{ratio:.2}×"),
                format!("≤ {target}× {}", verdict(ratio <= target)),
            )
        })
        .collect())
}

async fn api_scenario(
    server: &DbTarget,
    dbsync: &PathBuf,
    quick: bool,
) -> Result<Vec<Row>, String> {
    let users = 1000u64;
    let dbs = BenchDbs::create(server, "api").await?;
    let values: Vec<String> = (1..=users)
        .map(|i| format!("({i},'Reader {i}','reader{i}@example.com')"))
        .collect();
    dbs.exec(format!(
        "INSERT INTO users (id, name, email) VALUES {}",
        values.join(",")
    ))
    .await?;
    let port = free_port()?;
    let mut env = dbs.env.clone();
    env.push(("PORT".into(), port.to_string()));
    env.push(("IS_ONLINE".into(), "false".into()));
    let mut serve = dbsync_command(dbsync, &env, &["serve"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    wait_for_port(addr).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_rss = rss_mib(serve.id(), "VmRSS");
    let bench = std::env::current_exe().map_err(|e| e.to_string())?;
    let millis = if quick { 1500 } else { 5000 };
    let mut rows = Vec::new();
    let mut errors = 0;
    for kind in [
        http_load::Kind::GetUser,
        http_load::Kind::PostUser,
        http_load::Kind::PostOrder,
    ] {
        for concurrency in [1u32, 16, 64] {
            let output = Command::new(&bench)
                .args(["load", "--addr", &addr.to_string(), "--kind"])
                .arg(match kind {
                    http_load::Kind::GetUser => "get-user",
                    http_load::Kind::PostUser => "post-user",
                    http_load::Kind::PostOrder => "post-order",
                })
                .args([
                    "--concurrency",
                    &concurrency.to_string(),
                    "--millis",
                    &millis.to_string(),
                    "--users",
                    &users.to_string(),
                ])
                .output()
                .map_err(|e| e.to_string())?;
            let result: http_load::LoadResult = serde_json::from_slice(&output.stdout)
                .map_err(|e| format!("load generator: {e}"))?;
            eprintln!(
                "{} c={concurrency}: {:.0} req/s p50 {:.2} ms p99 {:.2} ms errors {}",
                kind.label(),
                result.per_second,
                result.p50_ms,
                result.p99_ms,
                result.errors
            );
            errors += result.errors;
            rows.push(Row::new(
                format!("API {} at concurrency {concurrency}", kind.label()),
                format!("{} req/s", thousands(result.per_second as u64)),
                format!("p50 {:.2} ms, p99 {:.2} ms", result.p50_ms, result.p99_ms),
                format!("no errors {}", verdict(result.errors == 0)),
            ));
        }
    }
    let loaded_rss = rss_mib(serve.id(), "VmHWM");
    stop(&mut serve);
    dbs.drop().await;
    rows.push(Row::new(
        "`dbsync serve` RSS, idle",
        format!("{idle_rss:.1} MiB"),
        "",
        format!("≤ 25 MiB {}", verdict(idle_rss <= 25.0)),
    ));
    rows.push(Row::new(
        "`dbsync serve` peak RSS under the load above",
        format!("{loaded_rss:.1} MiB"),
        "",
        format!("≤ 64 MiB {}", verdict(loaded_rss <= 64.0)),
    ));
    if errors > 0 {
        eprintln!("warning: {errors} failed requests under load");
    }
    Ok(rows)
}

/// Writes continue at a steady rate while offline, then the site comes online and
/// `dbsync sync` runs back to back until the backlog is gone.
async fn catchup_scenario(
    server: &DbTarget,
    dbsync: &PathBuf,
    quick: bool,
) -> Result<Vec<Row>, String> {
    let offline = Duration::from_secs(if quick { 5 } else { 30 });
    let rate_per_writer = 250u64;
    let writers = 4u64;
    let dbs = BenchDbs::create(server, "catchup").await?;
    let stop_writing = tokio_util::sync::CancellationToken::new();
    let online_at = std::sync::Arc::new(std::sync::OnceLock::<Instant>::new());
    let mut handles = Vec::new();
    for writer in 0..writers {
        let pool = dbs.local.clone();
        let stop_writing = stop_writing.clone();
        let online_at = online_at.clone();
        handles.push(tokio::spawn(async move {
            let mut offline_lat = Vec::new();
            let mut online_lat = Vec::new();
            let mut ticker =
                tokio::time::interval(Duration::from_micros(1_000_000 / rate_per_writer));
            let mut n = 0u64;
            while !stop_writing.is_cancelled() {
                ticker.tick().await;
                n += 1;
                let id = writer * 100_000_000 + n;
                let started = Instant::now();
                let ok = sqlx::query("INSERT INTO users (id, name, email) VALUES (?, ?, ?)")
                    .bind(id as i64)
                    .bind(format!("Walk-in {id}"))
                    .bind(format!("walkin{id}@example.com"))
                    .execute(&pool)
                    .await
                    .is_ok();
                let micros = started.elapsed().as_micros() as f64 / 1000.0;
                if ok {
                    if online_at.get().is_some() {
                        online_lat.push(micros)
                    } else {
                        offline_lat.push(micros)
                    }
                }
            }
            (offline_lat, online_lat)
        }));
    }
    tokio::time::sleep(offline).await;
    let backlog = dbs
        .scalar(
            &dbs.local,
            "SELECT COUNT(*) FROM sync_queue WHERE sync_status = 'PENDING'",
        )
        .await?;
    let online = Instant::now();
    let _ = online_at.set(online);
    let mut caught_up = None;
    for _ in 0..100 {
        run_sync(dbsync, &dbs.env)?;
        // Caught up when what is left is only what arrived in the last second.
        let left = dbs
            .scalar(
                &dbs.local,
                "SELECT COUNT(*) FROM sync_queue WHERE sync_status = 'PENDING'",
            )
            .await?;
        if left as u64 <= rate_per_writer * writers {
            caught_up = Some(online.elapsed());
            break;
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop_writing.cancel();
    let (mut offline_lat, mut online_lat) = (Vec::new(), Vec::new());
    for handle in handles {
        if let Ok((mut a, mut b)) = handle.await {
            offline_lat.append(&mut a);
            online_lat.append(&mut b);
        }
    }
    dbs.drop().await;
    let caught_up = caught_up.ok_or("the backlog was not cleared after 100 runs")?;
    let p = |v: &mut Vec<f64>, q: f64| {
        v.sort_by(|a, b| a.total_cmp(b));
        v.get(((v.len().max(1) - 1) as f64 * q) as usize)
            .copied()
            .unwrap_or(0.0)
    };
    let (off50, off99) = (p(&mut offline_lat, 0.5), p(&mut offline_lat, 0.99));
    let (on50, on99) = (p(&mut online_lat, 0.5), p(&mut online_lat, 0.99));
    Ok(vec![
        Row::new(
            format!(
                "catch-up: {} s offline at {} writes/s ({} queued), then online",
                offline.as_secs(),
                rate_per_writer * writers,
                thousands(backlog as u64)
            ),
            format!("backlog cleared in {:.2} s", caught_up.as_secs_f64()),
            String::new(),
            String::new(),
        ),
        Row::new(
            "catch-up: write latency offline → during catch-up",
            format!("p50 {off50:.2} → {on50:.2} ms"),
            format!("p99 {off99:.2} → {on99:.2} ms"),
            String::new(),
        ),
    ])
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

async fn wait_for_port(addr: SocketAddr) -> Result<(), String> {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("dbsync serve did not listen on {addr}"))
}

fn stop(child: &mut Child) {
    // SAFETY: sending SIGTERM to our own child process.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let _ = child.wait();
}

/// A `VmRSS`/`VmHWM` line of /proc/<pid>/status, in MiB.
fn rss_mib(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with(field)).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn memory_total_mib() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines().next().and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<u64>().ok())
            })
        })
        .map(|kb| kb / 1024)
        .unwrap_or(0)
}

async fn server_version(server: &DbTarget) -> String {
    use sqlx::{ConnectOptions, Connection};
    let Ok(mut conn) = dbsync::db::connect_options(server, false).connect().await else {
        return "unknown".into();
    };
    let version: String = sqlx::query_scalar("SELECT VERSION()")
        .fetch_one(&mut conn)
        .await
        .unwrap_or_default();
    // The 1M-change figures depend on whether the queue fits in the buffer pool.
    let pool: i64 = sqlx::query_scalar("SELECT CAST(@@innodb_buffer_pool_size AS SIGNED)")
        .fetch_one(&mut conn)
        .await
        .unwrap_or_default();
    let _ = conn.close().await;
    format!(
        "{version}, innodb_buffer_pool_size {} MiB",
        pool / (1024 * 1024)
    )
}

fn thousands(n: u64) -> String {
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
