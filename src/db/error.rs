//! Every MySQL error number dbsync reacts to, by name, and the one classification of a
//! database error into a [`Kind`]. What a sync run *does* about each kind is decided in
//! `services::sync::policy`; the API maps kinds to answers in `services`.

/// Server error numbers (MySQL / MariaDB / Galera), named once.
pub mod code {
    pub const WSREP_NOT_READY: u16 = 1047;
    pub const BAD_NULL: u16 = 1048;
    pub const BAD_DB: u16 = 1049;
    pub const SERVER_SHUTDOWN: u16 = 1053;
    pub const BAD_FIELD: u16 = 1054;
    pub const DUP_ENTRY: u16 = 1062;
    pub const ACCESS_DENIED: u16 = 1045;
    pub const DB_ACCESS_DENIED: u16 = 1044;
    pub const TOO_MANY_CONNECTIONS: u16 = 1040;
    /// The server is out of memory or threads: it answers, but takes no work now.
    pub const OUT_OF_MEMORY: u16 = 1037;
    pub const OUT_OF_RESOURCES: u16 = 1041;
    pub const CANT_CREATE_THREAD: u16 = 1135;
    /// The account's own limits (`MAX_USER_CONNECTIONS`, `MAX_QUERIES_PER_HOUR`…): reached
    /// now, not for ever.
    pub const TOO_MANY_USER_CONNECTIONS: u16 = 1203;
    pub const USER_LIMIT_REACHED: u16 = 1226;
    /// "Unknown error": Galera reports "Maximum writeset size exceeded" with it.
    pub const UNKNOWN_ERROR: u16 = 1105;
    /// A server variable this server does not have (`@@wsrep_on` on MySQL).
    pub const UNKNOWN_SYSTEM_VARIABLE: u16 = 1193;
    pub const NO_SUCH_TABLE: u16 = 1146;
    /// "INSERT command denied to user … for table …": a grant missing on a table.
    pub const TABLE_ACCESS_DENIED: u16 = 1142;
    /// The same for a column.
    pub const COLUMN_ACCESS_DENIED: u16 = 1143;
    /// "Access denied; you need (at least one of) the … privilege(s)".
    pub const SPECIFIC_ACCESS_DENIED: u16 = 1227;
    /// "execute command denied to user … for routine …" (a trigger's routine).
    pub const ROUTINE_ACCESS_DENIED: u16 = 1370;
    /// A grant the account lacks: no change is to blame, the account is.
    pub const PRIVILEGE_DENIED: [u16; 4] = [
        TABLE_ACCESS_DENIED,
        COLUMN_ACCESS_DENIED,
        SPECIFIC_ACCESS_DENIED,
        ROUTINE_ACCESS_DENIED,
    ];
    /// "Table … is read only".
    pub const TABLE_READ_ONLY: u16 = 1036;
    /// "Subquery returns more than 1 row": the clash guard of an upsert fired.
    pub const SUBQUERY_NO_1_ROW: u16 = 1242;
    /// "The table is full" (a disk or a MEMORY table's limit).
    pub const RECORD_FILE_FULL: u16 = 1114;
    /// "Disk full".
    pub const DISK_FULL: u16 = 1021;
    /// "Query execution was interrupted (max_statement_time exceeded)".
    pub const STATEMENT_TIMEOUT: u16 = 1969;
    pub const NET_PACKET_TOO_LARGE: u16 = 1153;
    /// "Got error N during COMMIT": a Galera writeset over `wsrep_max_ws_rows/size`.
    pub const ERROR_DURING_COMMIT: u16 = 1180;
    pub const TRANS_CACHE_FULL: u16 = 1197;
    pub const LOCK_WAIT_TIMEOUT: u16 = 1205;
    pub const LOCK_DEADLOCK: u16 = 1213;
    pub const NO_REFERENCED_ROW: u16 = 1216;
    pub const ROW_IS_REFERENCED: u16 = 1217;
    pub const TRUNCATED: u16 = 1265;
    pub const OUT_OF_RANGE: u16 = 1264;
    pub const OPTION_PREVENTS_STATEMENT: u16 = 1290;
    pub const TRUNCATED_WRONG_VALUE: u16 = 1292;
    pub const QUERY_INTERRUPTED: u16 = 1317;
    pub const INCORRECT_STRING_VALUE: u16 = 1366;
    pub const DATA_TOO_LONG: u16 = 1406;
    pub const ROW_IS_REFERENCED_2: u16 = 1451;
    pub const NO_REFERENCED_ROW_2: u16 = 1452;
    pub const DATA_OUT_OF_RANGE: u16 = 1690;
    pub const CONNECTION_KILLED: u16 = 1927;
    pub const INVALID_JSON: u16 = 3140;
    pub const CHECK_CONSTRAINT_VIOLATED: u16 = 3819;
    pub const CONSTRAINT_FAILED: u16 = 4025;
    /// DDL finding its work done or undone by another session (two `init`s at once):
    /// table exists, duplicate column, duplicate key name, nothing to drop, trigger exists,
    /// no such trigger, duplicate foreign key name.
    pub const DDL_RACES: [u16; 7] = [1050, 1060, 1061, 1091, 1359, 1360, 1826];
    pub const CR_CONN_HOST_ERROR: u16 = 2003;
    pub const CR_UNKNOWN_HOST: u16 = 2005;
    pub const CR_SERVER_GONE: u16 = 2006;
    pub const CR_SERVER_LOST: u16 = 2013;
}

