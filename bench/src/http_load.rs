//! HTTP/1.1 load on `dbsync serve`: `concurrency` workers, each with its own keep-alive
//! connection (a reqwest client holding one connection), sending requests back to back.

use std::time::{Duration, Instant};

use rand::Rng;

use crate::report::Latencies;

#[derive(Debug, Clone, Copy)]
pub enum Kind {
    GetUser,
    PostUser,
    PostOrder,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::GetUser, Kind::PostUser, Kind::PostOrder];

    pub fn label(self) -> &'static str {
        match self {
            Kind::GetUser => "GET /users/:id",
            Kind::PostUser => "POST /users",
            Kind::PostOrder => "POST /orders",
        }
    }
}

/// Requests answered 2xx per second, their latencies, and everything else as errors.
pub struct LoadResult {
    pub per_second: f64,
    pub latencies: Latencies,
    pub errors: u64,
    pub first_error: Option<String>,
}

/// Sends requests of `kind` to `base` (`http://127.0.0.1:PORT`) for `duration`. `users` is
/// how many users exist (ids 1..=users) to read or to order for; `tag` keeps new emails unique.
pub async fn run(
    base: &str,
    kind: Kind,
    concurrency: u32,
    duration: Duration,
    users: u64,
    tag: &str,
) -> Result<LoadResult, String> {
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..concurrency {
        let client = reqwest::Client::builder()
            .http1_only()
            .pool_max_idle_per_host(1)
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        let prefix = format!("{tag}-{worker}");
        let base = base.to_string();
        workers.push(tokio::spawn(async move {
            worker_loop(client, base, kind, prefix, deadline, users).await
        }));
    }
    let (mut all, mut errors, mut first_error) = (Vec::new(), 0, None);
    for worker in workers {
        let (mut latencies, failed, first) =
            worker.await.map_err(|e| format!("load worker: {e}"))?;
        all.append(&mut latencies);
        errors += failed;
        first_error = first_error.or(first);
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok(LoadResult {
        per_second: all.len() as f64 / elapsed,
        latencies: Latencies::new(all),
        errors,
        first_error,
    })
}

type Outcome = (Vec<f64>, u64, Option<String>);

async fn worker_loop(
    client: reqwest::Client,
    base: String,
    kind: Kind,
    prefix: String,
    deadline: Instant,
    users: u64,
) -> Outcome {
    let (mut latencies, mut errors, mut first_error) = (Vec::new(), 0, None);
    let mut n = 0u64;
    while Instant::now() < deadline {
        n += 1;
        let user = rand::rng().random_range(1..=users.max(1));
        let request = match kind {
            Kind::GetUser => client.get(format!("{base}/users/{user}")),
            Kind::PostUser => post(
                &client,
                &base,
                "/users",
                format!(
                    r#"{{"name":"Load {prefix}-{n}","email":"load-{prefix}-{n}@example.com"}}"#
                ),
            ),
            Kind::PostOrder => post(
                &client,
                &base,
                "/orders",
                format!(
                    r#"{{"user_id":{user},"amount":"{}.{:02}"}}"#,
                    n % 500,
                    n % 100
                ),
            ),
        };
        let sent = Instant::now();
        match exchange(request).await {
            Ok(()) => latencies.push(sent.elapsed().as_secs_f64() * 1000.0),
            Err(err) => {
                errors += 1;
                first_error.get_or_insert(err);
            }
        }
    }
    (latencies, errors, first_error)
}

fn post(client: &reqwest::Client, base: &str, path: &str, body: String) -> reqwest::RequestBuilder {
    client
        .post(format!("{base}{path}"))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
}

/// Sends one request and reads the whole answer (so the connection is reused).
async fn exchange(request: reqwest::RequestBuilder) -> Result<(), String> {
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| e.to_string())?;
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("{status}: {}", String::from_utf8_lossy(&body)))
    }
}
