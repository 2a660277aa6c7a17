//! Test harness: a fresh, uniquely named pair of databases per test on a real server
//! (`DBSYNC_TEST_DB_HOST/PORT/USER/PASSWORD`, default 127.0.0.1:3306 root, no password),
//! dropped when the test ends, so tests run in parallel.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dbsync::config::Config;
use dbsync::db::{self, PoolSettings, Role};
use dbsync::services::setup;
use dbsync::services::sync::{RunReport, SyncEngine};
use dbsync::startup::Service;
use serde_json::Value;
use sqlx::mysql::MySqlPool;
use sqlx::{ConnectOptions, Connection};
use tokio_util::sync::CancellationToken;

pub fn server_env() -> Vec<(&'static str, String)> {
    let var =
        |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_string());
    vec![
        ("DB_HOST", var("DBSYNC_TEST_DB_HOST", "127.0.0.1")),
        ("DB_PORT", var("DBSYNC_TEST_DB_PORT", "3306")),
        ("DB_USER", var("DBSYNC_TEST_DB_USER", "root")),
        ("DB_PASSWORD", var("DBSYNC_TEST_DB_PASSWORD", "")),
    ]
}

/// One test's databases and configuration.
pub struct TestDb {
    pub env: HashMap<String, String>,
    pub config: Config,
    pub local: MySqlPool,
    pub central: MySqlPool,
}

const TEST_POOL: PoolSettings = PoolSettings {
    max_connections: 4,
    acquire_timeout: Duration::from_secs(10),
    lock_wait_seconds: None,
};

impl TestDb {
    /// Fresh db_a and db_b with schema and triggers; `extra` overrides environment values.
    pub async fn new(extra: &[(&str, &str)]) -> TestDb {
        // Logs only when asked: TEST_LOG=1 cargo test -- --nocapture
        if std::env::var_os("TEST_LOG").is_some() {
            dbsync::telemetry::init(dbsync::config::LogFormat::Pretty, "info");
        }
        let tag = uuid::Uuid::new_v4().simple().to_string();
        let mut env: HashMap<String, String> = server_env()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        env.insert("DB_OFFLINE_DB".into(), format!("dbsync_t_{}_a", &tag[..12]));
        env.insert("DB_CENTRAL_DB".into(), format!("dbsync_t_{}_b", &tag[..12]));
        env.insert("IS_ONLINE".into(), "true".into());
        env.insert("PORT".into(), "0".into());
        env.insert("SYNC_RETRY_BACKOFF".into(), "0".into());
        // The service's schedule must not start a run in the middle of a test (the default
        // fires on every even minute); tests that want it set their own.
        env.insert("SYNC_CRON".into(), "0 0 0 1 1 *".into());
        for (k, v) in extra {
            env.insert(k.to_string(), v.to_string());
        }
        let config = config_from(&env);
        setup::init(&config, false)
            .await
            .expect("init test databases");
        let local = db::connect_pool(Role::Local, &config.local, TEST_POOL)
            .await
            .expect("db_a pool");
        let central = db::connect_pool(Role::Central, &config.central, TEST_POOL)
            .await
            .expect("db_b pool");
        TestDb {
            env,
            config,
            local,
            central,
        }
    }

    /// Changes a setting for everything that follows (the engine, the CLI).
    pub fn set(&mut self, name: &str, value: &str) {
        self.env.insert(name.to_string(), value.to_string());
        self.config = config_from(&self.env);
    }

    /// A configuration for these databases with some values changed.
    pub fn config_with(&self, changes: &[(&str, &str)]) -> Config {
        let mut env = self.env.clone();
        for (k, v) in changes {
            env.insert(k.to_string(), v.to_string());
        }
        config_from(&env)
    }

    /// A proxy to db_b's server that the test can cut or freeze.
    /// The CLI's environment with db_b reached through `proxy`.
    pub fn env_through(&self, proxy: &CuttableProxy) -> HashMap<String, String> {
        let mut env = self.env.clone();
        env.insert("DB_CENTRAL_PORT".into(), proxy.port.to_string());
        env
    }

    pub async fn central_proxy(&self) -> CuttableProxy {
        CuttableProxy::start(format!(
            "{}:{}",
            self.config.central.host, self.config.central.port
        ))
        .await
    }

    /// The outcome of the newest run in `sync_runs`.
    pub async fn last_run_outcome(&self) -> String {
        sqlx::query_scalar("SELECT outcome FROM sync_runs ORDER BY id DESC LIMIT 1")
            .fetch_one(&self.local)
            .await
            .expect("the last run")
    }

