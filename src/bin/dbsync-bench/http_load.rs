//! A small HTTP/1.1 load generator (keep-alive, one connection per worker), run as its own
//! process so the service under test does not share its runtime.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub enum Kind {
    GetUser,
    PostUser,
    PostOrder,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::GetUser => "GET /users/:id",
            Kind::PostUser => "POST /users",
            Kind::PostOrder => "POST /orders",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadResult {
    pub requests: u64,
    pub errors: u64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// Sends requests of `kind` from `concurrency` connections for `duration`.
/// `users` is how many users exist (ids 1..=users) to read or to order for.
pub async fn run(
    addr: SocketAddr,
    kind: Kind,
    concurrency: u32,
    duration: Duration,
    users: u64,
) -> LoadResult {
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|worker| tokio::spawn(worker_loop(addr, kind, worker, deadline, users)))
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for worker in workers {
        if let Ok((mut l, e)) = worker.await {
            latencies.append(&mut l);
            errors += e;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let pick = |q: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let at = ((latencies.len() as f64 - 1.0) * q).round() as usize;
        latencies[at] as f64 / 1000.0
    };
    LoadResult {
        requests: latencies.len() as u64 + errors,
        errors,
        per_second: latencies.len() as f64 / elapsed,
        p50_ms: pick(0.50),
        p99_ms: pick(0.99),
    }
}

/// Latencies in microseconds of successful requests, and the error count.
async fn worker_loop(
    addr: SocketAddr,
    kind: Kind,
    worker: u32,
    deadline: Instant,
    users: u64,
) -> (Vec<u64>, u64) {
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut rng =
        0x9E37_79B9_7F4A_7C15u64 ^ (u64::from(worker) + 1).wrapping_mul(0xD1B5_4A32_D192_ED03);
    let mut counter = 0u64;
    let tag = std::process::id();
    let mut conn: Option<BufReader<TcpStream>> = None;
    while Instant::now() < deadline {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        counter += 1;
        let user = 1 + rng % users.max(1);
        let request = match kind {
            Kind::GetUser => format!("GET /users/{user} HTTP/1.1\r\nHost: bench\r\n\r\n"),
            Kind::PostUser => json_post(
                "/users",
                &format!(
                    r#"{{"name":"Load {worker}-{counter}","email":"load{tag}-{worker}-{counter}@example.com"}}"#
                ),
            ),
            Kind::PostOrder => json_post(
                "/orders",
                &format!(
                    r#"{{"user_id":{user},"amount":"{}.{:02}"}}"#,
                    rng % 500,
                    rng % 100
                ),
            ),
        };
        if conn.is_none() {
            match TcpStream::connect(addr).await {
                Ok(stream) => {
                    let _ = stream.set_nodelay(true);
                    conn = Some(BufReader::new(stream));
                }
                Err(_) => {
                    errors += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let Some(stream) = conn.as_mut() else {
            continue;
        };
        let sent = Instant::now();
        match exchange(stream, &request).await {
            Some(status) if (200..300).contains(&status) => {
                latencies.push(sent.elapsed().as_micros() as u64)
            }
            Some(_) => errors += 1,
            None => {
                errors += 1;
                conn = None;
            }
        }
    }
    (latencies, errors)
}

fn json_post(path: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Writes one request and reads one response; the status, or `None` if the connection broke.
async fn exchange(stream: &mut BufReader<TcpStream>, request: &str) -> Option<u16> {
    stream.get_mut().write_all(request.as_bytes()).await.ok()?;
    let mut line = String::new();
    stream.read_line(&mut line).await.ok()?;
    let status: u16 = line.split_whitespace().nth(1)?.parse().ok()?;
    let mut length = 0usize;
    loop {
        line.clear();
        stream.read_line(&mut line).await.ok()?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await.ok()?;
    Some(status)
}
