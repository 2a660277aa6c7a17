//! The REST API on db_a: every endpoint's happy path, every input rule with a bad value, and
//! for each write the right row and exactly one queue entry captured by the triggers.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestDb, error_code, into_json};

async fn queue_ops(db: &TestDb) -> Vec<(String, i64, String)> {
    db.queue()
        .await
        .into_iter()
        .map(|r| (r.table_name, r.record_id, r.operation))
        .collect()
}

#[tokio::test]
async fn users_crud_and_each_write_queued_once() {
    let db = TestDb::new(&[]).await;
    let app = TestApp::spawn(&db).await;

    let (status, created) = app
        .post(
            "/users",
            json!({"name": "  Zoë 🙂 ", "email": "zoe@example.com"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["name"], "Zoë 🙂", "trimmed, utf8mb4 kept");
    assert_eq!(created["email"], "zoe@example.com");
    assert!(created["updated_at"].is_string());
    assert_eq!(
        queue_ops(&db).await,
        vec![("users".into(), id, "INSERT".into())]
    );

    let (status, fetched) = app.get(&format!("/users/{id}")).await;
    assert_eq!((status, &fetched), (200, &created));

    let (status, updated) = app
        .put(&format!("/users/{id}"), json!({"name": "Zoé"}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (updated["name"].as_str(), updated["email"].as_str()),
        (Some("Zoé"), Some("zoe@example.com"))
    );
    let stored: String = sqlx::query_scalar("SELECT name FROM users WHERE id = ?")
        .bind(id)
        .fetch_one(&db.local)
        .await
        .unwrap();
    assert_eq!(stored, "Zoé");
    assert_eq!(queue_ops(&db).await.len(), 2);
    assert_eq!(
        queue_ops(&db).await[1],
        ("users".into(), id, "UPDATE".into())
    );

    let (status, body) = app.delete(&format!("/users/{id}")).await;
    assert_eq!((status, body), (200, json!({"deleted": id})));
    assert_eq!(
        queue_ops(&db).await[2],
        ("users".into(), id, "DELETE".into())
    );
    let (status, body) = app.get(&format!("/users/{id}")).await;
    assert_eq!((status, error_code(&body)), (404, "not_found"));
    app.stop().await;
}

#[tokio::test]
async fn user_listing_pages_by_id() {
    let db = TestDb::new(&[]).await;
    db.exec("INSERT INTO users (id, name, email) VALUES (1, 'a', 'a@x.io'), (2, 'b', 'b@x.io'), (3, 'c', 'c@x.io')").await;
    let app = TestApp::spawn(&db).await;
    let (status, page) = app.get("/users?limit=2").await;
    assert_eq!(status, 200);
    let ids: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_i64().unwrap())
        .collect();
    assert_eq!((ids, page["next_after_id"].as_i64()), (vec![1, 2], Some(2)));
    let (_, page) = app.get("/users?limit=2&after_id=2").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert!(page["next_after_id"].is_null());
    for bad in [
        "/users?limit=0",
        "/users?limit=501",
        "/users?limit=x",
        "/users?color=red",
    ] {
        let (status, body) = app.get(bad).await;
        assert_eq!((status, error_code(&body)), (400, "bad_request"), "{bad}");
    }
    app.stop().await;
}

#[tokio::test]
async fn user_input_rules() {
    let db = TestDb::new(&[]).await;
    let app = TestApp::spawn(&db).await;
    let (_, first) = app
        .post("/users", json!({"name": "First", "email": "first@x.io"}))
        .await;
    let id = first["id"].as_i64().unwrap();
    let queued = db.queue().await.len();

    let long_name = "é".repeat(101);
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"name": "", "email": "a@x.io"}), 422, "name"),
        (json!({"name": "   ", "email": "a@x.io"}), 422, "name"),
        (json!({"name": long_name, "email": "a@x.io"}), 422, "name"),
        (json!({"name": "A", "email": "not-an-email"}), 422, "email"),
        (
            json!({"name": "A", "email": format!("{}@x.io", "a".repeat(100))}),
            422,
            "email",
        ),
        (json!({"name": "A", "email": "FIRST@x.io"}), 409, ""),
        (json!({"name": "A"}), 400, ""),
        (json!({"name": 5, "email": "a@x.io"}), 400, ""),
        (
            json!({"name": "A", "email": "a@x.io", "admin": true}),
            400,
            "",
        ),
        // The fields by position: serde takes them, past every field name check.
        (json!(["A", "arr@x.io"]), 400, ""),
    ];
    for (body, expected, field) in cases {
        let (status, answer) = app.post("/users", body.clone()).await;
        assert_eq!(status, expected, "{body} → {answer}");
        error_code(&answer);
        if !field.is_empty() {
            assert_eq!(answer["error"]["field"], field, "{body}");
        }
        if expected == 409 {
            assert_eq!(error_code(&answer), "email_taken");
        }
    }
    assert!(
        app.post(
            "/users",
            json!({"name": "é".repeat(100), "email": "ok@x.io"})
        )
        .await
        .0 == 201
    );

    let (status, body) = app.put(&format!("/users/{id}"), json!({})).await;
    assert_eq!((status, error_code(&body)), (422, "validation_failed"));
    let (status, body) = app
        .put(&format!("/users/{id}"), json!([null, "arr@x.io"]))
        .await;
    assert_eq!((status, error_code(&body)), (400, "bad_request"));
    let (status, body) = app
        .put(&format!("/users/{id}"), json!({"email": "ok@x.io"}))
        .await;
    assert_eq!((status, error_code(&body)), (409, "email_taken"));
    let (status, body) = app.put("/users/999999", json!({"name": "Nobody"})).await;
    assert_eq!((status, error_code(&body)), (404, "not_found"));
    let (status, _) = app.delete("/users/999999").await;
    assert_eq!(status, 404);

    // Invalid input changed nothing: one more user (the valid one), one more queue row.
    assert_eq!(db.queue().await.len(), queued + 1);
    assert_eq!(db.count(&db.local, "SELECT COUNT(*) FROM users").await, 2);

    // A unique key the shop added is named as it is, not taken for the email's — even
    // named like it, and with an email in the request.
    db.exec("ALTER TABLE users ADD UNIQUE KEY emailish_name (name)")
        .await;
    for changes in [
        json!({"name": "é".repeat(100)}),
        json!({"name": "é".repeat(100), "email": "fresh@x.io"}),
    ] {
        let (status, body) = app.put(&format!("/users/{id}"), changes.clone()).await;
        assert_eq!(
            (status, error_code(&body)),
            (409, "duplicate"),
            "{changes} → {body}"
        );
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("emailish_name"), "{message}");
    }
    // A key another table of the shop's refers to cannot change: 409 naming it, not 500.
    db.exec(
        "CREATE TABLE contacts (id INT PRIMARY KEY, mail VARCHAR(100) \
           CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci REFERENCES users (email)); \
         INSERT INTO contacts VALUES (1, 'first@x.io')",
    )
    .await;
    let (status, body) = app
        .put(&format!("/users/{id}"), json!({"email": "moved@x.io"}))
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (409, "still_referenced"),
        "{body}"
    );
    app.stop().await;
}