/// What kind of trouble an error is, independent of who hit it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The connection or the server is gone, shutting down, read-only, full, or (Galera)
    /// not part of the Primary component: nothing about the data.
    Connection,
    /// A deadlock or a Galera certification conflict (1213): trying again can work.
    Conflict,
    /// A lock wait timed out (1205): a row the change needs is locked by someone else.
    LockWait,
    /// The transaction is too large for the server or cluster: a smaller one can work.
    Capacity,
    /// A table, column or database is missing or not accessible: a set-up problem.
    Schema,
    /// The server refused the data itself: a key clash, a foreign key, a value out of range.
    Data,
    /// Anything else.
    Other,
}

/// The MySQL error number, when `err` is a server error.
pub fn number(err: &sqlx::Error) -> Option<u16> {
    match err {
        sqlx::Error::Database(db) => db
            .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
            .map(|e| e.number()),
        _ => None,
    }
}

pub fn classify(err: &sqlx::Error) -> Kind {
    use code::*;
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::BeginFailed => Kind::Connection,
        sqlx::Error::Database(db) => match number(err) {
            Some(
                WSREP_NOT_READY
                | SERVER_SHUTDOWN
                | CR_SERVER_GONE
                | CR_SERVER_LOST
                | OPTION_PREVENTS_STATEMENT
                | QUERY_INTERRUPTED
                | CONNECTION_KILLED
                | TOO_MANY_CONNECTIONS
                | TOO_MANY_USER_CONNECTIONS
                | USER_LIMIT_REACHED
                | OUT_OF_MEMORY
                | OUT_OF_RESOURCES
                | CANT_CREATE_THREAD
                | CR_CONN_HOST_ERROR
                | CR_UNKNOWN_HOST
                | RECORD_FILE_FULL
                | DISK_FULL
                | STATEMENT_TIMEOUT,
            ) => Kind::Connection,
            Some(LOCK_DEADLOCK) => Kind::Conflict,
            Some(LOCK_WAIT_TIMEOUT) => Kind::LockWait,
            Some(ERROR_DURING_COMMIT | NET_PACKET_TOO_LARGE | TRANS_CACHE_FULL) => Kind::Capacity,
            Some(UNKNOWN_ERROR) if db.message().to_ascii_lowercase().contains("writeset") => {
                Kind::Capacity
            }
            Some(
                NO_SUCH_TABLE | BAD_FIELD | BAD_DB | ACCESS_DENIED | DB_ACCESS_DENIED
                | TABLE_READ_ONLY,
            ) => Kind::Schema,
            Some(n) if PRIVILEGE_DENIED.contains(&n) => Kind::Schema,
            Some(
                BAD_NULL
                | DUP_ENTRY
                | SUBQUERY_NO_1_ROW
                | NO_REFERENCED_ROW
                | ROW_IS_REFERENCED
                | TRUNCATED
                | OUT_OF_RANGE
                | TRUNCATED_WRONG_VALUE
                | INCORRECT_STRING_VALUE
                | DATA_TOO_LONG
                | ROW_IS_REFERENCED_2
                | NO_REFERENCED_ROW_2
                | DATA_OUT_OF_RANGE
                | INVALID_JSON
                | CHECK_CONSTRAINT_VIOLATED
                | CONSTRAINT_FAILED,
            ) => Kind::Data,
            _ => Kind::Other,
        },
        _ => Kind::Other,
    }
}

/// What a server that stopped answering in the middle of a connect amounts to.
pub fn no_answer_in_time() -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "no answer in time",
    ))
}

/// A database error as a short sentence for logs, `last_error` and CLI messages: the
/// server's message, or what happened to the connection. Never includes credentials.
pub fn describe(err: &sqlx::Error) -> String {
    match err {
        // A table missing in a database dbsync set up: recreated, or `init` never ran.
        sqlx::Error::Database(db) if number(err) == Some(code::NO_SUCH_TABLE) => {
            format!("{} (run `dbsync init`)", db.message())
        }
        // A column missing: dbsync's own tables from an earlier version (the binary was
        // upgraded and `init` not run again), or a table changed under a run; `init`
        // brings either up to date.
        sqlx::Error::Database(db) if number(err) == Some(code::BAD_FIELD) => {
            format!("{} (run `dbsync init`)", db.message())
        }
        sqlx::Error::Database(db)
            if number(err).is_some_and(|n| code::PRIVILEGE_DENIED.contains(&n)) =>
        {
            format!(
                "{} (the user dbsync connects as lacks a privilege; nothing is blamed: grant it and the next run carries on)",
                db.message()
            )
        }
        sqlx::Error::Database(db) => db.message().to_string(),
        sqlx::Error::Io(io) => format!("connection error: {io}"),
        sqlx::Error::PoolTimedOut => "no connection in time".to_string(),
        sqlx::Error::Tls(_) => "TLS negotiation failed".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_failures_are_never_data() {
        let io = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert_eq!(classify(&io), Kind::Connection);
        assert_eq!(classify(&sqlx::Error::PoolTimedOut), Kind::Connection);
        assert_eq!(classify(&sqlx::Error::RowNotFound), Kind::Other);
    }
}
