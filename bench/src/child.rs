//! The real `dbsync` release binary as a child process: run in an empty directory (so no
//! `.env` is read) with only the environment it is given, timed, and its memory sampled
//! from /proc while it runs.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};

use crate::cpu::process_cpu;
use crate::report::proc_field;
use crate::server::Env;

/// How often a running child's peak RSS (`VmHWM`, which only grows) is read.
const SAMPLE_EVERY: Duration = Duration::from_millis(5);

/// The empty directory the children of run `run_id` work in.
fn work_dir(run_id: &str) -> PathBuf {
    std::env::temp_dir().join(format!("dbsync-bench-{run_id}"))
}

/// Removes that directory.
pub fn remove_work_dir(run_id: &str) {
    let _ = std::fs::remove_dir_all(work_dir(run_id));
}

/// How a child ended.
pub struct Finished {
    pub code: Option<i32>,
    pub elapsed: Duration,
    pub peak_rss_mib: f64,
    /// CPU seconds the child used (read every few milliseconds: the last ones are missed).
    pub cpu_secs: f64,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    /// One line for an error message: the exit code and what the child said.
    pub fn describe(&self) -> String {
        let said = format!("{} {}", self.stdout.trim(), self.stderr.trim());
        let code = self
            .code
            .map_or("killed by a signal".to_string(), |c| format!("exit {c}"));
        format!("{code}: {}", said.trim())
    }
}

/// The `dbsync` binary next to this program, and the empty directory it runs in.
#[derive(Clone)]
pub struct Dbsync {
    bin: PathBuf,
    dir: PathBuf,
}

impl Dbsync {
    pub fn locate(run_id: &str) -> Result<Dbsync, String> {
        let exe = std::env::current_exe().map_err(|e| format!("own path: {e}"))?;
        let bin = exe.with_file_name("dbsync");
        if !bin.is_file() {
            return Err(format!(
                "{} not found: build it with `cargo build --release -p dbsync`",
                bin.display()
            ));
        }
        let dir = work_dir(run_id);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(Dbsync { bin, dir })
    }

    fn command(&self, env: &Env, args: &[&str]) -> Command {
        let mut command = Command::new(&self.bin);
        command
            .args(args)
            .current_dir(&self.dir)
            .env_clear()
            .kill_on_drop(true)
            .stdin(Stdio::null());
        if let Ok(path) = std::env::var("PATH") {
            command.env("PATH", path);
        }
        command.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        command
    }

    /// Starts a long-running child (`serve`); its output is discarded.
    pub fn spawn(&self, env: &Env, args: &[&str]) -> Result<Child, String> {
        self.command(env, args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting dbsync {}: {e}", args.join(" ")))
    }

    /// Runs `dbsync <args>` to its end: exit code, wall time, peak RSS and output.
    pub async fn run(&self, env: &Env, args: &[&str]) -> Result<Finished, String> {
        let started = Instant::now();
        let mut child = self
            .command(env, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("starting dbsync {}: {e}", args.join(" ")))?;
        let stdout = tokio::spawn(read_all(child.stdout.take()));
        let stderr = tokio::spawn(read_all(child.stderr.take()));
        let (status, peak, cpu_secs) = wait_sampling(&mut child).await;
        let elapsed = started.elapsed();
        let status = status.map_err(|e| format!("waiting for dbsync {}: {e}", args.join(" ")))?;
        Ok(Finished {
            code: status.code(),
            elapsed,
            peak_rss_mib: peak,
            cpu_secs,
            stdout: stdout.await.unwrap_or_default(),
            stderr: stderr.await.unwrap_or_default(),
        })
    }

    /// Runs `dbsync <args>` and fails unless it exits with one of `ok_codes`.
    pub async fn expect(&self, env: &Env, args: &[&str], ok: &[i32]) -> Result<Finished, String> {
        let finished = self.run(env, args).await?;
        match finished.code {
            Some(code) if ok.contains(&code) => Ok(finished),
            _ => Err(format!(
                "dbsync {} failed ({})",
                args.join(" "),
                finished.describe()
            )),
        }
    }

    /// `dbsync sync` that must end `synced` (exit 0).
    pub async fn sync(&self, env: &Env) -> Result<Finished, String> {
        self.expect(env, &["sync"], &[0]).await
    }
}

async fn read_all(pipe: Option<impl tokio::io::AsyncRead + Unpin>) -> String {
    let mut text = String::new();
    if let Some(mut pipe) = pipe {
        let _ = pipe.read_to_string(&mut text).await;
    }
    text
}

/// Waits for the child while reading its `VmHWM` (MiB) and CPU time every few milliseconds.
async fn wait_sampling(child: &mut Child) -> (std::io::Result<std::process::ExitStatus>, f64, f64) {
    let pid = child.id();
    let status_file = pid.map(|pid| format!("/proc/{pid}/status"));
    let (mut peak, mut cpu) = (0.0f64, 0.0f64);
    let mut ticker = tokio::time::interval(SAMPLE_EVERY);
    loop {
        tokio::select! {
            status = child.wait() => return (status, peak, cpu),
            _ = ticker.tick() => {
                if let Some(kb) = status_file.as_deref().and_then(|f| proc_field(f, "VmHWM:")) {
                    peak = peak.max(kb / 1024.0);
                }
                if let Some(now) = pid.and_then(process_cpu) {
                    cpu = now;
                }
            }
        }
    }
}

/// Resident memory of a running process, in MiB: `VmRSS` now, or `VmHWM` (its peak).
pub fn rss_mib(child: &Child, field: &str) -> f64 {
    child
        .id()
        .and_then(|pid| proc_field(&format!("/proc/{pid}/status"), field))
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Stops a child: SIGKILL and reap (the benchmark needs nothing from a graceful stop).
pub async fn stop(child: &mut Child) {
    let _ = child.kill().await;
}

/// A free TCP port on loopback, for `dbsync serve`.
pub fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}