#[tokio::test]
async fn orders_crud_filters_and_exact_money() {
    let db = TestDb::new(&[]).await;
    db.exec("INSERT INTO users (id, name, email) VALUES (1, 'a', 'a@x.io'), (2, 'b', 'b@x.io')")
        .await;
    let app = TestApp::spawn(&db).await;
    let before = db.queue().await.len();

    let (status, order) = app
        .post("/orders", json!({"user_id": 1, "amount": 0.1}))
        .await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(
        (order["amount"].as_str(), order["status"].as_str()),
        (Some("0.10"), Some("pending"))
    );
    let id = order["id"].as_i64().unwrap();
    let stored: String = sqlx::query_scalar("SELECT CAST(amount AS CHAR) FROM orders WHERE id = ?")
        .bind(id)
        .fetch_one(&db.local)
        .await
        .unwrap();
    assert_eq!(stored, "0.10");
    let queue = db.queue().await;
    assert_eq!(queue.len(), before + 1);
    assert_eq!(
        (
            queue[before].table_name.as_str(),
            queue[before].operation.as_str()
        ),
        ("orders", "INSERT")
    );

    let (status, second) = app
        .post(
            "/orders",
            json!({"user_id": 2, "amount": "99999999.99", "status": "shipped"}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(second["amount"], "99999999.99");
    let (status, third) = app
        .post(
            "/orders",
            json!({"user_id": 1, "amount": 0.2, "status": "delivered"}),
        )
        .await;
    assert_eq!(status, 201);
    // 0.1 + 0.2 style values stay exact.
    let sum: String =
        sqlx::query_scalar("SELECT CAST(SUM(amount) AS CHAR) FROM orders WHERE user_id = 1")
            .fetch_one(&db.local)
            .await
            .unwrap();
    assert_eq!(sum, "0.30");

    let (_, page) = app.get("/orders?user_id=1").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let (_, page) = app.get("/orders?status=shipped").await;
    assert_eq!(page["items"][0]["id"], second["id"]);
    let (_, page) = app.get("/orders?user_id=1&status=delivered").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["id"], third["id"]);
    let (status, _) = app.get("/orders?status=lost").await;
    assert_eq!(status, 422);

    let (status, updated) = app
        .put(
            &format!("/orders/{id}"),
            json!({"amount": "12.5", "status": "cancelled"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            updated["amount"].as_str(),
            updated["status"].as_str(),
            updated["user_id"].as_i64()
        ),
        (Some("12.50"), Some("cancelled"), Some(1))
    );
    let (status, fetched) = app.get(&format!("/orders/{id}")).await;
    assert_eq!((status, &fetched), (200, &updated));
    assert_eq!(db.queue().await.last().unwrap().operation, "UPDATE");

    let (status, _) = app.delete(&format!("/orders/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(db.queue().await.last().unwrap().operation, "DELETE");
    let (status, body) = app.get(&format!("/orders/{id}")).await;
    assert_eq!((status, error_code(&body)), (404, "not_found"));
    app.stop().await;
}

#[tokio::test]
async fn order_input_rules() {
    let db = TestDb::new(&[]).await;
    db.exec("INSERT INTO users (id, name, email) VALUES (1, 'a', 'a@x.io')")
        .await;
    db.exec("INSERT INTO orders (id, user_id, amount) VALUES (1, 1, 5.00)")
        .await;
    let app = TestApp::spawn(&db).await;
    let queued = db.queue().await.len();
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"user_id": 1, "amount": 12.345}), 422, "amount"),
        (json!({"user_id": 1, "amount": "12.345"}), 422, "amount"),
        (json!({"user_id": 1, "amount": -1}), 422, "amount"),
        (json!({"user_id": 1, "amount": 100000000}), 422, "amount"),
        (json!({"user_id": 1, "amount": "ten"}), 422, "amount"),
        (json!({"user_id": 1, "amount": true}), 422, "amount"),
        (
            json!({"user_id": 1, "amount": 1, "status": "lost"}),
            422,
            "status",
        ),
        (
            json!({"user_id": 1, "amount": 1, "status": "PENDING"}),
            422,
            "status",
        ),
        (json!({"user_id": 424242, "amount": 1}), 422, "user_id"),
        (json!({"user_id": 0, "amount": 1}), 422, "user_id"),
        (json!({"user_id": "1", "amount": 1}), 400, ""),
        (json!({"amount": 1}), 400, ""),
        (json!({"user_id": 1, "amount": 1, "note": "x"}), 400, ""),
        (json!([1, "5.00", "pending"]), 400, ""),
    ];
    for (body, expected, field) in cases {
        let (status, answer) = app.post("/orders", body.clone()).await;
        assert_eq!(status, expected, "{body} → {answer}");
        error_code(&answer);
        if !field.is_empty() {
            assert_eq!(answer["error"]["field"], field, "{body} → {answer}");
        }
    }
    let (status, body) = app.put("/orders/1", json!({"user_id": 999})).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("user_id"))
    );
    let (status, _) = app.put("/orders/1", json!({})).await;
    assert_eq!(status, 422);
    let (status, _) = app.put("/orders/1", json!({"amount": null})).await;
    assert_eq!(status, 422);
    let (status, _) = app.put("/orders/77", json!({"status": "shipped"})).await;
    assert_eq!(status, 404);

    // A user with orders cannot be deleted.
    let (status, body) = app.delete("/users/1").await;
    assert_eq!((status, error_code(&body)), (409, "user_has_orders"));

    assert_eq!(
        db.queue().await.len(),
        queued,
        "no bad request changed anything"
    );
    assert_eq!(db.count(&db.local, "SELECT COUNT(*) FROM orders").await, 1);

    // Rows of a table of the shop's own still refer to the order, or to a user without
    // orders: a 409 naming that table, not a 500 or "has orders".
    db.exec(
        "INSERT INTO users (id, name, email) VALUES (2, 'B', 'b@x.io'); \
         CREATE TABLE notes (id INT PRIMARY KEY, order_id BIGINT NULL REFERENCES orders (id), \
           user_id BIGINT NULL REFERENCES users (id)); \
         INSERT INTO notes VALUES (1, 1, NULL), (2, NULL, 2)",
    )
    .await;
    for path in ["/orders/1", "/users/2"] {
        let (status, body) = app.delete(path).await;
        assert_eq!(
            (status, error_code(&body)),
            (409, "still_referenced"),
            "{path}"
        );
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("rows of `notes`"), "{path}: {message}");
    }
    app.stop().await;
}