    pub fn engine(&self) -> Arc<SyncEngine> {
        self.engine_with(&self.config)
    }

    pub fn engine_with(&self, config: &Config) -> Arc<SyncEngine> {
        SyncEngine::new(
            self.local.clone(),
            config,
            CancellationToken::new(),
            Arc::new(dbsync::metrics::Metrics::new().expect("metrics")),
        )
    }

    /// One sync run that must go through: `synced`, or `partial` when it rejected changes
    /// or some are waiting to be retried.
    pub async fn sync(&self) -> RunReport {
        use dbsync::domain::Outcome;
        let report = self.engine().run().await.expect("sync run");
        let partial = report.failed > 0 || report.waiting > 0 || report.held_back > 0;
        let expected = if partial {
            Outcome::Partial
        } else {
            Outcome::Synced
        };
        assert_eq!(report.outcome, expected, "{report}");
        report
    }

    /// Runs the `dbsync` binary with this test's environment, in an empty directory
    /// (so no `.env` is read).
    pub fn cli(&self, args: &[&str]) -> Output {
        run_cli(&self.env, args)
    }

    /// [`cli`](Self::cli) on a blocking thread, so tasks of the test (writers) keep running
    /// while the command does.
    pub async fn cli_async(&self, args: &[&str]) -> Output {
        self.cli_async_with(&self.env, args).await
    }

