//! How much one statement to db_b may carry. A statement over the server's
//! `max_allowed_packet` makes it drop the connection, which a run can only take for an
//! interruption — every run would stop at the same batch. So multi-row statements stay
//! under a budget, and a row no statement can carry is found before anything is sent.

use sqlx::mysql::MySqlConnection;

use crate::db::image;
use crate::domain::table::{TableSpec, ValueClass};

/// Why a run cannot work with db_b's `max_allowed_packet`, if it cannot: the fix is db_b's,
/// and nothing is blamed on the changes.
pub fn unusable(packet: usize) -> Option<String> {
    (packet < MIN_PACKET).then(|| {
        format!(
            "db_b's max_allowed_packet is {packet} bytes, below the {} KiB a run needs \
             ({} KiB of a statement go to its own text); raise it on db_b \
             (SET GLOBAL max_allowed_packet = 16777216, and in its configuration)",
            MIN_PACKET >> 10,
            PACKET_MARGIN >> 10
        )
    })
}

/// Bytes of values a statement carries at most: a batch of wide rows goes as several
/// statements, well under `max_allowed_packet` (16 MiB by default on MariaDB, 4 MiB on
/// MySQL 5.7, 64 MiB on 8.0).
pub const MAX_STATEMENT_BYTES: usize = 2 << 20;

/// Bytes an execute packet takes beside the values [`values_bytes`] counts (the SQL text
/// goes apart, when the statement is prepared).
const PACKET_MARGIN: usize = 64 << 10;

/// The smallest `max_allowed_packet` a run works with: below it every row would be set
/// apart as too big, for a setting of db_b's.
pub const MIN_PACKET: usize = 2 * PACKET_MARGIN;

/// The server's `max_allowed_packet`: the largest statement it takes.
pub async fn packet_limit(conn: &mut MySqlConnection) -> Result<usize, sqlx::Error> {
    let limit: u64 = sqlx::query_scalar("SELECT CAST(@@max_allowed_packet AS UNSIGNED)")
        .fetch_one(conn)
        .await?;
    Ok(usize::try_from(limit).unwrap_or(usize::MAX))
}

/// Bytes of values one statement may carry on a server taking `packet`-byte statements.
pub fn statement_budget(packet: usize) -> usize {
    MAX_STATEMENT_BYTES.min(packet.saturating_sub(PACKET_MARGIN))
}

/// About the bytes a row's values take in a statement.
pub fn values_bytes(values: &[Option<String>]) -> usize {
    values
        .iter()
        .map(|v| v.as_ref().map_or(0, String::len) + 8)
        .sum()
}

/// The bytes a row image of `spec` (values aligned with [`TableSpec::image_columns`]) takes
/// in a statement: bytes go as bytes, half their hex spelling (see
/// `replica::push_value`), every other value as its text.
pub fn image_bytes(spec: &TableSpec, values: &[Option<String>]) -> usize {
    spec.image_columns()
        .zip(values)
        .map(|(column, value)| {
            let Some(text) = value else { return 8 };
            let sent_as_bytes = (column.class == ValueClass::Binary
                || column.bytes_charset().is_some())
                && image::is_hex_bytes(text);
            8 + if sent_as_bytes {
                text.len() / 2
            } else {
                text.len()
            }
        })
        .sum()
}

/// Why a row image of `spec` cannot be written in one statement on a server taking
/// `packet`-byte statements, if it cannot.
pub fn too_big(spec: &TableSpec, values: &[Option<String>], packet: usize) -> Option<String> {
    // The plain sum is never below the statement's bytes (bytes go as half their hex): a
    // row under the limit by it needs no closer look, and almost every row is.
    if values_bytes(values).saturating_add(PACKET_MARGIN) <= packet {
        return None;
    }
    let bytes = image_bytes(spec, values);
    let mib = |b: usize| format!("{:.2} MiB", b as f64 / f64::from(1 << 20));
    (bytes.saturating_add(PACKET_MARGIN) > packet).then(|| {
        format!(
            "the row takes {} in a statement, more than db_b accepts in one \
             (max_allowed_packet {}, of which {} KiB go to the statement itself)",
            mib(bytes),
            mib(packet),
            PACKET_MARGIN >> 10
        )
    })
}

