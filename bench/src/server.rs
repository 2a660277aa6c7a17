//! The database server under test, the databases the benchmark creates on it (each one
//! registered before it exists, so it is dropped at the end whatever happens), and
//! [`Pair`]: one db_a/db_b pair with its configuration and pools.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use dbsync::config::{Config, DbTarget};
use dbsync::db::{self, PoolSettings, Role};
use dbsync::services::setup;
use sqlx::mysql::MySqlPool;
use sqlx::{AssertSqlSafe, ConnectOptions, Connection};

/// Environment handed to `dbsync` children, in order (later entries win).
pub type Env = Vec<(String, String)>;

/// A schedule that never fires during a benchmark (midnight on January 1st).
pub const NEVER: &str = "0 0 0 1 1 *";

/// Engine settings under test that pass from the benchmark's environment to every child.
const PASS_THROUGH: &[&str] = &[
    "SYNC_BATCH_SIZE",
    "SYNC_MAX_RETRIES",
    "SYNC_RETRY_BACKOFF",
    "SYNC_RETENTION",
    "LOG_FORMAT",
];

/// Host, port and login of a server (DB_HOST/DB_PORT/DB_USER/DB_PASSWORD).
#[derive(Clone, Debug)]
pub struct Server {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
}

impl Server {
    pub fn from_env() -> Result<Server, String> {
        let var = |name: &str, default: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| default.to_string())
        };
        let port = var("DB_PORT", "3306");
        Ok(Server {
            host: var("DB_HOST", "127.0.0.1"),
            port: port
                .parse()
                .map_err(|_| format!("DB_PORT={port:?} is not a port number"))?,
            user: var("DB_USER", "root"),
            password: var("DB_PASSWORD", ""),
        })
    }

    fn env(&self, prefix: &str) -> Env {
        vec![
            (format!("{prefix}HOST"), self.host.clone()),
            (format!("{prefix}PORT"), self.port.to_string()),
            (format!("{prefix}USER"), self.user.clone()),
            (format!("{prefix}PASSWORD"), self.password.clone()),
        ]
    }

    /// A connection to the server without a default database.
    pub async fn connect(&self) -> Result<sqlx::MySqlConnection, String> {
        let env = self.env("DB_");
        let config = config_from(&with_names(env, "x_a", "x_b"))?;
        db::connect_options(&config.local, false)
            .connect()
            .await
            .map_err(|e| format!("cannot connect to {}:{}: {e}", self.host, self.port))
    }
}

static CREATED: Mutex<Vec<DbTarget>> = Mutex::new(Vec::new());

fn register(target: &DbTarget) {
    if let Ok(mut created) = CREATED.lock() {
        created.push(target.clone());
    }
}

/// Drops every database this process registered (on its own server), best effort.
pub async fn drop_registered() {
    let targets: Vec<DbTarget> = match CREATED.lock() {
        Ok(mut created) => created.drain(..).collect(),
        Err(_) => return,
    };
    for target in targets {
        if let Err(err) = drop_database(&target).await {
            eprintln!(
                "warning: could not drop {} on {}:{}: {err}",
                target.database, target.host, target.port
            );
        }
    }
}

pub async fn drop_database(target: &DbTarget) -> Result<(), sqlx::Error> {
    let mut conn = db::connect_options(target, false).connect().await?;
    db::schema::drop_database(&mut conn, &target.database).await?;
    conn.close().await
}

fn with_names(mut env: Env, local: &str, central: &str) -> Env {
    env.push(("DB_OFFLINE_DB".into(), local.into()));
    env.push(("DB_CENTRAL_DB".into(), central.into()));
    env.push(("IS_ONLINE".into(), "true".into()));
    env
}

