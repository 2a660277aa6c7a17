//! The central on a real 3-node MariaDB Galera cluster (scripts/galera.sh, ports 4401-4403):
//! many sites through different nodes at once, nodes killed mid-run. The tests share the
//! cluster and kill its nodes, so they take turns.

#[path = "../integration/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use dbsync::domain::Outcome;
use helpers::TestDb;

const NODES: [&str; 3] = ["127.0.0.1:4401", "127.0.0.1:4402", "127.0.0.1:4403"];

fn galera(args: &[&str]) {
    let script = format!("{}/scripts/galera.sh", env!("CARGO_MANIFEST_DIR"));
    let output = Command::new("bash")
        .arg(script)
        .args(args)
        .output()
        .expect("run galera.sh");
    assert!(
        output.status.success(),
        "galera.sh {args:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The cluster, all three nodes Synced, for this test alone.
async fn cluster() -> tokio::sync::MutexGuard<'static, ()> {
    static TURN: OnceLock<tokio::sync::Mutex<()>> = OnceLock::new();
    let turn = TURN
        .get_or_init(|| tokio::sync::Mutex::new(()))
        .lock()
        .await;
    tokio::task::spawn_blocking(|| galera(&["up"]))
        .await
        .expect("galera up");
    turn
}

async fn site(central: &str, id: &str, nodes: &str) -> TestDb {
    TestDb::new(&[
        ("SITE_ID", id),
        ("DB_CENTRAL_DB", central),
        ("DB_CENTRAL_HOST", nodes),
        ("SYNC_BATCH_SIZE", "500"),
    ])
    .await
}

/// A table of blobs, as `(name, DDL)`.
const DOCS: (&str, &str) = (
    "docs",
    "CREATE TABLE docs (id INT PRIMARY KEY, body LONGBLOB)",
);

/// A site through node 1 syncing `table` (`(name, DDL)`, created on db_a) beside users and
/// orders, with `settings` changed.
async fn site_with_table(
    central: &str,
    id: &str,
    (name, ddl): (&str, &str),
    settings: &[(&str, &str)],
) -> TestDb {
    let mut db = site(central, id, NODES[0]).await;
    db.exec(ddl).await;
    db.set("SYNC_TABLES", &format!("users,orders,{name}"));
    for (setting, value) in settings {
        db.set(setting, value);
    }
    dbsync::services::setup::init(&db.config, false)
        .await
        .expect("init with the table");
    db
}

fn central_name() -> String {
    format!(
        "dbsync_g_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// About `3 * n` changes: users (the same emails on every site), orders, updates of the
/// same records more than once, deletes.
async fn write_changes(db: &TestDb, n: usize) {
    db.insert_users(n).await;
    let orders: Vec<String> = (1..=n)
        .map(|i| format!("({i}, {i}, {}.{:02})", i % 500, i % 100))
        .collect();
    for chunk in orders.chunks(1000) {
        db.exec(&format!(
            "INSERT INTO orders (id, user_id, amount) VALUES {}",
            chunk.join(",")
        ))
        .await;
    }
    db.exec("UPDATE users SET name = CONCAT(name, ' v2') WHERE id % 2 = 0")
        .await;
    db.exec("UPDATE users SET name = CONCAT(name, ' v3') WHERE id % 4 = 0")
        .await;
    db.exec("UPDATE orders SET status = 'shipped' WHERE id % 3 = 0")
        .await;
    db.exec("DELETE FROM orders WHERE id % 10 = 0").await;
}

/// Runs `sql` on `node` with the `mariadb` client (the cluster's state without a pool that
/// would hold connections to it).
fn node_sql(node: &str, sql: &str) -> Option<std::process::Output> {
    let (host, port) = node.split_once(':')?;
    Command::new("mariadb")
        .args([
            "--protocol=TCP",
            "-h",
            host,
            "-P",
            port,
            "-uroot",
            "-N",
            "-e",
            sql,
        ])
        .output()
        .ok()
}

fn node_status(node: &str) -> Option<String> {
    let output = node_sql(node, "SHOW STATUS LIKE 'wsrep_ready'")?;
    Some(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_sites_through_three_nodes_drain_at_once() {
    let _cluster = cluster().await;
    let central = central_name();
    let mut sites = Vec::new();
    for (k, node) in NODES.iter().enumerate() {
        let db = site(&central, &format!("shop-{k}"), node).await;
        write_changes(&db, 10_000).await;
        sites.push(db);
    }
    for round in 1..=2 {
        let runs: Vec<_> = sites.iter().map(|db| db.engine()).collect();
        let handles: Vec<_> = runs
            .into_iter()
            .map(|engine| tokio::spawn(async move { engine.run().await }))
            .collect();
        let mut drained = true;
        for handle in handles {
            let report = handle.await.unwrap().unwrap();
            assert_eq!(report.failed, 0, "round {round}: {report}");
            drained &= report.outcome == Outcome::Synced && report.remaining == 0;
        }
        if drained {
            break;
        }
        assert!(round < 2, "not drained in two runs");
    }
    for db in &sites {
        // verify's sessions, from a pool, read causally like a run's (each site compares
        // through its own node).
        let causal = "SELECT CAST(@@SESSION.wsrep_sync_wait AS SIGNED)";
        assert_eq!(db.count(&db.central, causal).await, 1);
        db.assert_converged().await;
        assert_eq!(db.total_retries().await, 0, "nothing blamed");
    }
    let emails = sites[0]
        .count(
            &sites[0].central,
            "SELECT COUNT(*) FROM users WHERE email = 'user1@example.com'",
        )
        .await;
    assert_eq!(emails, 3, "the same email, once per site");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_killed_mid_run_interrupts_or_fails_over_and_blames_nobody() {
    let _cluster = cluster().await;
    let central = central_name();
    let db = site(&central, "shop-k", &format!("{},{}", NODES[1], NODES[0])).await;
    write_changes(&db, 8_000).await;
    let engine = db.engine_with(&db.config_with(&[("SYNC_BATCH_SIZE", "100")]));
    let run = tokio::spawn(async move { engine.run().await });
    let started = Instant::now();
    while db
        .count(
            &db.local,
            "SELECT COUNT(*) FROM sync_queue WHERE sync_status = 'SYNCED'",
        )
        .await
        < 2000
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the run never got going"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::task::spawn_blocking(|| galera(&["kill", "2"]))
        .await
        .unwrap();
    let report = run.await.unwrap().unwrap();
    assert!(
        matches!(report.outcome, Outcome::Interrupted | Outcome::Synced),
        "{report}"
    );
    assert_eq!(db.total_retries().await, 0, "nothing blamed: {report}");
    // Node 2 is down: the next run goes to node 1.
    let report = db.sync().await;
    assert_eq!((report.failed, report.remaining), (0, 0), "{report}");
    // The harness compares through node 2: bring it back (it catches up before it is Synced).
    tokio::task::spawn_blocking(|| galera(&["up"]))
        .await
        .unwrap();
    db.assert_converged().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_quorum_runs_touch_nothing_and_converge_once_it_is_back() {
    let _cluster = cluster().await;
    let central = central_name();
    let db = site(&central, "shop-q", NODES[0]).await;
    write_changes(&db, 1_000).await;
    tokio::task::spawn_blocking(|| {
        galera(&["kill", "2"]);
        galera(&["kill", "3"]);
    })
    .await
    .unwrap();
    let started = Instant::now();
    while !node_status(NODES[0]).unwrap_or_default().contains("OFF") {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "node 1 kept quorum"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let before = db.queue().await.len();
    let report = db.engine().run().await.unwrap();
    assert!(
        matches!(report.outcome, Outcome::Offline | Outcome::Interrupted),
        "{report}"
    );
    assert!(
        report
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("not ready"),
        "{report}"
    );
    assert_eq!(db.total_retries().await, 0, "nothing blamed");
    assert_eq!(
        db.count(
            &db.local,
            "SELECT COUNT(*) FROM sync_queue WHERE sync_status = 'PENDING'"
        )
        .await as usize,
        before
    );
    tokio::task::spawn_blocking(|| galera(&["up"]))
        .await
        .unwrap();
    let report = db.sync().await;
    assert_eq!(report.failed, 0, "{report}");
    db.assert_converged().await;
}

/// A server variable set on every node for the connections opened from now on, put back to
/// `default` when dropped.
struct NodeSetting {
    name: &'static str,
    default: u64,
}

impl NodeSetting {
    fn set(name: &'static str, value: u64, default: u64) -> NodeSetting {
        set_on_every_node(name, value);
        NodeSetting { name, default }
    }

    /// `max_allowed_packet`, whose default is 16 MiB.
    fn packet_limit(bytes: u64) -> NodeSetting {
        NodeSetting::set("max_allowed_packet", bytes, 16 << 20)
    }
}

impl Drop for NodeSetting {
    fn drop(&mut self) {
        set_on_every_node(self.name, self.default);
    }
}

fn set_on_every_node(name: &str, value: u64) {
    for node in NODES {
        let sql = format!("SET GLOBAL {name} = {value}");
        let output = node_sql(node, &sql).expect("run mariadb");
        assert!(
            output.status.success(),
            "{sql} on {node}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// A central taking smaller statements than the site's rows need (4 MiB against db_a's
/// 16 MiB; the cluster is the tests' only server whose settings a test may change): the
/// row no statement carries is rejected — sent, it would make db_b drop the connection and
/// stop every run at its batch — while every other change reaches db_b; the initial load
/// leaves that row out and copies the rest; once the limit is raised, a requeue brings it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_row_bigger_than_the_central_takes_is_refused_alone() {
    let _cluster = cluster().await;
    let central = central_name();
    let db = site_with_table(&central, "shop-p", DOCS, &[("SYNC_MAX_RETRIES", "1")]).await;
    db.insert_users(3).await;
    // 5 MB of bytes: more than a 4 MiB statement carries.
    db.exec("INSERT INTO docs VALUES (1, REPEAT('x', 5000000)), (2, 'small')")
        .await;
    db.exec("UPDATE users SET name = 'after the big row' WHERE id = 2")
        .await;
    let small = NodeSetting::packet_limit(4 << 20);

    let report = db.sync().await;
    assert_eq!((report.failed, report.remaining), (1, 0), "{report}");
    let failed = db
        .queue()
        .await
        .into_iter()
        .filter(|row| row.status != "SYNCED")
        .collect::<Vec<_>>();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(
        (failed[0].table_name.as_str(), failed[0].record_id),
        ("docs", 1)
    );
    let reason = failed[0].last_error.clone().unwrap_or_default();
    assert!(
        reason.contains("max_allowed_packet 4.00 MiB") && reason.contains("requeue"),
        "{reason}"
    );
    let central_has = |sql: &'static str| db.count(&db.central, sql);
    assert_eq!(central_has("SELECT COUNT(*) FROM docs").await, 1);
    assert_eq!(
        central_has("SELECT COUNT(*) FROM users WHERE name = 'after the big row'").await,
        1
    );

    let out = db.cli_async(&["resync"]).await;
    let said = format!("{}{}", helpers::stdout(&out), helpers::stderr(&out));
    assert!(said.contains("refused by db_b 1"), "{said}");
    assert_eq!(central_has("SELECT COUNT(*) FROM users").await, 3, "{said}");
    assert_eq!(central_has("SELECT COUNT(*) FROM docs").await, 1, "{said}");

    drop(small);
    let out = db.cli_async(&["requeue", "--all-failed"]).await;
    assert!(out.status.success(), "{}", helpers::stderr(&out));
    let out = db.cli_async(&["resync"]).await;
    assert!(out.status.success(), "{}", helpers::stderr(&out));
    let report = db.sync().await;
    assert_eq!((report.failed, report.remaining), (0, 0), "{report}");
    db.assert_converged().await;
}

/// BLOBs bigger than the central's `max_allowed_packet`, copied there when it took more: a
/// repair `resync` reads them back whole to compare (a CAST of them would come as NULL and
/// make equal rows look different), so it rewrites and refuses nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn blobs_bigger_than_the_centrals_packet_compare_equal() {
    let _cluster = cluster().await;
    let central = central_name();
    let db = site_with_table(&central, "shop-b", DOCS, &[]).await;
    db.exec("INSERT INTO docs SELECT seq, REPEAT(X'C3', 2000000 + seq) FROM seq_1_to_3")
        .await;
    let report = db.sync().await;
    assert_eq!((report.applied, report.failed), (3, 0), "{report}");
    let _small = NodeSetting::packet_limit(1 << 20);
    let out = db.cli_async(&["resync"]).await;
    let said = format!("{}{}", helpers::stdout(&out), helpers::stderr(&out));
    assert!(out.status.success(), "{said}");
    assert!(said.contains("copied 0, removed 0"), "{said}");
    db.assert_converged().await;
}

/// A central taking 1 MiB statements and records with 1000-byte keys: the ledger, its
/// lookups and the deletes of a batch are cut to db_b's limit like its rows are, so runs go
/// through instead of losing the connection at every batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn long_keys_sync_and_delete_under_a_small_packet_limit() {
    let _cluster = cluster().await;
    let central = central_name();
    let table = (
        "bk",
        "CREATE TABLE bk (k VARBINARY(1000) PRIMARY KEY, v INT)",
    );
    // A batch's keys take 4 MB as hex, its ledger as much.
    let db = site_with_table(&central, "shop-k1", table, &[("SYNC_BATCH_SIZE", "2000")]).await;
    db.exec(
        "INSERT INTO bk SELECT CONCAT(LPAD(seq, 10, '0'), REPEAT('k', 990)), seq FROM seq_1_to_2000",
    )
    .await;
    let _small = NodeSetting::packet_limit(1 << 20);
    let report = db.sync().await;
    assert_eq!((report.failed, report.remaining), (0, 0), "{report}");
    db.exec("UPDATE bk SET v = v + 1").await;
    db.exec("DELETE FROM bk WHERE v % 2 = 0").await;
    let report = db.sync().await;
    assert_eq!((report.failed, report.remaining), (0, 0), "{report}");
    db.assert_converged().await;
}

/// A load chunk whose writeset passes the cluster's limit (`wsrep_max_ws_rows`) is cut down
/// until it fits, as a drained batch is, instead of stopping every run at that chunk.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_load_chunk_over_the_writeset_limit_is_cut_down() {
    let _cluster = cluster().await;
    let central = central_name();
    let db = site(&central, "shop-w", NODES[0]).await;
    db.insert_users(5000).await;
    // Rows of a site that existed before dbsync: the load alone brings them.
    db.exec("UPDATE sync_queue SET sync_status = 'SYNCED'")
        .await;
    let _limit = NodeSetting::set("wsrep_max_ws_rows", 1000, 0);
    let out = db.cli_async(&["resync"]).await;
    let said = format!("{}{}", helpers::stdout(&out), helpers::stderr(&out));
    assert!(out.status.success(), "{said}");
    assert!(said.contains("copied 5000"), "{said}");
    db.assert_converged().await;
}

/// A central holding far more rows than the site in one chunk's range (the site restored
/// from an older backup) under a writeset limit: the load removes them in transactions the
/// limit takes, instead of stopping at that chunk.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_rows_only_the_central_has_are_removed_under_the_writeset_limit() {
    let _cluster = cluster().await;
    let central = central_name();
    let db = site(&central, "shop-x", NODES[0]).await;
    db.insert_users(20).await;
    db.exec("UPDATE sync_queue SET sync_status = 'SYNCED'")
        .await;
    db.exec_central(
        "INSERT INTO users (site_id, id, name, email, updated_at) \
         SELECT 'shop-x', seq, 'gone', CONCAT('gone', seq, '@x.io'), NOW(6) FROM seq_100_to_4099",
    )
    .await;
    // And a table the site has no row of: fewer than a chunk's removals, more than the limit.
    db.exec_central(
        "INSERT INTO orders (site_id, id, user_id, amount, status, updated_at) \
         SELECT 'shop-x', seq, seq, 1.00, 'pending', NOW(6) FROM seq_100_to_1599",
    )
    .await;
    let _limit = NodeSetting::set("wsrep_max_ws_rows", 1000, 0);
    let out = db.cli_async(&["resync"]).await;
    let said = format!("{}{}", helpers::stdout(&out), helpers::stderr(&out));
    assert!(out.status.success(), "{said}");
    assert!(said.contains("removed 5500"), "{said}");
    db.assert_converged().await;
}

/// A change too big for db_b whose record the initial load has since copied as it is now
/// (its ledger position is past the change) is superseded, not rejected: no retries, no
/// FAILED, and the record's later change is not held behind it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_too_big_change_the_load_has_overtaken_is_done_not_rejected() {
    let _cluster = cluster().await;
    let central = central_name();
    let db = site_with_table(&central, "shop-o", DOCS, &[]).await;
    // 4.5 MB of bytes, more than a 4 MiB statement carries; then the row shrinks.
    db.exec("INSERT INTO docs VALUES (1, REPEAT('x', 4500000))")
        .await;
    db.exec("UPDATE docs SET body = 'small now' WHERE id = 1")
        .await;
    let _small = NodeSetting::packet_limit(4 << 20);
    let out = db.cli_async(&["resync"]).await;
    let said = format!("{}{}", helpers::stdout(&out), helpers::stderr(&out));
    assert!(out.status.success(), "{said}");
    assert!(said.contains("failed 0"), "{said}");
    assert!(db.queue().await.iter().all(|row| row.status == "SYNCED"));
    assert_eq!(db.total_retries().await, 0, "nothing blamed");
    db.assert_converged().await;
}