    /// [`cli_async`](Self::cli_async) with this environment.
    pub async fn cli_async_with(&self, env: &HashMap<String, String>, args: &[&str]) -> Output {
        let env = env.clone();
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run_cli(&env, &args)
        })
        .await
        .expect("dbsync ran")
    }

    pub async fn exec(&self, sql: &str) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&self.local)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    pub async fn exec_central(&self, sql: &str) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&self.central)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Locks another db_b session takes with `statements`, held until the transaction is
    /// rolled back. db_b ends that session once idle for 20 s: a test failing while it is
    /// held cannot leave its clean-up waiting on the locks.
    pub async fn hold_in_central(
        &self,
        statements: &[&str],
    ) -> sqlx::Transaction<'static, sqlx::MySql> {
        let mut lock = self.central.begin().await.expect("begin");
        let timeout = "SET SESSION idle_transaction_timeout = 20";
        for sql in std::iter::once(&timeout).chain(statements) {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(&mut *lock)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        lock
    }

    /// A fresh pair with `table` (created on db_a by `ddl`) synced beside users and orders.
    pub async fn with_table(ddl: &str, table: &str) -> TestDb {
        let mut db = TestDb::new(&[]).await;
        db.exec(ddl).await;
        db.set("SYNC_TABLES", &format!("users,orders,{table}"));
        setup::init(&db.config, false)
            .await
            .expect("init with the new table");
        db
    }

    /// Runs `dbsync args` while a writer holds `table`'s row `id`; once the load waits on
    /// that row, the writer runs `then` (one or more statements) and commits.
    pub async fn during_copy(&self, args: &[&str], (table, id): (&str, i64), then: &str) -> Output {
        let mut holder = self.local.acquire().await.expect("db_a connection");
        let mut writer = holder.begin().await.expect("begin");
        let lock = format!("SELECT 1 FROM `{table}` WHERE id = {id} FOR UPDATE");
        sqlx::raw_sql(sqlx::AssertSqlSafe(lock))
            .execute(&mut *writer)
            .await
            .expect("lock the row");
        let child = cli_command(&self.env, args, &std::env::temp_dir())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("dbsync started");
        let waiting = self.load_waiting_sql();
        let started = Instant::now();
        while self.count(&self.local, &waiting).await == 0 {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the load never waited"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        sqlx::raw_sql(sqlx::AssertSqlSafe(then.to_string()))
            .execute(&mut *writer)
            .await
            .expect("the writer's change");
        writer.commit().await.expect("commit");
        tokio::task::spawn_blocking(|| child.wait_with_output())
            .await
            .expect("join")
            .expect("dbsync ended")
    }

    /// Drops db_b's database and creates it again empty, with dbsync's tables (`init`), as
    /// when a central server is rebuilt.
    pub async fn recreate_central(&self) {
        let central = self.config.central.database.clone();
        self.exec(&format!(
            "DROP DATABASE `{central}`; CREATE DATABASE `{central}`"
        ))
        .await;
        let out = self.cli(&["init"]);
        assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    }

    /// Runs `dbsync <command>` and SIGKILLs it while its load waits for `table` row `id`
    /// (held locked here meanwhile), so the load stops at an exact point.
    /// Counts the load's locking reads on db_a that have waited a second or more (on a
    /// row a test holds).
    pub fn load_waiting_sql(&self) -> String {
        format!(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = '{}' AND ID <> CONNECTION_ID() AND TIME >= 1 AND INFO LIKE '%LOCK IN SHARE MODE%'",
            self.config.local.database
        )
    }

    pub async fn kill_load_at(&self, command: &str, table: &str, id: i64) {
        let waiting_load = self.load_waiting_sql();
        let mut holder = self.local.acquire().await.expect("db_a connection");
        let mut lock = holder.begin().await.expect("begin");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "SELECT 1 FROM `{table}` WHERE id = {id} FOR UPDATE"
        )))
        .execute(&mut *lock)
        .await
        .expect("lock the row");
        let mut child = cli_command(&self.env, &[command], &std::env::temp_dir())
            .spawn()
            .expect("dbsync started");
        while self.count(&self.local, &waiting_load).await == 0 {
            assert!(
                child.try_wait().expect("child status").is_none(),
                "the load ended before reaching {table} {id}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        lock.rollback().await.expect("rollback");
    }

    /// Queue rows as (table, record_id, operation, status, payload).
    pub async fn queue(&self) -> Vec<QueueRow> {
        sqlx::query_as(
            "SELECT id, table_name, COALESCE(record_id, 0) AS record_id, CAST(record_key AS CHAR) AS record_key, \
             CAST(operation AS CHAR) AS operation, CAST(sync_status AS CHAR) AS status, \
             retry_count, CAST(payload AS CHAR) AS payload, last_error FROM sync_queue ORDER BY id",
        )
        .fetch_all(&self.local)
        .await
        .expect("read queue")
    }

    pub async fn count(&self, pool: &MySqlPool, sql: &str) -> i64 {
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_one(pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// The synced tables as `init` captured them.
    pub async fn tables(&self) -> dbsync::services::sync::tables::Tables {
        let mut conn = self.local.acquire().await.expect("db_a connection");
        dbsync::services::sync::tables::load_checked(&mut conn, &self.config.sync.tables)
            .await
            .expect("synced tables")
    }

    /// A user that exists only in db_b (id 999) holding `dup@x.io`: any db_a change that
    /// writes that email is refused by db_b's unique key — the standard poison change.
    pub async fn plant_central_clash(&self) {
        self.exec_central(
            "INSERT INTO users (id, name, email, updated_at) VALUES (999, 'central only', 'dup@x.io', NOW(6))",
        )
        .await;
    }

    /// What an operator does to fix the clash before requeueing.
    pub async fn remove_central_clash(&self) {
        self.exec_central("DELETE FROM users WHERE id = 999").await;
    }

    /// Users 1..=n (`user {i}`, `user{i}@example.com`) by plain SQL, 1000 rows a statement.
    pub async fn insert_users(&self, n: usize) {
        let rows: Vec<String> = (1..=n)
            .map(|i| format!("({i}, 'user {i}', 'user{i}@example.com')"))
            .collect();
        for chunk in rows.chunks(1000) {
            self.exec(&format!(
                "INSERT INTO users (id, name, email) VALUES {}",
                chunk.join(",")
            ))
            .await;
        }
    }

    /// Failed attempts recorded across the whole queue.
    pub async fn total_retries(&self) -> i64 {
        self.count(
            &self.local,
            "SELECT CAST(COALESCE(SUM(retry_count), 0) AS SIGNED) FROM sync_queue",
        )
        .await
    }

    /// A run that applies every change due with none failed, after which db_a and db_b are
    /// equal.
    pub async fn sync_converges(&self) -> RunReport {
        let report = self.sync().await;
        assert_eq!(
            (report.outcome, report.failed),
            (dbsync::domain::Outcome::Synced, 0),
            "{report}"
        );
        self.assert_converged().await;
        report
    }

    pub async fn assert_converged(&self) {
        let report = dbsync::services::verify::verify(
            &self.local,
            &self.central,
            &self.tables().await,
            self.config.sync.site_id.as_deref(),
            &dbsync::services::watchdog::Watchdog::new(self.config.sync.stall_timeout),
        )
        .await
        .expect("verify");
        assert!(report.is_equal(), "db_a and db_b differ: {report:?}");
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QueueRow {
    pub id: i64,
    pub table_name: String,
    /// The integer key, or 0 for other key shapes (see `record_key`).
    pub record_id: i64,
    pub record_key: Option<String>,
    pub operation: String,
    pub status: String,
    pub retry_count: i32,
    pub payload: Option<String>,
    pub last_error: Option<String>,
}

impl QueueRow {
    pub fn payload(&self) -> Value {
        serde_json::from_str(self.payload.as_deref().unwrap_or("null")).expect("payload is JSON")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let config = self.config.clone();
        // Drop runs outside async; a thread with its own runtime does the cleanup.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                // db_b may live on another server (a Galera cluster).
                for target in [&config.local, &config.central] {
                    let Ok(mut conn) = db::connect_options(target, false).connect().await else {
                        continue;
                    };
                    // A test that failed while a session of its own held a lock (a row
                    // held for a load to wait on) would wait here on it for ever. Only
                    // idle sessions are ended: one cut in the middle of a statement (a
                    // trigger being made) can leave files that keep the database.
                    let sessions: Vec<u64> = sqlx::query_scalar(
                        "SELECT ID FROM information_schema.PROCESSLIST \
                         WHERE DB = ? AND ID <> CONNECTION_ID() AND COMMAND = 'Sleep'",
                    )
                    .bind(&target.database)
                    .fetch_all(&mut conn)
                    .await
                    .unwrap_or_default();
                    for id in sessions {
                        let kill = format!("KILL {id}");
                        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(kill))
                            .execute(&mut conn)
                            .await;
                    }
                    let _ = db::schema::drop_database(&mut conn, &target.database).await;
                    // A user a test made for its databases is named after them.
                    let user = target
                        .database
                        .trim_end_matches("_b")
                        .trim_end_matches("_a");
                    let drop_user = format!("DROP USER IF EXISTS '{user}'@'%'");
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(drop_user))
                        .execute(&mut conn)
                        .await;
                    let _ = conn.close().await;
                }
                Some(())
            })
        })
        .join();
    }
}

