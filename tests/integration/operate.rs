//! Operating dbsync: metrics, the bearer token, the status page in a real browser, and a
//! clean stop on SIGTERM in the middle of a run.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{TestApp, TestDb, cli_command, error_code, stderr, stdout};

/// The value of one sample line of a Prometheus text page, e.g.
/// `dbsync_queue_depth{status="PENDING"}`.
fn metric(page: &str, series: &str) -> Option<f64> {
    page.lines()
        .find(|line| line.starts_with(series) && line[series.len()..].starts_with(' '))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_move_as_changes_sync() {
    let db = TestDb::new(&[]).await;
    let app = TestApp::spawn(&db).await;
    for i in 0..3 {
        let (status, _) = app
            .post(
                "/users",
                json!({"name": format!("M{i}"), "email": format!("m{i}@x.io")}),
            )
            .await;
        assert_eq!(status, 201);
    }
    let scrape = || async {
        app.client
            .get(app.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let page = scrape().await;
    assert_eq!(
        metric(&page, r#"dbsync_queue_depth{status="PENDING"}"#),
        Some(3.0),
        "{page}"
    );
    assert_eq!(
        metric(&page, r#"dbsync_queue_depth{status="SYNCED"}"#),
        Some(0.0)
    );
    assert!(metric(&page, "dbsync_oldest_pending_age_seconds").is_some());
    assert_eq!(
        metric(
            &page,
            r#"dbsync_http_requests_total{method="POST",route="/users",status="201"}"#
        ),
        Some(3.0),
        "{page}"
    );

    assert_eq!(app.post("/sync/run", json!({})).await.0, 202);
    let mut page = String::new();
    for _ in 0..100 {
        page = scrape().await;
        if metric(&page, r#"dbsync_sync_runs_total{outcome="synced"}"#) == Some(1.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        metric(&page, r#"dbsync_sync_runs_total{outcome="synced"}"#),
        Some(1.0),
        "{page}"
    );
    assert_eq!(
        metric(&page, r#"dbsync_queue_depth{status="PENDING"}"#),
        Some(0.0)
    );
    assert_eq!(
        metric(&page, r#"dbsync_queue_depth{status="SYNCED"}"#),
        Some(3.0)
    );
    assert_eq!(
        metric(
            &page,
            r#"dbsync_changes_applied_total{operation="INSERT",table="users"}"#
        ),
        Some(3.0)
    );
    assert_eq!(
        metric(
            &page,
            r#"dbsync_sync_run_duration_seconds_count{outcome="synced"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        metric(&page, "dbsync_oldest_pending_age_seconds"),
        Some(0.0)
    );
    app.stop().await;
}

#[tokio::test]
async fn a_second_run_request_while_one_runs_is_refused() {
    let db = TestDb::new(&[("SYNC_BATCH_SIZE", "10")]).await;
    db.insert_users(3000).await;
    let app = TestApp::spawn(&db).await;
    assert_eq!(app.post("/sync/run", json!({})).await.0, 202);
    let (status, body) = app.post("/sync/run", json!({})).await;
    assert_eq!((status, error_code(&body)), (409, "sync_running"));
    for _ in 0..200 {
        if app.get("/sync/status").await.1["running"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    db.assert_converged().await;
    app.stop().await;
}

/// A run of another process (`dbsync sync` beside `serve`, here its lock held by hand):
/// the API's status says a run is going, and a run request is refused with 409. Before,
/// status said none was, and the request was accepted (202) for a run that then only
/// found the lock taken.
#[tokio::test]
async fn a_run_of_another_process_shows_in_status_and_refuses_a_run_request() {
    let db = TestDb::new(&[]).await;
    let app = TestApp::spawn(&db).await;
    assert_eq!(app.get("/sync/status").await.1["running"], false);
    let mut other = db.local.acquire().await.expect("db_a connection");
    assert!(dbsync::db::runs::try_lock(&mut other).await.expect("lock"));
    assert_eq!(app.get("/sync/status").await.1["running"], true);
    let (status, body) = app.post("/sync/run", json!({})).await;
    assert_eq!((status, error_code(&body)), (409, "sync_running"));
    dbsync::db::runs::unlock(&mut other).await.expect("unlock");
    assert_eq!(app.get("/sync/status").await.1["running"], false);
    assert_eq!(app.post("/sync/run", json!({})).await.0, 202);
    app.stop().await;
}

#[tokio::test]
async fn api_token_guards_everything_but_health_metrics_and_the_page() {
    let db = TestDb::new(&[("API_TOKEN", "s3cret-token")]).await;
    let app = TestApp::spawn(&db).await;
    let send = |path: &str, token: Option<&str>| {
        let mut request = app.client.get(app.url(path));
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        request.send()
    };
    for path in [
        "/users",
        "/orders/1",
        "/sync/status",
        "/openapi.json",
        "/nowhere",
    ] {
        for token in [None, Some("wrong"), Some("s3cret-token-and-more")] {
            let response = send(path, token).await.unwrap();
            assert_eq!(response.status().as_u16(), 401, "{path} {token:?}");
            assert_eq!(response.headers()["www-authenticate"], "Bearer");
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(error_code(&body), "unauthorized");
        }
    }
    let lowercase = app
        .client
        .get(app.url("/users"))
        .header("authorization", "bearer s3cret-token")
        .send()
        .await
        .unwrap();
    assert_eq!(
        lowercase.status().as_u16(),
        200,
        "the scheme is case-insensitive"
    );
    assert_eq!(
        send("/users", Some("s3cret-token"))
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    let posted = app
        .client
        .post(app.url("/users"))
        .json(&json!({"name": "T", "email": "t@x.io"}))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status().as_u16(), 401);
    assert!(
        db.queue().await.is_empty(),
        "an unauthorized write changed nothing"
    );
    for path in ["/health", "/metrics", "/"] {
        assert_eq!(
            send(path, None).await.unwrap().status().as_u16(),
            200,
            "{path}"
        );
    }
    app.stop().await;
}

/// /health says why db_a fails it; /metrics keeps serving, its queue gauges marked as not
/// read (`dbsync_queue_read_ok 0`) rather than silently stale, and read again once db_a
/// answers.
#[tokio::test]
async fn health_is_503_when_db_a_does_not_answer() {
    let db = TestDb::new(&[]).await;
    let app = TestApp::spawn(&db).await;
    assert_eq!(app.get("/health").await.0, 200);
    let scrape = async || {
        let page = app.client.get(app.url("/metrics")).send().await.unwrap();
        page.text().await.unwrap()
    };
    assert_eq!(metric(&scrape().await, "dbsync_queue_read_ok"), Some(1.0));
    db.exec("RENAME TABLE sync_queue TO sync_queue_away").await;
    let (status, body) = app.get("/health").await;
    assert_eq!((status, error_code(&body)), (503, "unavailable"));
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("sync_queue"), "{message}");
    assert_eq!(metric(&scrape().await, "dbsync_queue_read_ok"), Some(0.0));
    db.exec("RENAME TABLE sync_queue_away TO sync_queue").await;
    assert_eq!(metric(&scrape().await, "dbsync_queue_read_ok"), Some(1.0));
    db.exec(&format!("DROP DATABASE {}", db.config.local.database))
        .await;
    let (status, body) = app.get("/health").await;
    assert_eq!((status, error_code(&body)), (503, "unavailable"));
    app.stop().await;
}

#[tokio::test]
async fn status_page_is_one_self_contained_document() {
    let db = TestDb::new(&[]).await;
    let app = TestApp::spawn(&db).await;
    let response = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    let html = response.text().await.unwrap();
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "no outside assets"
    );
    assert!(!html.contains("innerHTML"), "values are set as text only");
    let (status, history) = app.get("/sync/history").await;
    assert_eq!(status, 200);
    assert!(
        !history["samples"].as_array().unwrap().is_empty(),
        "sampled at start"
    );
    app.stop().await;
}

fn artifacts_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&dir).expect("artifact dir");
    dir
}

/// The status page in headless Chromium: counts equal the API's, "Sync now" drains the
/// queue, a waiting change (backing off after a clash with db_b) is made due with "Retry
/// now", a FAILED change is requeued with one click, a hostile value stays text; the chart
/// has time and count axes, times are local with their zone, and the page fits a phone.
/// Screenshots go to target/test-artifacts/.
#[tokio::test]
async fn status_page_in_a_real_browser() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let playwright = root.join("target/browser/node_modules/playwright-core");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        playwright.exists() && PathBuf::from(&chromium).exists(),
        "the browser test needs Chromium and playwright-core: run scripts/browser-setup.sh (scripts/test.sh does)"
    );

    // A rejected change waits an hour before its next try, with retries left.
    let db = TestDb::new(&[("SYNC_MAX_RETRIES", "3"), ("SYNC_RETRY_BACKOFF", "1h")]).await;
    db.plant_central_clash().await;
    db.exec_central(
        "INSERT INTO users (id, name, email, updated_at) VALUES (998, 'central only', 'taken@x.io', NOW(6))",
    )
    .await;
    db.exec(
        "INSERT INTO users (id, name, email) VALUES (1, 'Ana', 'ana@x.io'), (2, 'Clash', 'dup@x.io'), \
         (4, 'Taken', 'taken@x.io')",
    )
    .await;
    db.exec(
        "INSERT INTO sync_queue (table_name, record_id, operation, payload) \
         VALUES ('<script>alert(1)</script>', 1, 'DELETE', NULL)",
    )
    .await;
    // Users 2 and 4 clash with db_b and wait; the hostile row is parked FAILED at once.
    db.sync().await;
    let change_of = |queue: &[crate::helpers::QueueRow], record_id: i64| {
        queue
            .iter()
            .find(|r| r.table_name == "users" && r.record_id == record_id)
            .cloned()
            .expect("change")
    };
    let queue = db.queue().await;
    let waiting = change_of(&queue, 2);
    let failed = change_of(&queue, 4);
    for change in [&waiting, &failed] {
        assert_eq!(
            (change.status.as_str(), change.retry_count),
            ("PENDING", 1),
            "{change:?}"
        );
    }
    let clash = waiting.last_error.as_deref().unwrap_or_default();
    assert!(
        clash.contains("dup@x.io") && clash.contains("id=999"),
        "{clash}"
    );
    // User 4's change has used up its tries.
    db.exec(&format!(
        "UPDATE sync_queue SET sync_status = 'FAILED', retry_count = 3, next_attempt_at = NULL \
         WHERE id = {}",
        failed.id
    ))
    .await;
    // A change that is due: "Sync now" sends it.
    db.exec("INSERT INTO users (id, name, email) VALUES (3, 'Later', 'later@x.io')")
        .await;

    let app = TestApp::spawn(&db).await;
    let output = tokio::task::spawn_blocking({
        let url = app.url("");
        let artifacts = artifacts_dir();
        let ids = [failed.id.to_string(), waiting.id.to_string()];
        move || {
            Command::new("node")
                .arg(root.join("tests/browser/status_page.cjs"))
                .args([url, artifacts.display().to_string()])
                .args(ids)
                .env("PLAYWRIGHT_CORE", playwright)
                .env("CHROMIUM", chromium)
                .output()
                .expect("node runs (install Node.js)")
        }
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "{}\n{}",
        stdout(&output),
        stderr(&output)
    );
    for shot in [
        "status-page.png",
        "status-page-phone.png",
        "status-page-after.png",
    ] {
        assert!(artifacts_dir().join(shot).exists(), "{shot}");
    }
    let queue = db.queue().await;
    let requeued = queue.iter().find(|r| r.id == failed.id).unwrap();
    assert_eq!(
        (requeued.status.as_str(), requeued.retry_count),
        ("PENDING", 0),
        "requeued from the page"
    );
    let retried = queue.iter().find(|r| r.id == waiting.id).unwrap();
    assert_eq!(retried.status, "PENDING", "retried from the page");
    let due: i64 = db
        .count(
            &db.local,
            &format!(
                "SELECT COUNT(*) FROM sync_queue WHERE id = {} AND next_attempt_at IS NULL",
                waiting.id
            ),
        )
        .await;
    assert_eq!(due, 1, "made due now from the page");
    app.stop().await;
}

/// `serve` given `signal` mid-run: the run stops after its batch, ends `interrupted`, the
/// process exits 0, and the next run converges.
async fn stops_cleanly_mid_run(signal: libc::c_int) {
    let db = TestDb::new(&[("SYNC_BATCH_SIZE", "20"), ("SYNC_CRON", "* * * * * *")]).await;
    db.insert_users(6000).await;
    let mut child = cli_command(&db.env, &["serve"], &std::env::temp_dir())
        .spawn()
        .expect("serve");
    let started = Instant::now();
    while db
        .count(
            &db.local,
            "SELECT COUNT(*) FROM sync_queue WHERE sync_status = 'SYNCED'",
        )
        .await
        == 0
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no run started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = signal_and_wait(&mut child, signal, Duration::from_secs(10)).await;
    assert!(status.success(), "exit status {status:?}");
    let remaining = db
        .count(
            &db.local,
            "SELECT COUNT(*) FROM sync_queue WHERE sync_status = 'PENDING'",
        )
        .await;
    assert!(remaining > 0, "the signal came mid-run");
    assert_eq!(db.last_run_outcome().await, "interrupted");

    let out = db.cli(&["sync"]);
    assert!(stdout(&out).contains("synced"), "{}", stdout(&out));
    db.assert_converged().await;
}

#[tokio::test]
async fn sigterm_mid_run_stops_cleanly_and_the_next_run_converges() {
    stops_cleanly_mid_run(libc::SIGTERM).await;
}

/// A closed terminal's SIGHUP is a stop like SIGTERM; before, its default action ended
/// `serve` at once, its run left `running` mid-batch.
#[tokio::test]
async fn sighup_mid_run_stops_as_cleanly_as_sigterm() {
    stops_cleanly_mid_run(libc::SIGHUP).await;
}

/// `serve` started under `nohup` keeps ignoring SIGHUP (as such a process is asked to); a
/// SIGTERM still stops it.
#[tokio::test]
async fn serve_under_nohup_ignores_a_hangup() {
    let db = TestDb::new(&[("PORT", "0")]).await;
    let serve = cli_command(&db.env, &["serve"], &std::env::temp_dir());
    let mut nohup = Command::new("nohup");
    nohup
        .arg(serve.get_program())
        .args(serve.get_args())
        .current_dir(std::env::temp_dir())
        .env_clear()
        .envs(serve.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = nohup.spawn().expect("nohup dbsync serve");
    tokio::time::sleep(Duration::from_secs(2)).await;
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGHUP);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        child.try_wait().expect("child status").is_none(),
        "stopped by SIGHUP"
    );
    let status = signal_and_wait(&mut child, libc::SIGTERM, Duration::from_secs(10)).await;
    assert!(status.success(), "exit status {status:?}");
}

/// SIGTERM while db_b has gone silent mid-run (its network drops every packet): `serve`
/// still exits within the stop's grace, not when db_b answers again.
#[tokio::test]
async fn sigterm_while_db_b_is_silent_still_stops_serve_within_the_grace() {
    let db = TestDb::new(&[("SYNC_BATCH_SIZE", "20"), ("SYNC_CRON", "* * * * * *")]).await;
    db.insert_users(6000).await;
    let proxy = db.central_proxy().await;
    let env = db.env_through(&proxy);
    let mut child = cli_command(&env, &["serve"], &std::env::temp_dir())
        .spawn()
        .expect("serve");
    let started = Instant::now();
    let synced = "SELECT COUNT(*) FROM sync_queue WHERE sync_status = 'SYNCED'";
    while db.count(&db.local, synced).await == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no run started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    proxy.freeze();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let limit = dbsync::services::watchdog::STOP_GRACE + Duration::from_secs(5);
    let status = signal_and_wait(&mut child, libc::SIGTERM, limit).await;
    assert!(status.success(), "exit status {status:?}");
    assert_eq!(db.last_run_outcome().await, "interrupted");
    proxy.thaw();
    // Async: the proxy runs on this test's thread.
    let out = db.cli_async(&["sync"]).await;
    assert!(stdout(&out).contains("synced"), "{}", stdout(&out));
    db.assert_converged().await;
}

/// `verify` waiting on a silent db_b stops at SIGINT, even started as a shell's background
/// job (which inherits SIGINT ignored), with code 4 — not when its connect times out.
#[tokio::test]
async fn sigint_stops_verify_at_once_even_with_sigint_ignored_by_its_parent() {
    use std::os::unix::process::CommandExt;

    let db = TestDb::new(&[]).await;
    let proxy = db.central_proxy().await;
    proxy.freeze();
    let env = db.env_through(&proxy);
    let mut command = cli_command(&env, &["verify"], &std::env::temp_dir());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_IGN);
            Ok(())
        });
    }
    let mut child = command
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("verify");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(child.try_wait().unwrap().is_none(), "verify waits on db_b");
    let status = signal_and_wait(&mut child, libc::SIGINT, Duration::from_secs(2)).await;
    assert_eq!(status.code(), Some(4), "{status:?}");
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.contains("stopped by a signal"), "{err}");
}

