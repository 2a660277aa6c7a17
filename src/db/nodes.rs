//! db_b may be a MariaDB Galera cluster: `DB_CENTRAL_HOST` lists its nodes. Work goes to
//! the first node that answers *and* is ready — a node that lost quorum still answers
//! `SELECT 1` but refuses every table access (error 1047), so answering is not enough.

use sqlx::Row;
use sqlx::mysql::{MySqlConnection, MySqlPool};

use super::error::code;
use super::{CONNECT_TIMEOUT, ConnectError, DbTarget, PoolSettings, Role, connect_one, lazy_pool};

/// Whether the server is a Galera node with replication on; MySQL has no wsrep variables
/// at all (a plain server). Any other error is the node's trouble, not an answer.
async fn wsrep_on(conn: &mut MySqlConnection) -> Result<bool, sqlx::Error> {
    match sqlx::query_scalar::<_, Option<i64>>("SELECT @@wsrep_on")
        .fetch_one(&mut *conn)
        .await
    {
        Ok(on) => Ok(on.unwrap_or(0) != 0),
        Err(err) if super::error::number(&err) == Some(code::UNKNOWN_SYSTEM_VARIABLE) => Ok(false),
        Err(err) => Err(err),
    }
}

/// Galera sessions read with causality checks (`wsrep_sync_wait`): a session on another
/// node than the last one still sees that node's commits.
pub(super) async fn read_causally(conn: &mut MySqlConnection) -> Result<(), sqlx::Error> {
    if wsrep_on(conn).await? {
        sqlx::raw_sql("SET SESSION wsrep_sync_wait = 1")
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Whether a node may take work, and why not.
async fn readiness(conn: &mut MySqlConnection) -> Result<Result<bool, String>, sqlx::Error> {
    if !wsrep_on(conn).await? {
        return Ok(Ok(false));
    }
    let rows = sqlx::query(
        "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_ready', 'wsrep_local_state', 'wsrep_cluster_status')",
    )
    .fetch_all(&mut *conn)
    .await?;
    let value = |name: &str| {
        rows.iter()
            .find(|r| {
                r.try_get::<String, _>(0)
                    .is_ok_and(|n| n.eq_ignore_ascii_case(name))
            })
            .and_then(|r| r.try_get::<String, _>(1).ok())
            .unwrap_or_default()
    };
    let (ready, state, cluster) = (
        value("wsrep_ready"),
        value("wsrep_local_state"),
        value("wsrep_cluster_status"),
    );
    if ready.eq_ignore_ascii_case("ON") && state == "4" {
        Ok(Ok(true))
    } else {
        Ok(Err(format!(
            "Galera node not ready (wsrep_ready={ready}, wsrep_local_state={state}, cluster {cluster})"
        )))
    }
}

/// A connection to the first ready node of `nodes`, and that node, reading causally (a run
/// that fails over to another node still sees its own last commits). `Err` says why each
/// node was passed over.
pub async fn connect_ready(
    target: &DbTarget,
    nodes: &[(String, u16)],
) -> Result<(MySqlConnection, DbTarget), ConnectError> {
    let mut reasons = Vec::new();
    let mut last_error = None;
    for (host, port) in nodes {
        let node = DbTarget {
            host: host.clone(),
            port: *port,
            ..target.clone()
        };
        let mut conn = match connect_one(Role::Central, &node).await {
            Ok(conn) => conn,
            Err(err) => {
                reasons.push(format!("{host}:{port}: {}", err.reason));
                last_error = Some(err);
                continue;
            }
        };
        // Bounded like the connect: a server that goes silent right after the handshake
        // would hold the run here for as long as it stays silent.
        let ready = tokio::time::timeout(CONNECT_TIMEOUT, async {
            let galera = readiness(&mut conn).await?;
            if galera == Ok(true) {
                read_causally(&mut conn).await?;
            }
            Ok::<_, sqlx::Error>(galera)
        })
        .await
        .unwrap_or_else(|_| Err(super::error::no_answer_in_time()));
        match ready {
            Ok(Ok(_)) => return Ok((conn, node)),
            Ok(Err(why)) => reasons.push(format!("{host}:{port}: {why}")),
            Err(err) => reasons.push(format!("{host}:{port}: {}", super::error::describe(&err))),
        }
    }
    let mut err = last_error.unwrap_or_else(|| {
        ConnectError::new(
            Role::Central,
            target,
            &sqlx::Error::Protocol("no node is ready".into()),
        )
    });
    if nodes.len() > 1 || !reasons.is_empty() {
        err.reason = reasons.join("; ");
    }
    Err(err)
}

/// A pool on the first ready node (for commands that read db_b: verify, init, sites);
/// its sessions read causally, as a run's does.
pub async fn central_pool(
    target: &DbTarget,
    nodes: &[(String, u16)],
    settings: PoolSettings,
) -> Result<(MySqlPool, DbTarget), ConnectError> {
    let (probe, node) = connect_ready(target, nodes).await?;
    let _ = sqlx::Connection::close(probe).await;
    Ok((lazy_pool(Role::Central, &node, settings), node))
}