/// A pair with user 1, the API over it, and a db_a session of its own to hold locks with.
async fn user_one_and_a_locker() -> (TestDb, TestApp, sqlx::MySqlConnection) {
    use sqlx::ConnectOptions;
    let db = TestDb::new(&[]).await;
    db.exec("INSERT INTO users (id, name, email) VALUES (1, 'A', 'a@x.io')")
        .await;
    let app = TestApp::spawn(&db).await;
    let holder = dbsync::db::connect_options(&db.config.local, true)
        .connect()
        .await
        .expect("a db_a session");
    (db, app, holder)
}

/// A request waiting on a row or a table another session holds locked in db_a is given up
/// by db_a itself after the API's short lock waits (tried again a few times): a 503 saying
/// so, and nothing of it stays — not even once the lock goes. Before, a request waited out
/// db_a's own lock wait four times over (200 s) and answered 500; given up on the client's
/// side only, its INSERT would still have run, and committed, when the lock went.
#[tokio::test]
async fn a_request_kept_waiting_on_a_lock_gives_up_and_leaves_nothing() {
    let (db, app, mut holder) = user_one_and_a_locker().await;
    let limit = std::time::Duration::from_secs(20);
    for (lock, unlock) in [
        (
            "BEGIN; SELECT id FROM users WHERE id = 1 FOR UPDATE",
            "ROLLBACK",
        ),
        ("LOCK TABLES users WRITE, orders WRITE", "UNLOCK TABLES"),
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(lock.to_string()))
            .execute(&mut holder)
            .await
            .expect("locked");
        let started = std::time::Instant::now();
        let (put, put_body) = app.put("/users/1", json!({"name": "Locked"})).await;
        let (post, _) = app
            .post("/orders", json!({"user_id": 1, "amount": "6.66"}))
            .await;
        let took = started.elapsed();
        sqlx::raw_sql(sqlx::AssertSqlSafe(unlock.to_string()))
            .execute(&mut holder)
            .await
            .expect("released");
        assert_eq!(
            (put, error_code(&put_body), post),
            (503, "unavailable", 503),
            "{lock}"
        );
        let message = put_body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("stays locked by another session"),
            "{message}"
        );
        assert!(took < limit, "{lock}: took {took:?}");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let kept = "SELECT COUNT(*) FROM users WHERE id = 1 AND name = 'A'";
        assert_eq!(
            db.count(&db.local, kept).await,
            1,
            "{lock}: nothing changed"
        );
        assert_eq!(
            db.count(&db.local, "SELECT COUNT(*) FROM orders").await,
            0,
            "{lock}"
        );
    }
    let (status, _) = app.put("/users/1", json!({"name": "Free"})).await;
    assert_eq!(status, 200);
    app.stop().await;
}