fn config_from(env: &HashMap<String, String>) -> Config {
    Config::from_lookup(|k| env.get(k).cloned(), "").expect("test config")
}

pub fn run_cli(env: &HashMap<String, String>, args: &[&str]) -> Output {
    let dir = std::env::temp_dir().join(format!("dbsync-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let output = cli_command(env, args, &dir).output().expect("run dbsync");
    let _ = std::fs::remove_dir_all(&dir);
    output
}

pub fn cli_command(env: &HashMap<String, String>, args: &[&str], dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dbsync"));
    command
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("RUST_LOG", "warn");
    if let Ok(path) = std::env::var("PATH") {
        command.env("PATH", path);
    }
    command.envs(env);
    command
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The service running on port 0 over a test's databases.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    shutdown: CancellationToken,
    handle: tokio::task::JoinHandle<()>,
}

impl TestApp {
    pub async fn spawn(db: &TestDb) -> TestApp {
        let shutdown = CancellationToken::new();
        let service = Service::build(&db.config, shutdown.clone())
            .await
            .expect("build service");
        let addr = service.local_addr().expect("bound address");
        let handle = tokio::spawn(async move {
            service.run().await.expect("service runs");
        });
        TestApp {
            addr,
            client: reqwest::Client::new(),
            shutdown,
            handle,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        into_json(self.client.get(self.url(path)).send().await.expect("GET")).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        into_json(
            self.client
                .post(self.url(path))
                .json(&body)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }

    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        into_json(
            self.client
                .put(self.url(path))
                .json(&body)
                .send()
                .await
                .expect("PUT"),
        )
        .await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        into_json(
            self.client
                .delete(self.url(path))
                .send()
                .await
                .expect("DELETE"),
        )
        .await
    }

    /// Stops the service the way a signal does and waits for it to finish.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.handle).await;
    }

    /// Stops the service and says how long it took to end (at most a minute is waited).
    pub async fn stop_timed(self) -> Duration {
        let stopping = std::time::Instant::now();
        self.shutdown.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(60), self.handle).await;
        stopping.elapsed()
    }
}

pub async fn into_json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let value = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("status {status}: body is not JSON: {text}"));
    (status, value)
}