/// SIGINT to `resync` or `sync` while db_b does not answer their connect: they stop at
/// once with code 4 and say so, not when the connect times out (5 s) as `offline`.
#[tokio::test]
async fn sigint_while_connecting_to_a_silent_db_b_stops_resync_and_sync_at_once() {
    let db = TestDb::new(&[]).await;
    db.insert_users(10).await;
    let proxy = db.central_proxy().await;
    proxy.freeze();
    let env = db.env_through(&proxy);
    for (command, says) in [
        (
            "resync",
            "stopped by a signal before db_b answered; nothing was set up",
        ),
        ("sync", "interrupted"),
    ] {
        let mut child = cli_command(&env, &[command], &std::env::temp_dir())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect(command);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(
            child.try_wait().unwrap().is_none(),
            "{command} waits on db_b"
        );
        let status = signal_and_wait(&mut child, libc::SIGINT, Duration::from_secs(2)).await;
        let mut said = String::new();
        std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut said).unwrap();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut said).unwrap();
        assert_eq!(status.code(), Some(4), "{command}: {said}");
        assert!(said.contains(says), "{command}: {said}");
    }
    // Nothing was set up by the stopped resync, nothing blamed by the stopped run.
    assert_eq!(
        db.count(&db.local, "SELECT COUNT(*) FROM sync_load").await,
        0
    );
    assert_eq!(db.total_retries().await, 0);
    assert_eq!(db.last_run_outcome().await, "interrupted");
}