/// Clients that give up on their requests while a table is locked in db_a (a short client
/// timeout) do not pile sessions up on the server: a request's connection stays out of
/// the pool until db_a has ended its statement, so the API's sessions stay within its pool.
/// Before, each abandoned request left its session waiting while the pool opened another,
/// until the server refused every client ("Too many connections"). None of the abandoned
/// writes stays once db_a has ended them.
#[tokio::test]
async fn clients_giving_up_during_a_lock_do_not_pile_up_sessions() {
    let (db, app, mut holder) = user_one_and_a_locker().await;
    sqlx::raw_sql("LOCK TABLES orders WRITE")
        .execute(&mut holder)
        .await
        .expect("locked");
    let impatient = reqwest::Client::builder()
        .timeout(std::time::Duration::from_millis(200))
        .build()
        .expect("client");
    let sessions = format!(
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = '{}'",
        db.config.local.database
    );
    let mut most = 0;
    for round in 0..10 {
        let requests = (0..12).map(|n| {
            impatient
                .post(app.url("/orders"))
                .json(&json!({"user_id": 1, "amount": format!("{round}.{n:02}")}))
                .send()
        });
        let _ = futures_util::future::join_all(requests).await;
        most = most.max(db.count(&db.local, &sessions).await);
    }
    // Longer than the API's lock waits: what was still waiting has ended in db_a.
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    sqlx::raw_sql("UNLOCK TABLES")
        .execute(&mut holder)
        .await
        .expect("released");
    // The API's pool (16), the test's own and the locker: not one per abandoned request.
    assert!(most <= 22, "{most} sessions on db_a");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(db.count(&db.local, "SELECT COUNT(*) FROM orders").await, 0);
    let (status, _) = app
        .post("/orders", json!({"user_id": 1, "amount": "1.00"}))
        .await;
    assert_eq!(status, 201, "the pool recovered");
    app.stop().await;
}

