//! The 12-column table of mixed types (`mixed`) and its rows: decimals, doubles, dates with
//! fractions, a nullable TIMESTAMP, text with accents, bytes, an ENUM and JSON. The values
//! are random but reproducible (seeded by id).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub const NAME: &str = "mixed";

pub fn create_sql(table: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS `{table}` (id BIGINT PRIMARY KEY, code VARCHAR(32), qty INT, \
         price DECIMAL(12,4), ratio DOUBLE, flag BOOLEAN, created DATETIME(6), \
         seen TIMESTAMP(3) NULL, note TEXT, data VARBINARY(64), kind ENUM('a','b','c'), meta JSON)"
    )
}

pub const COLUMNS: &str =
    "id, code, qty, price, ratio, flag, created, seen, note, data, kind, meta";

const WORDS: [&str; 8] = [
    "açaí", "order", "crème", "brûlée", "delivery", "naïve", "shop", "Zürich",
];

/// One row as an SQL value list `( … )`.
pub fn row(id: u64) -> String {
    let mut rng = StdRng::seed_from_u64(id);
    let seen = if rng.random_bool(0.2) {
        "NULL".to_string()
    } else {
        format!(
            "'2025-{:02}-{:02} {:02}:{:02}:{:02}.{:03}'",
            rng.random_range(1..=12),
            rng.random_range(1..=28),
            rng.random_range(0..24),
            rng.random_range(0..60),
            rng.random_range(0..60),
            rng.random_range(0..1000)
        )
    };
    let words: Vec<&str> = (0..rng.random_range(2..30))
        .map(|_| WORDS[rng.random_range(0..WORDS.len())])
        .collect();
    let bytes: String = (0..rng.random_range(0..=64))
        .map(|_| format!("{:02x}", rng.random::<u8>()))
        .collect();
    format!(
        "({id},'C-{id:08}',{},{}.{:04},{:e},{},'2024-{:02}-{:02} {:02}:{:02}:{:02}.{:06}',{seen},'{}',X'{bytes}','{}','{{\"n\":{id},\"tags\":[\"x\",\"y\"],\"ok\":{}}}')",
        rng.random_range(-1000..100_000),
        rng.random_range(0..99_999_999u64),
        rng.random_range(0..10_000),
        rng.random::<f64>() * 1e6,
        u8::from(rng.random_bool(0.5)),
        rng.random_range(1..=12),
        rng.random_range(1..=28),
        rng.random_range(0..24),
        rng.random_range(0..60),
        rng.random_range(0..60),
        rng.random_range(0..1_000_000),
        words.join(" "),
        ["a", "b", "c"][rng.random_range(0..3)],
        rng.random_bool(0.5),
    )
}

/// A change to every column but the key, for the UPDATEs of the mix.
pub fn update_set() -> &'static str {
    "qty = qty + 1, price = price + 1, ratio = ratio * 1.5, flag = NOT flag, \
     created = created + INTERVAL 1 SECOND, note = CONCAT(note, ' *'), \
     kind = IF(kind = 'a', 'b', 'a'), meta = JSON_SET(meta, '$.ok', false)"
}

#[cfg(test)]
mod tests {
    #[test]
    fn rows_are_reproducible() {
        assert_eq!(super::row(7), super::row(7));
        assert!(super::row(7).starts_with("(7,'C-00000007',"));
    }
}
