//! How many rows a read asks for next, so that wide rows are never asked for by the
//! thousand: the server would read and send them all, however few the reader keeps. Reads
//! start small and grow fourfold while their rows are light.

use crate::db::queue::READ_BYTES;

/// Rows the first read of a drain or of a table's load asks for.
pub const FIRST_READ: u32 = 64;

/// The next read's row count after one that asked for `asked` rows and got `rows` holding
/// `bytes` in all: four times as many, but at most `most` and about as many as fit in
/// [`READ_BYTES`]. A short read grows too: PENDING rows spread thin over the ids (each read
/// scans a window of ids) must not keep the reads small.
pub fn next_read(asked: u32, rows: usize, bytes: usize, most: u32) -> u32 {
    let most = most.max(1);
    if rows == 0 {
        return asked.clamp(1, most);
    }
    let per_row = (bytes / rows).max(1);
    let fit = u32::try_from(READ_BYTES / per_row).unwrap_or(u32::MAX);
    asked.saturating_mul(4).min(fit).min(most).max(1)
}

#[cfg(test)]
mod tests {
    use super::{FIRST_READ, next_read};
    use crate::db::queue::READ_BYTES;

    #[test]
    fn narrow_rows_grow_to_the_batch_and_wide_ones_to_the_budget() {
        let mut asked = FIRST_READ;
        let mut seen = Vec::new();
        for _ in 0..5 {
            asked = next_read(asked, asked as usize, asked as usize * 150, 2000);
            seen.push(asked);
        }
        assert_eq!(seen, [256, 1024, 2000, 2000, 2000]);
        let mb = 1 << 20;
        assert_eq!(next_read(64, 17, 17 * mb, 2000), (READ_BYTES / mb) as u32);
        assert_eq!(
            next_read(16, 16, 16 * 20 * mb, 2000),
            1,
            "rows over the budget: one"
        );
        assert_eq!(
            next_read(64, 3, 300, 2000),
            256,
            "a short read grows too (PENDING rows spread thin)"
        );
        assert_eq!(next_read(500, 0, 0, 100), 100);
    }
}