/// An order another tool wrote in a lenient session, with a status outside the list (MySQL
/// keeps ''): it reads as it is, and a PUT that leaves status out changes what it gives.
#[tokio::test]
async fn a_legacy_order_outside_the_status_list_can_still_be_changed() {
    let db = TestDb::new(&[]).await;
    db.exec("INSERT INTO users (id, name, email) VALUES (1, 'a', 'a@x.io')")
        .await;
    db.exec(
        "SET @mode = @@SESSION.sql_mode; SET SESSION sql_mode = ''; \
         INSERT INTO orders (id, user_id, amount, status) VALUES (5, 1, 1.00, 'lost'); \
         SET SESSION sql_mode = @mode",
    )
    .await;
    let app = TestApp::spawn(&db).await;
    let (status, body) = app.get("/orders/5").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("")), "{body}");
    let (status, body) = app.put("/orders/5", json!({"amount": "2.00"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["amount"].as_str(), body["status"].as_str()),
        (Some("2.00"), Some(""))
    );
    let (status, body) = app.put("/orders/5", json!({"status": "shipped"})).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("shipped")),
        "{body}"
    );
    db.sync().await;
    db.assert_converged().await;
    app.stop().await;
}

#[tokio::test]
async fn malformed_requests_get_json_errors() {
    let db = TestDb::new(&[]).await;
    let app = TestApp::spawn(&db).await;
    let client = &app.client;

    let (status, body) = into_json(
        client
            .post(app.url("/users"))
            .header("content-type", "application/json")
            .body("{\"name\": ")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, error_code(&body)), (400, "bad_request"));

    let (status, body) = into_json(
        client
            .post(app.url("/users"))
            .header("content-type", "text/plain")
            .body("name=a")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, error_code(&body)), (415, "unsupported_media_type"));

    let huge = format!(
        "{{\"name\": \"{}\", \"email\": \"a@x.io\"}}",
        "a".repeat(70 * 1024)
    );
    let (status, body) = into_json(
        client
            .post(app.url("/users"))
            .header("content-type", "application/json")
            .body(huge)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, error_code(&body)), (413, "payload_too_large"));

    let (status, body) = into_json(client.patch(app.url("/users/1")).send().await.unwrap()).await;
    assert_eq!((status, error_code(&body)), (405, "method_not_allowed"));
    let (status, body) = into_json(client.delete(app.url("/users")).send().await.unwrap()).await;
    assert_eq!((status, error_code(&body)), (405, "method_not_allowed"));
    let (status, body) = app.get("/nothing/here").await;
    assert_eq!((status, error_code(&body)), (404, "no_route"));
    let (status, _) = app.get("/users/abc").await;
    assert_eq!(status, 404);

    assert!(db.queue().await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn sync_endpoints_show_run_and_requeue() {
    let db = TestDb::new(&[("SYNC_MAX_RETRIES", "1")]).await;
    db.plant_central_clash().await;
    db.exec("INSERT INTO users (id, name, email) VALUES (1, 'a', 'a@x.io'), (2, 'p', 'dup@x.io')")
        .await;
    let app = TestApp::spawn(&db).await;

    let (status, report) = app.get("/sync/status").await;
    assert_eq!(status, 200);
    assert_eq!(report["online"], true);
    assert_eq!(report["central"], "unknown", "no run has tried db_b");
    assert_eq!(
        report["counts"],
        json!({"pending": 2, "synced": 0, "failed": 0})
    );
    assert!(report["last_run"].is_null());
    assert!(report["oldest_pending_age_seconds"].as_i64().is_some());
    assert_eq!(report["entries"]["items"].as_array().unwrap().len(), 2);

    let (status, _) = app.post("/sync/run", json!({})).await;
    assert_eq!(status, 202);
    let mut report = Value::Null;
    for _ in 0..100 {
        report = app.get("/sync/status").await.1;
        if report["last_run"]["outcome"] == "synced" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        report["counts"],
        json!({"pending": 0, "synced": 1, "failed": 1}),
        "{report}"
    );
    assert_eq!(report["last_run"]["applied"], 1);
    assert_eq!(report["last_run"]["failed"], 1);
    assert_eq!(report["central"], "reachable");

    let (status, failed) = app.get("/sync/status?status=FAILED").await;
    assert_eq!(status, 200);
    let entry = &failed["entries"]["items"][0];
    assert_eq!(
        (entry["record_id"].as_i64(), entry["operation"].as_str()),
        (Some(2), Some("INSERT"))
    );
    assert!(entry["last_error"].as_str().unwrap().contains("unique"));
    let (_, page) = app.get("/sync/status?limit=1").await;
    assert_eq!(page["entries"]["next_after_id"], 1);
    let (status, _) = app.get("/sync/status?status=LOST").await;
    assert_eq!(status, 400);

    let (status, body) = app.post("/sync/requeue", json!({"id": 12345})).await;
    assert_eq!((status, error_code(&body)), (404, "not_found"));
    let (status, body) = app.post("/sync/requeue", json!({})).await;
    assert_eq!((status, error_code(&body)), (422, "validation_failed"));
    let (status, body) = app.post("/sync/retry", json!({"table": "user"})).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("table")),
        "a misspelt table is named, not taken for an empty queue: {body}"
    );
    db.remove_central_clash().await;
    let (status, body) = app.post("/sync/requeue", json!({"id": entry["id"]})).await;
    assert_eq!(
        (status, body),
        (200, json!({"requeued": 1, "ids": [entry["id"]]}))
    );
    db.sync().await;
    db.assert_converged().await;

    let (status, body) = app.get("/health").await;
    assert_eq!((status, body), (200, json!({"status": "ok"})));
    app.stop().await;
}