/// `init` against a db_b that takes the TCP connection and then says nothing (frozen, or
/// behind a network dropping packets) fails within seconds, naming db_b — it waited for ever.
#[tokio::test]
async fn init_gives_up_on_a_silent_db_b_within_seconds() {
    let db = TestDb::new(&[]).await;
    let proxy = db.central_proxy().await;
    proxy.freeze();
    let env = db.env_through(&proxy);
    let started = Instant::now();
    let out = db.cli_async_with(&env, &["init"]).await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    failed_saying(&out, &["central (db_b)", "no answer in time"]);
}

/// The command exited with code 1, its error naming every one of `says`.
fn failed_saying(out: &std::process::Output, says: &[&str]) {
    let said = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{}{said}", stdout(out));
    assert!(says.iter().all(|s| said.contains(s)), "{said}");
}

/// `resync` whose db_b goes silent after the connect, while the set-up checks db_b's
/// tables: it gives up after `SYNC_STALL_TIMEOUT`, nothing set up — it waited for ever.
#[tokio::test]
async fn resync_gives_up_on_a_db_b_gone_silent_during_its_set_up() {
    let db = TestDb::new(&[]).await;
    let proxy = db.central_proxy().await;
    proxy.freeze_on("information_schema");
    let mut env = db.env_through(&proxy);
    env.insert("SYNC_STALL_TIMEOUT".into(), "15s".into());
    let started = Instant::now();
    let out = db.cli_async_with(&env, &["resync"]).await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(30), "{took:?}");
    failed_saying(&out, &["central database (db_b)", "no answer in time"]);
    assert_eq!(
        db.count(&db.local, "SELECT COUNT(*) FROM sync_load").await,
        0
    );
}