/// Asserts the JSON error shape and returns its code.
pub fn error_code(body: &Value) -> &str {
    let error = &body["error"];
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "no error message in {body}"
    );
    error["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {body}"))
}

/// A TCP proxy to the database server that a test can cut, to play a network that drops,
/// or freeze, to play one that goes silent (connections stay open, no byte passes).
pub struct CuttableProxy {
    pub port: u16,
    cut: Arc<std::sync::atomic::AtomicBool>,
    freeze: Arc<Freeze>,
    connections: Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
    accept: tokio::task::JoinHandle<()>,
}

/// When the proxy is frozen: by hand, after so many bytes from the server, or when the
/// client sends a given text.
#[derive(Default)]
struct Freeze {
    frozen: std::sync::atomic::AtomicBool,
    /// Bytes from the server (over all connections) after which it freezes; 0: never.
    at: std::sync::atomic::AtomicU64,
    passed: std::sync::atomic::AtomicU64,
    /// Text that freezes it, held back, once the client sends it.
    on_text: std::sync::Mutex<Option<Vec<u8>>>,
}

impl CuttableProxy {
    pub async fn start(target: String) -> CuttableProxy {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("proxy bind");
        let port = listener.local_addr().expect("proxy addr").port();
        let cut = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let freeze = Arc::new(Freeze::default());
        let connections: Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>> = Arc::default();
        let (cut_flag, conns, shared) = (cut.clone(), connections.clone(), freeze.clone());
        let accept = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                if cut_flag.load(Ordering::SeqCst) {
                    continue; // dropped: the client sees the connection closed
                }
                let (target, freeze) = (target.clone(), shared.clone());
                let task = tokio::spawn(async move {
                    if let Ok(outbound) = tokio::net::TcpStream::connect(target).await {
                        let (client_in, client_out) = inbound.into_split();
                        let (server_in, server_out) = outbound.into_split();
                        tokio::join!(
                            pump(client_in, server_out, &freeze, false),
                            pump(server_in, client_out, &freeze, true)
                        );
                    }
                });
                conns.lock().expect("proxy list").push(task.abort_handle());
            }
        });
        CuttableProxy {
            port,
            cut,
            freeze,
            connections,
            accept,
        }
    }

    /// Freezes by itself once `bytes` more have come from the server (over all
    /// connections): the silence falls mid-work, at a point the test does not have to race.
    pub fn freeze_after(&self, bytes: u64) {
        use std::sync::atomic::Ordering;
        let passed = self.freeze.passed.load(Ordering::SeqCst);
        self.freeze.at.store(passed + bytes, Ordering::SeqCst);
    }

    /// Freezes by itself when the client sends `text` (a statement), which is held back.
    pub fn freeze_on(&self, text: &str) {
        *self.freeze.on_text.lock().expect("freeze text") = Some(text.as_bytes().to_vec());
    }

    /// Closes every open connection and refuses new ones until [`restore`](Self::restore).
    pub fn cut(&self) {
        self.cut.store(true, std::sync::atomic::Ordering::SeqCst);
        for task in self.connections.lock().expect("proxy list").drain(..) {
            task.abort();
        }
    }

    pub fn restore(&self) {
        self.cut.store(false, std::sync::atomic::Ordering::SeqCst);
    }

    /// No byte passes either way until [`thaw`](Self::thaw); connections stay open.
    pub fn freeze(&self) {
        self.freeze
            .frozen
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// What was held back passes, and the rest after it.
    pub fn thaw(&self) {
        use std::sync::atomic::Ordering;
        *self.freeze.on_text.lock().expect("freeze text") = None;
        self.freeze.at.store(0, Ordering::SeqCst);
        self.freeze.frozen.store(false, Ordering::SeqCst);
    }
}

/// Copies `from` to `to`, holding what it read while the proxy is frozen.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    freeze: &Freeze,
    from_server: bool,
) {
    use std::sync::atomic::Ordering;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 64 * 1024];
    while let Ok(n @ 1..) = from.read(&mut buf).await {
        let trips = if from_server {
            let passed = freeze.passed.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
            let at = freeze.at.load(Ordering::SeqCst);
            at > 0 && passed >= at
        } else {
            let text = freeze.on_text.lock().expect("freeze text");
            text.as_deref()
                .is_some_and(|t| buf[..n].windows(t.len()).any(|w| w == t))
        };
        if trips {
            freeze.frozen.store(true, Ordering::SeqCst);
        }
        while freeze.frozen.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

impl Drop for CuttableProxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}