/// The OpenAPI document and the server agree: every documented operation answers (no
/// 404 "no_route", no 405), and on every documented path each undocumented method is a 405.
#[tokio::test]
async fn openapi_document_matches_the_routes() {
    let db = TestDb::new(&[]).await;
    let app = TestApp::spawn(&db).await;
    let (status, spec) = app.get("/openapi.json").await;
    assert_eq!(status, 200);
    assert_eq!(spec["openapi"], "3.0.3");
    let paths = spec["paths"].as_object().unwrap();
    assert_eq!(paths.len(), 13);
    for (template, item) in paths {
        let path = template.replace("{id}", "1");
        for method in ["get", "post", "put", "delete", "patch"] {
            let request = app
                .client
                .request(method.to_uppercase().parse().unwrap(), app.url(&path))
                .header("content-type", "application/json")
                .body("{}");
            let response = request.send().await.unwrap();
            let json = response.headers().get("content-type").is_some_and(|ct| {
                ct.to_str()
                    .unwrap_or_default()
                    .starts_with("application/json")
            });
            let (status, body) = if json {
                into_json(response).await
            } else {
                (response.status().as_u16(), Value::Null)
            };
            let routed = status != 405 && !(status == 404 && body["error"]["code"] == "no_route");
            let documented = item.get(method).is_some();
            assert_eq!(routed, documented, "{method} {path}: {status} {body}");
            if documented && status != 202 {
                let responses = &item[method]["responses"];
                assert!(
                    responses.get(status.to_string()).is_some(),
                    "{method} {path} answered {status}, not documented"
                );
            }
        }
    }
    app.stop().await;
}