/// `verify` whose db_b goes silent mid-compare gives up after `SYNC_STALL_TIMEOUT`, with a
/// message saying so and code 1 — not hours later, when the OS drops the connection.
#[tokio::test]
async fn verify_gives_up_on_a_db_b_gone_silent_after_the_stall_timeout() {
    let db = TestDb::new(&[]).await;
    db.insert_users(30_000).await;
    db.sync().await;
    let proxy = db.central_proxy().await;
    // Past the connect and the checks, within the pages of `users` (about 1 MB).
    proxy.freeze_after(400_000);
    let mut env = db.env_through(&proxy);
    env.insert("SYNC_STALL_TIMEOUT".into(), "15s".into());
    let started = Instant::now();
    let out = db.cli_async_with(&env, &["verify"]).await;
    let took = started.elapsed();
    failed_saying(
        &out,
        &["verify: db_b did not answer for 15 s (SYNC_STALL_TIMEOUT)"],
    );
    assert!(
        took >= Duration::from_secs(15) && took < Duration::from_secs(30),
        "gave up after {took:?}"
    );
}

/// `verify` waiting on db_a (a session holds `users` locked past `SYNC_STALL_TIMEOUT`) is
/// not db_b's silence: it waits, then compares. Before, it gave up saying db_b did not
/// answer.
#[tokio::test]
async fn verify_waiting_on_db_a_does_not_blame_db_b() {
    let db = TestDb::new(&[]).await;
    db.insert_users(100).await;
    db.sync().await;
    let mut holder = db.local.acquire().await.expect("db_a connection");
    sqlx::raw_sql("LOCK TABLES users WRITE")
        .execute(&mut *holder)
        .await
        .expect("lock users");
    let mut env = db.env.clone();
    env.insert("SYNC_STALL_TIMEOUT".into(), "15s".into());
    let verify = {
        let env = env.clone();
        tokio::task::spawn_blocking(move || crate::helpers::run_cli(&env, &["verify"]))
    };
    tokio::time::sleep(Duration::from_secs(18)).await;
    sqlx::raw_sql("UNLOCK TABLES")
        .execute(&mut *holder)
        .await
        .expect("unlock");
    let out = verify.await.expect("verify ran");
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("users: equal"), "{}", stdout(&out));
}

#[tokio::test]
async fn json_logs_are_one_object_per_line_with_the_run_summary() {
    let db = TestDb::new(&[]).await;
    db.insert_users(3).await;
    let mut env = db.env.clone();
    env.insert("LOG_FORMAT".into(), "json".into());
    env.insert("RUST_LOG".into(), "info".into());
    let out = crate::helpers::run_cli(&env, &["sync"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stderr(&out)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let summary = lines
        .iter()
        .find(|l| l["fields"]["message"] == "sync run finished")
        .expect("a run summary line");
    assert_eq!(summary["fields"]["outcome"], "synced");
    assert_eq!(summary["fields"]["applied"], 3);
    assert!(summary["fields"]["run_id"].is_number());
}

/// Sends `signal` to `child` and waits for it to exit; kills it and fails the test when it
/// is still running `limit` after the signal.
async fn signal_and_wait(
    child: &mut std::process::Child,
    signal: libc::c_int,
    limit: Duration,
) -> std::process::ExitStatus {
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(child.id() as libc::pid_t, signal);
    }
    let signalled = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("child status") {
            return status;
        }
        if signalled.elapsed() > limit {
            let _ = child.kill();
            panic!("still running {limit:?} after signal {signal}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
