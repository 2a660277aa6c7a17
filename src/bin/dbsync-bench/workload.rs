//! Databases for a benchmark and the changes it queues.

use std::time::{Duration, Instant};

use dbsync::config::{Config, DbTarget};
use dbsync::db::{self, PoolSettings};
use dbsync::services::setup;
use sqlx::mysql::MySqlPool;
use sqlx::{AssertSqlSafe, ConnectOptions, Connection};

const POOL: PoolSettings = PoolSettings {
    max_connections: 4,
    acquire_timeout: Duration::from_secs(30),
};

/// A db_a/db_b pair made for one scenario and dropped afterwards.
pub struct BenchDbs {
    pub env: Vec<(String, String)>,
    pub config: Config,
    pub local: MySqlPool,
    pub central: MySqlPool,
}

impl BenchDbs {
    pub async fn create(server: &DbTarget, name: &str) -> Result<BenchDbs, String> {
        let env: Vec<(String, String)> = vec![
            ("DB_HOST".into(), server.host.clone()),
            ("DB_PORT".into(), server.port.to_string()),
            ("DB_USER".into(), server.user.clone()),
            ("DB_PASSWORD".into(), server.password.clone()),
            ("DB_OFFLINE_DB".into(), format!("dbsync_bench_{name}_a")),
            ("DB_CENTRAL_DB".into(), format!("dbsync_bench_{name}_b")),
            ("IS_ONLINE".into(), "true".into()),
            ("SYNC_RETENTION".into(), "0".into()),
            ("RUST_LOG".into(), "warn".into()),
        ];
        let mut env = env;
        // Engine settings under test pass through, e.g. SYNC_BATCH_SIZE=2000 dbsync-bench.
        for name in ["SYNC_BATCH_SIZE"] {
            if let Ok(value) = std::env::var(name) {
                env.push((name.into(), value));
            }
        }
        let lookup = env.clone();
        let config =
            Config::from_lookup(|k| lookup.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
                .map_err(|e| e.to_string())?;
        let dbs_exist = BenchDbs::drop_all(&config).await;
        dbs_exist.map_err(|e| format!("cleaning old benchmark databases: {e}"))?;
        setup::init(&config, false)
            .await
            .map_err(|e| e.to_string())?;
        let local = db::connect_pool("local", &config.local, POOL)
            .await
            .map_err(|e| e.to_string())?;
        let central = db::connect_pool("central", &config.central, POOL)
            .await
            .map_err(|e| e.to_string())?;
        Ok(BenchDbs {
            env,
            config,
            local,
            central,
        })
    }

    async fn drop_all(config: &Config) -> Result<(), sqlx::Error> {
        let mut conn = db::connect_options(&config.local, false).connect().await?;
        for name in [&config.local.database, &config.central.database] {
            db::schema::drop_database(&mut conn, name).await?;
            db::schema::drop_database(&mut conn, &format!("{name}_copy")).await?;
        }
        conn.close().await
    }

    pub async fn drop(self) {
        self.local.close().await;
        self.central.close().await;
        if let Err(err) = BenchDbs::drop_all(&self.config).await {
            eprintln!("warning: could not drop benchmark databases: {err}");
        }
    }

    pub async fn exec(&self, sql: String) -> Result<u64, String> {
        sqlx::raw_sql(AssertSqlSafe(sql))
            .execute(&self.local)
            .await
            .map(|r| r.rows_affected())
            .map_err(|e| e.to_string())
    }

    pub async fn scalar(&self, pool: &MySqlPool, sql: &str) -> Result<i64, String> {
        sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql.to_string()))
            .fetch_one(pool)
            .await
            .map_err(|e| e.to_string())
    }

    /// Queues `changes` changes by plain SQL, about 70% inserts, 25% updates, 5% deletes,
    /// users and orders, with ids from `first_id` on. Returns the changes queued.
    pub async fn queue_mix(&self, changes: u64, first_id: u64) -> Result<u64, String> {
        let users = changes * 35 / 100;
        let orders = changes * 35 / 100;
        let user_updates = changes * 10 / 100;
        let order_updates = changes * 15 / 100;
        let deletes = changes - users - orders - user_updates - order_updates;
        let before = self
            .scalar(&self.local, "SELECT COUNT(*) FROM sync_queue")
            .await?;
        for (start, end) in chunks(first_id, users, 1000) {
            let rows: Vec<String> = (start..end)
                .map(|i| format!("({i},'Customer {i}','customer{i}@example.com')"))
                .collect();
            self.exec(format!(
                "INSERT INTO users (id, name, email) VALUES {}",
                rows.join(",")
            ))
            .await?;
        }
        for (start, end) in chunks(first_id, orders, 1000) {
            let rows: Vec<String> = (start..end)
                .map(|i| {
                    let user = first_id + (i - first_id) % users.max(1);
                    format!("({i},{user},{}.{:02},'pending')", i % 5000, i % 100)
                })
                .collect();
            self.exec(format!(
                "INSERT INTO orders (id, user_id, amount, status) VALUES {}",
                rows.join(",")
            ))
            .await?;
        }
        for (start, end) in chunks(first_id, user_updates.min(users), 5000) {
            self.exec(format!(
                "UPDATE users SET name = CONCAT(name, ' *') WHERE id >= {start} AND id < {end}"
            ))
            .await?;
        }
        for (start, end) in chunks(first_id, order_updates.min(orders), 5000) {
            self.exec(format!(
                "UPDATE orders SET status = 'shipped' WHERE id >= {start} AND id < {end}"
            ))
            .await?;
        }
        let delete_from = first_id + orders - deletes.min(orders);
        for (start, end) in chunks(delete_from, deletes.min(orders), 5000) {
            self.exec(format!(
                "DELETE FROM orders WHERE id >= {start} AND id < {end}"
            ))
            .await?;
        }
        let after = self
            .scalar(&self.local, "SELECT COUNT(*) FROM sync_queue")
            .await?;
        Ok((after - before) as u64)
    }

    /// Puts db_b back to empty and every change back to PENDING, to drain the same queue again.
    pub async fn reset_drain(&self, from_queue_id: i64) -> Result<(), String> {
        self.exec(format!(
            "UPDATE sync_queue SET sync_status = 'PENDING' WHERE id >= {from_queue_id} AND sync_status <> 'PENDING'"
        ))
        .await?;
        for sql in [
            "SET FOREIGN_KEY_CHECKS = 0; DELETE FROM orders; DELETE FROM users; DELETE FROM sync_ledger; \
             UPDATE sync_watermark SET last_change_id = 0; SET FOREIGN_KEY_CHECKS = 1",
        ] {
            sqlx::raw_sql(sql)
                .execute(&self.central)
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// The server's own limit: seconds to copy db_a's users and orders into empty tables of
    /// the same shape (no triggers) on the same server with one INSERT … SELECT each.
    pub async fn copy_limit(&self) -> Result<(u64, Duration), String> {
        let copy = format!("{}_copy", self.config.central.database);
        let a = &self.config.local.database;
        self.exec(format!(
            "DROP DATABASE IF EXISTS `{copy}`; CREATE DATABASE `{copy}`; \
             CREATE TABLE `{copy}`.users LIKE `{a}`.users; CREATE TABLE `{copy}`.orders LIKE `{a}`.orders"
        ))
        .await?;
        let started = Instant::now();
        let rows = self
            .exec(format!(
                "INSERT INTO `{copy}`.users SELECT * FROM `{a}`.users; INSERT INTO `{copy}`.orders SELECT * FROM `{a}`.orders"
            ))
            .await?;
        let elapsed = started.elapsed();
        self.exec(format!("DROP DATABASE `{copy}`")).await?;
        Ok((rows, elapsed))
    }
}

/// `[start, end)` ranges of at most `size` covering `count` ids from `first`.
fn chunks(first: u64, count: u64, size: u64) -> Vec<(u64, u64)> {
    let end = first + count;
    (first..end)
        .step_by(size as usize)
        .map(|s| (s, (s + size).min(end)))
        .collect()
}