/// `items` in consecutive runs of at most `max_items` whose `size`s add up to at most
/// `max_bytes`; an item bigger than that goes alone.
pub fn statement_chunks<T>(
    items: &[T],
    max_items: usize,
    max_bytes: usize,
    size: impl Fn(&T) -> usize,
) -> Vec<&[T]> {
    let max_items = max_items.max(1);
    let mut chunks = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, item) in items.iter().enumerate() {
        let item_bytes = size(item);
        if i > start && (i - start == max_items || bytes + item_bytes > max_bytes) {
            chunks.push(&items[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += item_bytes;
    }
    if start < items.len() {
        chunks.push(&items[start..]);
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::{
        MAX_STATEMENT_BYTES, MIN_PACKET, image_bytes, statement_budget, statement_chunks, too_big,
        unusable,
    };
    use crate::domain::table::{ColumnSpec, TableSpec, ValueClass};

    #[test]
    fn statements_stay_under_both_limits() {
        let sizes = [10usize; 7];
        let lengths = |chunks: Vec<&[usize]>| chunks.iter().map(|c| c.len()).collect::<Vec<_>>();
        let most = MAX_STATEMENT_BYTES;
        assert_eq!(
            lengths(statement_chunks(&sizes, 3, most, |s| *s)),
            [3, 3, 1]
        );
        let wide = [MAX_STATEMENT_BYTES / 3; 7];
        assert_eq!(
            lengths(statement_chunks(&wide, 100, most, |s| *s)),
            [3, 3, 1]
        );
        let huge = [1, MAX_STATEMENT_BYTES * 2, 1];
        assert_eq!(
            lengths(statement_chunks(&huge, 100, most, |s| *s)),
            [1, 1, 1],
            "a row over the budget goes alone"
        );
        assert!(statement_chunks(&[] as &[usize], 10, most, |s| *s).is_empty());
    }

    fn docs() -> TableSpec {
        TableSpec {
            name: "docs".into(),
            columns: vec![
                ColumnSpec::plain("title", "text", ValueClass::Text),
                ColumnSpec::plain("body", "blob", ValueClass::Binary),
            ],
            key: vec!["title".into()],
            indexes: vec![],
            foreign_keys: vec![],
            table_options: String::new(),
        }
    }

    #[test]
    fn a_server_taking_small_statements_gets_small_ones() {
        let sixteen = 16 << 20;
        assert_eq!(statement_budget(sixteen), MAX_STATEMENT_BYTES);
        let one = 1 << 20;
        assert!(statement_budget(one) < one);
        assert_eq!(statement_budget(1024), 0, "then every row goes alone");
        let spec = docs();
        let row = |bytes: usize| vec![Some("x".repeat(bytes)), None];
        assert!(too_big(&spec, &row(1000), one).is_none());
        assert!(too_big(&spec, &row(3 << 20), 4 << 20).is_none());
        let reason = too_big(&spec, &row((4 << 20) - 1000), 4 << 20).expect("the margin counts");
        assert!(
            reason.contains("4.00 MiB in a statement")
                && reason.contains("max_allowed_packet 4.00 MiB, of which 64 KiB"),
            "{reason}"
        );
        assert!(too_big(&spec, &row(sixteen), sixteen).is_some());
    }

    #[test]
    fn a_packet_too_small_for_any_statement_is_named_not_blamed_on_rows() {
        let reason = unusable(32 << 10).expect("32 KiB is refused");
        assert!(
            reason.contains("32768 bytes, below the 128 KiB") && reason.contains("raise it"),
            "{reason}"
        );
        assert!(unusable(MIN_PACKET).is_none());
        assert!(unusable(16 << 20).is_none());
    }

    #[test]
    fn bytes_count_as_bytes_not_as_their_hex() {
        let spec = docs();
        let blob = |hex: String| vec![Some("a".into()), Some(hex)];
        // 3 MiB of bytes, 6 MiB of hex: they go as 3 MiB.
        let three = blob("C3".repeat(3 << 20));
        assert_eq!(image_bytes(&spec, &three), 1 + 8 + (3 << 20) + 8);
        assert!(too_big(&spec, &three, 4 << 20).is_none());
        assert!(too_big(&spec, &blob("C3".repeat(4 << 20)), 4 << 20).is_some());
        // Text that is no even hex goes as text (through `UNHEX(?)`).
        assert_eq!(image_bytes(&spec, &blob("ABC".into())), 1 + 8 + 3 + 8);
        assert_eq!(image_bytes(&spec, &blob("zz".into())), 1 + 8 + 2 + 8);
        assert_eq!(image_bytes(&spec, &[None, None]), 16);
    }
}