/// The API's pooled db_a connections are not pinged on every request (a round trip more
/// each), only after a second idle: connections the server dropped meanwhile (a restart,
/// `wait_timeout`) are replaced, and the next request is served.
#[tokio::test]
async fn pooled_connections_the_server_dropped_are_replaced_after_an_idle_second() {
    let db = TestDb::new(&[]).await;
    let app = TestApp::spawn(&db).await;
    let created = post_users(&app, 0..8).await;
    assert!(created.iter().all(|s| *s == 201), "{created:?}");
    let database = db.env["DB_OFFLINE_DB"].clone();
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT CAST(ID AS SIGNED) FROM information_schema.PROCESSLIST WHERE DB = ?",
    )
    .bind(&database)
    .fetch_all(&db.local)
    .await
    .unwrap();
    let mut killer = db.local.acquire().await.unwrap();
    let own: i64 = sqlx::query_scalar("SELECT CAST(CONNECTION_ID() AS SIGNED)")
        .fetch_one(&mut *killer)
        .await
        .unwrap();
    let mut killed = 0;
    for id in ids.into_iter().filter(|id| *id != own) {
        // Only while it is still one of this test's (tests run beside each other).
        let still_ours: Option<i64> = sqlx::query_scalar(
            "SELECT CAST(ID AS SIGNED) FROM information_schema.PROCESSLIST WHERE ID = ? AND DB = ?",
        )
        .bind(id)
        .bind(&database)
        .fetch_optional(&mut *killer)
        .await
        .unwrap();
        if still_ours.is_some()
            && sqlx::query(sqlx::AssertSqlSafe(format!("KILL CONNECTION {id}")))
                .execute(&mut *killer)
                .await
                .is_ok()
        {
            killed += 1;
        }
    }
    assert!(killed > 0, "the API's pooled connections were found");
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let after = post_users(&app, 100..108).await;
    assert!(after.iter().all(|s| *s == 201), "{after:?}");
    app.stop().await;
}

/// Connections are kept between requests only after work that completed: an update that
/// fails inside its transaction (the email is taken) leaves no row lock behind on an idle
/// connection, later requests are served, and a stop gives the kept connections back so
/// the pool closes at once.
#[tokio::test]
async fn a_failed_request_leaves_no_lock_behind_and_kept_connections_do_not_hold_up_a_stop() {
    let db = TestDb::new(&[]).await;
    let app = TestApp::spawn(&db).await;
    let (_, first) = app
        .post("/users", json!({"name": "First", "email": "first@x.io"}))
        .await;
    let (_, second) = app
        .post("/users", json!({"name": "Second", "email": "second@x.io"}))
        .await;
    let id = first["id"].as_i64().unwrap();
    let (status, body) = app
        .put(&format!("/users/{id}"), json!({"email": "second@x.io"}))
        .await;
    assert_eq!((status, error_code(&body)), (409, "email_taken"), "{body}");
    let mut other = db.local.acquire().await.unwrap();
    sqlx::query("SET SESSION innodb_lock_wait_timeout = 2")
        .execute(&mut *other)
        .await
        .unwrap();
    let unlocked = sqlx::query("UPDATE users SET name = 'Changed by SQL' WHERE id = ?")
        .bind(id)
        .execute(&mut *other)
        .await;
    drop(other);
    if let Err(err) = unlocked {
        // Stopped first: an open transaction would hold up dropping the test's databases.
        app.stop().await;
        panic!("the failed update still holds its row lock: {err}");
    }
    assert_eq!(post_users(&app, 0..20).await, vec![201; 20]);
    let (status, fetched) = app.get(&format!("/users/{}", second["id"])).await;
    assert_eq!(
        (status, fetched["email"].as_str()),
        (200, Some("second@x.io"))
    );
    let stopping = Instant::now();
    app.stop().await;
    assert!(
        stopping.elapsed() < Duration::from_secs(5),
        "stop took {:?}",
        stopping.elapsed()
    );
}