pub fn config_from(env: &Env) -> Result<Config, String> {
    let lookup = |name: &str| {
        env.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    Config::from_lookup(lookup, "").map_err(|e| e.to_string())
}

const POOL: PoolSettings = PoolSettings {
    max_connections: 4,
    acquire_timeout: Duration::from_secs(60),
    lock_wait_seconds: None,
};

/// One db_a and its db_b, the environment for `dbsync` children, and pools on both.
pub struct Pair {
    pub env: Env,
    pub config: Config,
    pub local: MySqlPool,
    pub central: MySqlPool,
}

impl Pair {
    /// Creates the empty db_a (db_b is created by [`Pair::init`]). `extra` settings win
    /// over the defaults and over what passes through from the environment.
    pub async fn new(
        server: &Server,
        local: &str,
        central: &str,
        extra: &[(&str, &str)],
    ) -> Result<Pair, String> {
        let mut env = with_names(server.env("DB_"), local, central);
        env.push(("RUST_LOG".into(), "warn".into()));
        env.push(("SYNC_RETENTION".into(), "0".into()));
        env.push(("SYNC_CRON".into(), NEVER.into()));
        for name in PASS_THROUGH {
            if let Ok(value) = std::env::var(name) {
                env.push((name.to_string(), value));
            }
        }
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let config = config_from(&env)?;
        register(&config.central);
        register(&config.local);
        let mut conn = db::connect_options(&config.local, false)
            .connect()
            .await
            .map_err(|e| format!("cannot connect to {}:{}: {e}", server.host, server.port))?;
        db::schema::create_database(&mut conn, local)
            .await
            .map_err(|e| format!("creating {local}: {e}"))?;
        let _ = conn.close().await;
        Ok(Pair {
            local: db::lazy_pool(Role::Local, &config.local, POOL),
            central: db::lazy_pool(Role::Central, &config.central, POOL),
            env,
            config,
        })
    }

    /// `dbsync init`: db_b, the tables, the triggers.
    pub async fn init(&self) -> Result<(), String> {
        setup::init(&self.config, false)
            .await
            .map(|_| ())
            .map_err(|e| format!("dbsync init ({}): {e}", self.config.local.database))
    }

    /// [`Pair::new`] then [`Pair::init`].
    pub async fn ready(
        server: &Server,
        local: &str,
        central: &str,
        extra: &[(&str, &str)],
    ) -> Result<Pair, String> {
        let pair = Pair::new(server, local, central, extra).await?;
        pair.init().await?;
        Ok(pair)
    }

    /// Runs statements on db_a; the rows they affected.
    pub async fn exec(&self, sql: &str) -> Result<u64, String> {
        exec(&self.local, sql).await
    }

    pub async fn scalar(&self, sql: &str) -> Result<i64, String> {
        scalar(&self.local, sql).await
    }

    /// Changes of this db_a not synced yet.
    pub async fn pending(&self) -> Result<i64, String> {
        self.scalar("SELECT COUNT(*) FROM sync_queue WHERE sync_status <> 'SYNCED'")
            .await
    }

    pub async fn max_queue_id(&self) -> Result<i64, String> {
        self.scalar("SELECT COALESCE(MAX(id), 0) FROM sync_queue")
            .await
    }

    /// An empty db_b again (dropped and made by `init`), and every change from
    /// `from_queue_id` on PENDING again: the same queue can be drained once more.
    pub async fn reset_drain(&self, from_queue_id: i64) -> Result<(), String> {
        self.reset_queue(from_queue_id).await?;
        self.fresh_central().await
    }

    /// Keeps a copy of the queue's changes from `from_queue_id` on, as they are now, for
    /// [`Pair::reset_to_range`].
    pub async fn save_changes(&self, from_queue_id: i64) -> Result<(), String> {
        let sql = format!(
            "DROP TABLE IF EXISTS bench_changes_copy; \
             CREATE TABLE bench_changes_copy LIKE sync_queue; \
             INSERT INTO bench_changes_copy SELECT * FROM sync_queue WHERE id >= {from_queue_id}"
        );
        self.exec(&sql).await.map(|_| ())
    }

    /// The queue from `from_queue_id` on holding only the saved changes `range` (as saved,
    /// PENDING), and an empty db_b: one table's changes drained alone, with another table's
    /// queued after them kept aside.
    pub async fn reset_to_range(
        &self,
        from_queue_id: i64,
        range: std::ops::RangeInclusive<i64>,
    ) -> Result<(), String> {
        let sql = format!(
            "DELETE FROM sync_queue WHERE id >= {from_queue_id}; \
             INSERT INTO sync_queue SELECT * FROM bench_changes_copy WHERE id BETWEEN {} AND {}",
            range.start(),
            range.end()
        );
        self.exec(&sql).await?;
        self.fresh_central().await
    }

    /// An empty db_b whose watermark stands for the queue's SYNCED history.
    async fn fresh_central(&self) -> Result<(), String> {
        self.recreate_central().await?;
        // The queue's SYNCED history stands for changes an earlier db_b applied: the new
        // db_b's watermark says so, or the run would (rightly) refuse a db_b gone back.
        let applied = self
            .scalar("SELECT COALESCE(MAX(id), 0) FROM sync_queue WHERE sync_status = 'SYNCED'")
            .await?;
        let sql = format!(
            "INSERT INTO sync_watermark (site_id, last_change_id) VALUES ('', {applied}) \
             ON DUPLICATE KEY UPDATE last_change_id = VALUES(last_change_id)"
        );
        exec(&self.central, &sql).await?;
        settle(&self.local).await
    }

    /// Every change from `from_queue_id` on PENDING again. The whole queue (from 0) is put
    /// back from a copy taken the first time, while it was all PENDING: a TRUNCATE and one
    /// INSERT … SELECT, far cheaper for the server than updating a million rows and
    /// purging their old index entries. Part of it (changes added for a later measurement)
    /// is updated in place.
    pub async fn reset_queue(&self, from_queue_id: i64) -> Result<(), String> {
        if from_queue_id > 0 {
            let sql = format!(
                "UPDATE sync_queue SET sync_status = 'PENDING', retry_count = 0, next_attempt_at = NULL \
                 WHERE id >= {from_queue_id} AND sync_status <> 'PENDING'"
            );
            return self.exec(&sql).await.map(|_| ());
        }
        let saved = self
            .scalar(
                "SELECT COUNT(*) FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'bench_queue_copy'",
            )
            .await?;
        let sql = if saved == 0 {
            "CREATE TABLE bench_queue_copy LIKE sync_queue; \
             INSERT INTO bench_queue_copy SELECT * FROM sync_queue"
        } else {
            "TRUNCATE TABLE sync_queue; INSERT INTO sync_queue SELECT * FROM bench_queue_copy"
        };
        self.exec(sql).await.map(|_| ())
    }

    pub async fn recreate_central(&self) -> Result<(), String> {
        drop_database(&self.config.central)
            .await
            .map_err(|e| format!("dropping {}: {e}", self.config.central.database))?;
        self.init().await
    }

    /// Registers another database on db_a's server (a scratch copy) for the final cleanup;
    /// its target.
    pub fn scratch_database(&self, name: &str) -> DbTarget {
        let mut target = self.config.local.clone();
        target.database = name.to_string();
        register(&target);
        target
    }

    /// Closes the pools and drops both databases.
    pub async fn drop(self) {
        self.local.close().await;
        self.central.close().await;
        for target in [&self.config.local, &self.config.central] {
            if let Err(err) = drop_database(target).await {
                eprintln!("warning: could not drop {}: {err}", target.database);
            }
        }
    }
}

pub async fn exec(pool: &MySqlPool, sql: &str) -> Result<u64, String> {
    sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
        .map_err(|e| format!("{}: {e}", abbreviate(sql)))
}

pub async fn scalar(pool: &MySqlPool, sql: &str) -> Result<i64, String> {
    sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql.to_string()))
        .fetch_one(pool)
        .await
        .map_err(|e| format!("{}: {e}", abbreviate(sql)))
}

