//! `sites --galera`: the same sites draining at once into the 3-node Galera cluster that
//! `scripts/galera.sh up` starts, site k pinned to node k mod 3, with the cluster's
//! certification failures and brute-force aborts counted. A failure here is a row that
//! says what went wrong, never a crash.

use std::path::PathBuf;

use super::Ctx;
use super::sites::{self, Central, site_pair};
use crate::report::Row;
use crate::server::{Pair, Server};

const COUNTERS: [&str; 2] = ["wsrep_local_cert_failures", "wsrep_local_bf_aborts"];

pub async fn run(ctx: &Ctx, counts: &[usize], queued: u64) -> Vec<Row> {
    match measure(ctx, counts, queued).await {
        Ok(rows) => rows,
        Err(err) => {
            eprintln!("galera: {err}");
            vec![Row::note("sites into the 3-node Galera cluster", "not measured").ratio(err)]
        }
    }
}

async fn measure(ctx: &Ctx, counts: &[usize], queued: u64) -> Result<Vec<Row>, String> {
    let nodes = nodes()?;
    for node in &nodes {
        node.connect()
            .await
            .map_err(|e| format!("{e} — is the cluster up? (`scripts/galera.sh up`)"))?;
    }
    let central = ctx.db_name("galera_central");
    let mut pairs = Vec::new();
    let max = counts.iter().copied().max().unwrap_or(1);
    let mut result = Ok(Vec::new());
    for k in 1..=max {
        match galera_site(ctx, k, &central, &nodes[k % nodes.len()]).await {
            Ok(pair) => pairs.push(pair),
            Err(err) => {
                result = Err(err);
                break;
            }
        }
    }
    if result.is_ok() {
        let central = Central {
            label: "the 3-node Galera cluster",
            nodes: Some(&nodes),
        };
        result = sites::measure(ctx, &pairs, counts, queued, &central).await;
    }
    for pair in pairs {
        pair.drop().await;
    }
    result
}

async fn galera_site(ctx: &Ctx, k: usize, central: &str, node: &Server) -> Result<Pair, String> {
    let port = node.port.to_string();
    let extra = [
        ("DB_CENTRAL_HOST", node.host.as_str()),
        ("DB_CENTRAL_PORT", port.as_str()),
        ("DB_CENTRAL_USER", node.user.as_str()),
        ("DB_CENTRAL_PASSWORD", node.password.as_str()),
    ];
    site_pair(ctx, k, central, &extra).await
}

/// The two conflict counters, summed over the nodes (zeros for a standalone central).
pub async fn counters(nodes: Option<&[Server]>) -> Result<[i64; 2], String> {
    let mut sums = [0i64; 2];
    for node in nodes.unwrap_or_default() {
        let mut conn = node.connect().await?;
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_cert_failures', 'wsrep_local_bf_aborts')",
        )
        .fetch_all(&mut conn)
        .await
        .map_err(|e| format!("{}:{}: {e}", node.host, node.port))?;
        for (name, value) in rows {
            if let Some(i) = COUNTERS.iter().position(|c| name.eq_ignore_ascii_case(c)) {
                sums[i] += value.parse::<i64>().unwrap_or(0);
            }
        }
    }
    Ok(sums)
}

/// The nodes from GALERA_NODE1..3 (`host:port`), or from `scripts/galera.sh env`.
fn nodes() -> Result<Vec<Server>, String> {
    let from_env: Vec<String> = (1..=3)
        .filter_map(|i| std::env::var(format!("GALERA_NODE{i}")).ok())
        .collect();
    let lines = if from_env.len() == 3 {
        from_env
    } else {
        galera_env()?
    };
    let user = std::env::var("GALERA_USER").unwrap_or_else(|_| "root".into());
    let password = std::env::var("GALERA_PASSWORD").unwrap_or_default();
    lines
        .iter()
        .map(|addr| {
            let (host, port) = addr
                .rsplit_once(':')
                .ok_or(format!("bad node address {addr:?}"))?;
            Ok(Server {
                host: host.to_string(),
                port: port
                    .parse()
                    .map_err(|_| format!("bad node address {addr:?}"))?,
                user: user.clone(),
                password: password.clone(),
            })
        })
        .collect()
}

/// GALERA_NODE1..3 values printed by `scripts/galera.sh env`.
fn galera_env() -> Result<Vec<String>, String> {
    let script = find_script().ok_or("scripts/galera.sh not found above this program")?;
    let output = std::process::Command::new(&script)
        .arg("env")
        .output()
        .map_err(|e| format!("{}: {e}", script.display()))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let nodes: Vec<String> = (1..=3)
        .filter_map(|i| {
            let prefix = format!("GALERA_NODE{i}=");
            text.lines()
                .find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
        })
        .collect();
    if nodes.len() == 3 {
        Ok(nodes)
    } else {
        Err(format!(
            "`{} env` did not name three nodes",
            script.display()
        ))
    }
}

fn find_script() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    exe.ancestors()
        .map(|dir| dir.join("scripts/galera.sh"))
        .find(|p| p.is_file())
}
