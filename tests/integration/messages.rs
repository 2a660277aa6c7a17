//! What an operator sees: every message says what went wrong and what to do next, with an
//! exit code a script can rely on.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Output;
use std::time::{Duration, Instant};

use crate::helpers::{TestDb, cli_command, run_cli, server_env, stderr, stdout};

fn env_without_config() -> HashMap<String, String> {
    HashMap::new()
}

fn full_env() -> HashMap<String, String> {
    let mut env: HashMap<String, String> = server_env()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    env.insert("DB_OFFLINE_DB".into(), "dbsync_msg_a".into());
    env.insert("DB_CENTRAL_DB".into(), "dbsync_msg_b".into());
    env.insert("IS_ONLINE".into(), "true".into());
    env
}

/// A run's own directory, removed once the test is done with it.
struct RunDir(PathBuf);

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `dbsync args` in a fresh directory holding `dot_env` as `.env` (none when `None`).
fn run_in_dir(
    env: &HashMap<String, String>,
    dot_env: Option<&str>,
    args: &[&str],
) -> (Output, RunDir) {
    let dir = std::env::temp_dir().join(format!("dbsync-msg-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    if let Some(content) = dot_env {
        std::fs::write(dir.join(".env"), content).unwrap();
    }
    let output = cli_command(env, args, &dir).output().unwrap();
    (output, RunDir(dir))
}

#[test]
fn configuration_messages_say_where_and_what_is_accepted() {
    let (out, dir) = run_in_dir(&env_without_config(), None, &["status"]);
    assert_eq!(out.status.code(), Some(2));
    let text = stderr(&out);
    assert!(
        text.contains("DB_HOST is not set")
            && text.contains("there is no .env in")
            && text.contains(&dir.0.display().to_string()),
        "{text}"
    );
    assert!(text.contains("copy .env.example"), "{text}");

    let dot_env =
        "DB_HOST=127.0.0.1\nDB_USER=root\nDB_OFFLINE_DB=a\nDB_CENTRAL_DB=b\nIS_ONLNE=true\n";
    let (out, _) = run_in_dir(&env_without_config(), Some(dot_env), &["status"]);
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("IS_ONLNE in .env is not a dbsync setting; did you mean IS_ONLINE?"),
        "{text}"
    );
    assert!(text.contains("IS_ONLINE is not set"), "{text}");

    let dot_env = "# settings\nDB_HOST=127.0.0.1\n\nDB_USER=root\ngarbage line without equals\n";
    let (out, _) = run_in_dir(&env_without_config(), Some(dot_env), &["status"]);
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("line 5 does not parse"), "{text}");

    for (name, value, words) in [
        (
            "SYNC_CRON",
            "*/2 * * * *",
            "add the seconds first, e.g. \"0 */2 * * * *\"",
        ),
        ("LOG_FORMAT", "jsn", "pretty or json"),
        (
            "RUST_LOG",
            "verbose",
            "a level (error, warn, info, debug, trace, off)",
        ),
        ("IS_ONLINE", "yes", "true or false"),
        ("SYNC_RETENTION", "forever", "0 (keep SYNCED rows forever)"),
    ] {
        let mut env = full_env();
        env.insert(name.into(), value.into());
        let out = run_cli(&env, &["status"]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        assert!(
            stderr(&out).contains(name) && stderr(&out).contains(words),
            "{name}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn connection_messages_name_the_cause_and_the_next_step() {
    let mut env = full_env();
    env.insert("DB_PORT".into(), "1".into());
    let started = Instant::now();
    let out = run_cli(&env, &["status"]);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "a refused port is reported at once"
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("connection refused") && stderr(&out).contains("DB_HOST/DB_PORT"),
        "{}",
        stderr(&out)
    );

    let mut env = full_env();
    env.insert("DB_HOST".into(), "no-such-host.invalid".into());
    let out = run_cli(&env, &["status"]);
    assert!(
        stderr(&out).contains("unknown host") && stderr(&out).contains("DB_HOST"),
        "{}",
        stderr(&out)
    );

    let mut env = full_env();
    env.insert("DB_USER".into(), "nobody_here".into());
    env.insert("DB_PASSWORD".into(), "wrong".into());
    let out = run_cli(&env, &["status"]);
    assert!(
        stderr(&out).contains("access denied") && stderr(&out).contains("DB_USER/DB_PASSWORD"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("wrong"), "the password never shows");

    let mut env = full_env();
    env.insert("DB_OFFLINE_DB".into(), "does_not_exist_anywhere".into());
    let out = run_cli(&env, &["status"]);
    assert!(
        stderr(&out).contains("does not exist") && stderr(&out).contains("run `dbsync init`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn usage_messages_list_every_choice() {
    let out = run_cli(&full_env(), &["requeue"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--id") && stderr(&out).contains("--all-failed"),
        "{}",
        stderr(&out)
    );
    let out = run_cli(&full_env(), &["retry"]);
    assert!(
        stderr(&out).contains("--all") && stderr(&out).contains("--table"),
        "{}",
        stderr(&out)
    );
    let out = run_cli(&full_env(), &["resync", "--help"]);
    assert!(
        stdout(&out).contains("delete rows only db_b has"),
        "{}",
        stdout(&out)
    );
}

/// A change backing off after a rejection can be made due now, and its age is its age.
#[tokio::test]
async fn a_waiting_change_can_be_retried_now() {
    let db = TestDb::new(&[("SYNC_RETRY_BACKOFF", "1h")]).await;
    db.plant_central_clash().await;
    db.exec("INSERT INTO users (id, name, email) VALUES (1, 'P', 'dup@x.io')")
        .await;
    db.exec("UPDATE sync_queue SET created_at = CURRENT_TIMESTAMP(6) - INTERVAL 70 SECOND")
        .await;
    db.sync().await;
    let out = db.cli(&["status"]);
    let text = stdout(&out);
    assert!(
        text.contains("waiting to be retried: 1") && text.contains("dbsync retry --all"),
        "{text}"
    );
    let age: i64 = text
        .split("oldest pending change: ")
        .nth(1)
        .and_then(|t| t.split('s').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_default();
    assert!(
        age >= 70,
        "the age counts from the capture, not the last retry: {text}"
    );
    let out = db.cli(&["retry", "--table", "user"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stderr(&out).contains(
            "retry --table: \"user\" is not a synced table (SYNC_TABLES is users,orders)"
        ),
        "{}",
        stderr(&out)
    );
    db.remove_central_clash().await;
    let out = db.cli(&["retry", "--all"]);
    assert!(
        out.status.success() && stdout(&out).contains("requeued 1 change(s)"),
        "{}",
        stdout(&out)
    );
    let report = db.sync().await;
    assert_eq!((report.applied, report.failed), (1, 0), "{report}");
    db.assert_converged().await;
    let text = stdout(&db.cli(&["status"]));
    assert!(text.contains("oldest pending change: none"), "{text}");
}

#[tokio::test]
async fn verify_says_when_differences_are_changes_not_synced_yet() {
    let db = TestDb::new(&[]).await;
    db.insert_users(3).await;
    let out = db.cli(&["verify"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("3 of them have changes not synced yet")
            && text.contains("run `dbsync sync`"),
        "{text}"
    );
}

#[tokio::test]
async fn the_service_says_where_it_is_when_it_syncs_and_logs_no_error_for_a_closed_connection() {
    let db = TestDb::new(&[]).await;
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut env = db.env.clone();
    env.insert("PORT".into(), port.to_string());
    env.insert("RUST_LOG".into(), "info".into());
    // The 31st of February: a schedule that never fires deserves a word.
    env.insert("SYNC_CRON".into(), "0 0 0 31 2 *".into());
    let child = cli_command(&env, &["serve"], &std::env::temp_dir())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let stream = loop {
        if let Ok(stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            break stream;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "serve did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    // Half a request, then the client goes away.
    use std::io::Write;
    let mut stream = stream;
    stream
        .write_all(b"GET /users HTTP/1.1\r\nHost: x\r\nContent-Le")
        .unwrap();
    drop(stream);
    std::thread::sleep(Duration::from_millis(300));
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let output = child.wait_with_output().unwrap();
    let log = stderr(&output);
    assert!(!log.contains("ERROR"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "no colour codes in a log that is not a terminal"
    );
    let first = log.lines().next().unwrap_or_default();
    let url = format!("http://127.0.0.1:{port}/");
    for words in [
        url.as_str(),
        "schedule=",
        "online=true",
        "db_a=",
        "db_b=",
        "status page",
    ] {
        assert!(first.contains(words), "{words} in the first line: {first}");
    }
    assert!(!log.contains("password"), "{log}");
    assert!(
        log.contains("WARN") && log.contains("SYNC_CRON never fires"),
        "{log}"
    );
}