fn abbreviate(sql: &str) -> String {
    let head: String = sql.chars().take(120).collect();
    if head.len() < sql.len() {
        format!("{head}…")
    } else {
        head
    }
}

/// Waits (at most 30 s: other sessions can hold purge back) until InnoDB has purged what
/// earlier statements left behind (history list length ≤ 100), so work left over from
/// setting a queue up is not paid for by the run measured next.
pub async fn settle(pool: &MySqlPool) -> Result<(), String> {
    let started = Instant::now();
    let first = history_length(pool).await?;
    let mut length = first;
    while length > 100 {
        if started.elapsed() > Duration::from_secs(30) {
            eprintln!("note: InnoDB history list still {length} long after 30 s; measuring anyway");
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        length = history_length(pool).await?;
    }
    if started.elapsed() > Duration::from_secs(1) {
        eprintln!(
            "(waited {:.1} s for InnoDB purge: history list {first} → {length})",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

async fn history_length(pool: &MySqlPool) -> Result<u64, String> {
    let (_, length): (String, String) =
        sqlx::query_as("SHOW GLOBAL STATUS LIKE 'Innodb_history_list_length'")
            .fetch_one(pool)
            .await
            .map_err(|e| format!("reading the history list length: {e}"))?;
    Ok(length.parse().unwrap_or(0))
}

/// Server version and `innodb_buffer_pool_size` in MiB.
pub async fn server_facts(server: &Server) -> Result<(String, i64), String> {
    let mut conn = server.connect().await?;
    let version: String = sqlx::query_scalar("SELECT VERSION()")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    let pool: i64 = sqlx::query_scalar("SELECT CAST(@@innodb_buffer_pool_size AS SIGNED)")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    let _ = conn.close().await;
    Ok((version, pool / (1024 * 1024)))
}