/// Requests cut off while their statement waits (the client went away) do not hold the
/// pool: more of them than the pool has connections, all blocked on a row lock, and the
/// service still answers — the pool does not wait on their connections.
#[tokio::test]
async fn requests_cut_off_mid_statement_do_not_use_up_the_pool() {
    let db = TestDb::new(&[]).await;
    let app = TestApp::spawn(&db).await;
    let (_, user) = app
        .post("/users", json!({"name": "Locked", "email": "locked@x.io"}))
        .await;
    let id = user["id"].as_i64().unwrap();
    let mut holder = db.local.acquire().await.unwrap();
    sqlx::query("BEGIN").execute(&mut *holder).await.unwrap();
    sqlx::query("SELECT id FROM users WHERE id = ? FOR UPDATE")
        .bind(id)
        .execute(&mut *holder)
        .await
        .unwrap();
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let cut_off = (0..24).map(|i| {
        impatient
            .put(app.url(&format!("/users/{id}")))
            .json(&json!({"name": format!("Cut off {i}")}))
            .send()
    });
    let outcomes = futures_util::future::join_all(cut_off).await;
    assert!(outcomes.iter().all(|o| o.is_err()), "every PUT was cut off");
    let asked = Instant::now();
    let (status, body) = app.get("/sync/status").await;
    let answered = asked.elapsed();
    sqlx::query("ROLLBACK").execute(&mut *holder).await.unwrap();
    drop(holder);
    assert_eq!(status, 200, "{body}");
    assert!(
        answered < Duration::from_secs(2),
        "status took {answered:?}"
    );
    let (status, fetched) = app.get(&format!("/users/{id}")).await;
    assert_eq!((status, fetched["name"].as_str()), (200, Some("Locked")));
    app.stop().await;
}

/// POSTs users `range` one after the other; their status codes.
async fn post_users(app: &TestApp, range: std::ops::Range<u32>) -> Vec<u16> {
    let mut statuses = Vec::new();
    for i in range {
        let body = json!({"name": format!("Pool {i}"), "email": format!("pool{i}@x.io")});
        statuses.push(app.post("/users", body).await.0);
    }
    statuses
}

/// A client that sends a request's headers and part of its body, then stalls: it gets a 408
/// once the body is overdue. Neither another such client nor a request whose statement
/// waits on a row lock keeps the service from stopping.
#[tokio::test]
async fn a_stalled_client_gets_a_408_and_no_open_request_holds_up_a_stop() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let db = TestDb::new(&[]).await;
    let app = TestApp::spawn(&db).await;
    let address = app
        .url("")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let stalled = || async {
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        stream
            .write_all(
                b"POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                  Content-Length: 100\r\n\r\n{\"name\":",
            )
            .await
            .unwrap();
        stream
    };
    let mut first = stalled().await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(60), first.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(read.is_ok(), "no answer within 60 s");
    assert!(
        answer.starts_with("HTTP/1.1 408") && answer.contains("\"request_timeout\""),
        "{answer}"
    );

    let _second = stalled().await;
    // And a request whose statement waits on a row lock the test holds.
    db.exec("INSERT INTO users (id, name, email) VALUES (1, 'a', 'a@x.io')")
        .await;
    let mut holder = db.local.acquire().await.unwrap();
    let mut lock = sqlx::Connection::begin(&mut *holder).await.unwrap();
    sqlx::query("SELECT id FROM users WHERE id = 1 FOR UPDATE")
        .execute(&mut *lock)
        .await
        .unwrap();
    let waiting = app
        .client
        .put(app.url("/users/1"))
        .json(&json!({"name": "b"}))
        .send();
    let waiting = tokio::spawn(waiting);
    // Until the server is reading the body and running the statement: a connection still
    // in its headers closes at once.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let took = app.stop_timed().await;
    lock.rollback().await.unwrap();
    let _ = waiting.await;
    assert!(took < Duration::from_secs(20), "stop took {took:?}");
    let name = "SELECT COUNT(*) FROM users WHERE name = 'a'";
    assert_eq!(
        db.count(&db.local, name).await,
        1,
        "the cut-off PUT changed nothing"
    );
}

/// A table the API serves that db_a lacks (SYNC_TABLES without the sample tables, or
/// `init` not run) is a 503 saying so, not a bare 500.
#[tokio::test]
async fn a_missing_table_is_a_503_saying_what_to_set_up() {
    let db = TestDb::new(&[]).await;
    db.exec("DROP TABLE orders").await;
    let app = TestApp::spawn(&db).await;
    let (status, body) = app.get("/orders").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "not_set_up", "{body}");
    let (status, body) = app
        .post("/orders", json!({"user_id": 1, "amount": "1.00"}))
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (503, &json!("not_set_up")),
        "{body}"
    );
    let (status, _) = app.get("/users").await;
    assert_eq!(status, 200, "the other resource is served");
}
