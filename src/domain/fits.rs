//! Whether a value's text fits a column type as the server prints it (`int(10) unsigned`,
//! `varchar(100)`, `enum('a','b')`). db_b takes images in a permissive `sql_mode` (legacy
//! rows hold values strict mode refuses), where a value that does not fit would be clamped
//! or cut in silence: such a value — only a hand-made image can hold one — is refused here.

use crate::domain::table::{ColumnSpec, charset_of};

mod enum_members;
pub use enum_members::{ENUM_ERROR_SPELLING, spells_enum_error, spells_set_by_number};
use enum_members::{enum_takes, members};

/// `Err(what the column takes)` when `text` does not fit `column_type`. `collation` is a
/// text column's: TEXT limits count bytes in the column's character set, which is UTF-8
/// for `utf8…` collations; for any other set, the character count is the least the text
/// can take, so only a value certainly too long is refused.
pub fn fits(column_type: &str, collation: Option<&str>, text: &str) -> Result<(), String> {
    Fit::of(column_type, collation).check(text)
}

/// What a column type takes, parsed once from its text: a run checks every value of every
/// change against it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fit {
    Integer {
        low: i128,
        high: i128,
    },
    /// CHAR(n), VARCHAR(n): characters.
    Chars(usize),
    /// BINARY(n), VARBINARY(n), TINYBLOB…MEDIUMBLOB: bytes, written in hex.
    HexBytes(usize),
    /// TINYTEXT…MEDIUMTEXT: bytes; `per_char` is the fewest bytes a character takes in the
    /// column's set, `None` for UTF-8 (the text's own length).
    TextBytes {
        most: usize,
        per_char: Option<usize>,
    },
    Enum(Vec<String>),
    Set(Vec<String>),
    Date,
    DateTime,
    Time,
    Year,
    /// No limit checked here.
    Any,
}

impl Fit {
    pub fn of(column_type: &str, collation: Option<&str>) -> Fit {
        let t = column_type.to_ascii_lowercase();
        let name = t.split(['(', ' ']).next().unwrap_or_default();
        let width = declared_width(&t);
        match name {
            "tinyint" | "smallint" | "mediumint" | "int" | "bigint" => {
                let bits = match name {
                    "tinyint" => 8,
                    "smallint" => 16,
                    "mediumint" => 24,
                    "int" => 32,
                    _ => 64,
                };
                let (low, high) = if t.contains("unsigned") {
                    (0i128, (1i128 << bits) - 1)
                } else {
                    (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
                };
                Fit::Integer { low, high }
            }
            "char" | "varchar" => width.map_or(Fit::Any, Fit::Chars),
            "binary" | "varbinary" => width.map_or(Fit::Any, Fit::HexBytes),
            "tinytext" | "text" | "mediumtext" => {
                let charset = collation.map(charset_of).unwrap_or("utf8mb4");
                let per_char = match charset {
                    "utf8mb4" | "utf8mb3" | "utf8" => None,
                    "ucs2" | "utf16" | "utf16le" => Some(2),
                    "utf32" => Some(4),
                    _ => Some(1),
                };
                Fit::TextBytes {
                    most: text_limit(name),
                    per_char,
                }
            }
            "tinyblob" | "blob" | "mediumblob" => Fit::HexBytes(text_limit(name)),
            "enum" => Fit::Enum(members(&t)),
            "set" if spells_set_by_number(&t) => Fit::Integer {
                low: 0,
                high: (1i128 << members(&t).len()) - 1,
            },
            "set" => Fit::Set(members(&t)),
            "date" => Fit::Date,
            "datetime" => Fit::DateTime,
            "time" => Fit::Time,
            "year" => Fit::Year,
            _ => Fit::Any,
        }
    }

    /// What `column` takes as its image spells it: text that travels as bytes in hex
    /// ([`ColumnSpec::bytes_charset`]) is checked by its bytes, at most as many as its
    /// characters can take in that set.
    pub fn of_column(column: &ColumnSpec) -> Fit {
        let Some(charset) = column.bytes_charset() else {
            return Fit::of(&column.column_type, column.collation.as_deref());
        };
        let t = column.column_type.to_ascii_lowercase();
        let per_char = match charset {
            "sjis" | "cp932" | "big5" | "gbk" | "gb2312" | "euckr" => 2,
            "ujis" | "eucjpms" => 3,
            "ascii" | "cp1250" | "cp1251" | "cp1256" | "cp1257" | "latin2" | "latin5"
            | "latin7" | "greek" | "hebrew" | "koi8r" | "koi8u" | "dec8" | "cp850" | "cp852"
            | "cp866" | "hp8" | "swe7" | "armscii8" | "keybcs2" | "macce" | "macroman"
            | "geostd8" | "tis620" => 1,
            _ => 4,
        };
        match t.split(['(', ' ']).next().unwrap_or_default() {
            "char" | "varchar" => {
                declared_width(&t).map_or(Fit::Any, |n| Fit::HexBytes(n * per_char))
            }
            name @ ("tinytext" | "text" | "mediumtext") => Fit::HexBytes(text_limit(name)),
            _ => Fit::Any,
        }
    }

    /// `Err(what the column takes)` when `text` does not fit.
    pub fn check(&self, text: &str) -> Result<(), String> {
        match self {
            Fit::Integer { low, high } => match text.parse::<i128>() {
                Ok(v) if (low..=high).contains(&&v) => Ok(()),
                _ => Err(format!("an integer from {low} to {high}")),
            },
            Fit::Chars(n) if text.chars().count() > *n => Err(format!("at most {n} characters")),
            Fit::HexBytes(n) if text.len() / 2 > *n => Err(format!("at most {n} bytes")),
            Fit::TextBytes { most, per_char } => {
                let bytes = per_char.map_or(text.len(), |n| text.chars().count() * n);
                if bytes > *most {
                    Err(format!("at most {most} bytes"))
                } else {
                    Ok(())
                }
            }
            Fit::Enum(members) if !enum_takes(members, text) => {
                Err(format!("one of {}", members.join(", ")))
            }
            Fit::Set(members)
                if !text.is_empty()
                    && !text
                        .split(',')
                        .all(|item| members.iter().any(|m| m.eq_ignore_ascii_case(item))) =>
            {
                Err(format!("a set of {}", members.join(", ")))
            }
            Fit::Date if !is_date(text) => Err("a date from 0000-00-00 to 9999-12-31".into()),
            Fit::DateTime if !is_datetime(text) => {
                Err("a date and time from 0000-00-00 00:00:00 to 9999-12-31 23:59:59".into())
            }
            Fit::Time if !is_time(text) => Err("a time from -838:59:59 to 838:59:59".into()),
            Fit::Year if !is_year(text) => Err("a year from 1901 to 2155, or 0000".into()),
            _ => Ok(()),
        }
    }
}

/// `digits` ASCII digits making a number at most `most`.
fn field(text: &str, digits: std::ops::RangeInclusive<usize>, most: u32) -> bool {
    digits.contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_digit())
        && text.parse::<u32>().is_ok_and(|n| n <= most)
}

/// `YYYY-MM-DD`; zero and partial dates (`2024-00-00`) and days a month lacks
/// (`2024-02-30`) are what legacy writers store under a permissive `sql_mode`.
fn is_date(text: &str) -> bool {
    let mut parts = text.split('-');
    matches!(
        (parts.next(), parts.next(), parts.next(), parts.next()),
        (Some(y), Some(m), Some(d), None)
            if field(y, 4..=4, 9999) && field(m, 2..=2, 12) && field(d, 2..=2, 31)
    )
}

/// `H:MM:SS[.ffffff]` with at most `most_hours` hours, written with `hour_digits` digits.
fn is_clock(text: &str, hour_digits: std::ops::RangeInclusive<usize>, most_hours: u32) -> bool {
    let (clock, fraction) = text.split_once('.').unwrap_or((text, ""));
    let mut parts = clock.split(':');
    fraction.bytes().all(|b| b.is_ascii_digit())
        && matches!(
            (parts.next(), parts.next(), parts.next(), parts.next()),
            (Some(h), Some(m), Some(s), None)
                if field(h, hour_digits, most_hours) && field(m, 2..=2, 59) && field(s, 2..=2, 59)
        )
}

fn is_datetime(text: &str) -> bool {
    text.split_once(' ')
        .is_some_and(|(date, clock)| is_date(date) && is_clock(clock, 2..=2, 23))
}

fn is_time(text: &str) -> bool {
    is_clock(text.strip_prefix('-').unwrap_or(text), 2..=3, 838)
}

fn is_year(text: &str) -> bool {
    text.len() == 4
        && text
            .parse::<u32>()
            .is_ok_and(|y| y == 0 || (1901..=2155).contains(&y))
}

/// The `n` of `varchar(n)`, `binary(n)`, `int(n)`…
pub fn declared_width(column_type: &str) -> Option<usize> {
    column_type
        .split_once('(')
        .and_then(|(_, rest)| rest.split(')').next())
        .and_then(|n| n.parse::<usize>().ok())
}

/// The byte limit of a TEXT or BLOB type (LONG… types are limited by the packet size).
fn text_limit(name: &str) -> usize {
    match name {
        "tinytext" | "tinyblob" => 255,
        "text" | "blob" => 65_535,
        _ => 16_777_215,
    }
}

#[cfg(test)]
mod tests {
    use super::fits;

    #[test]
    fn values_that_fit_and_not() {
        assert!(fits("tinyint(4)", None, "-128").is_ok());
        assert!(fits("tinyint(4)", None, "128").is_err());
        assert!(fits("bigint(20) unsigned", None, "18446744073709551615").is_ok());
        assert!(fits("bigint(20) unsigned", None, "-1").is_err());
        assert!(fits("varchar(3)", None, "Zoë").is_ok());
        assert!(fits("varchar(3)", None, "Zoë!").is_err());
        assert!(fits("varbinary(2)", None, "00FF").is_ok());
        assert!(fits("varbinary(2)", None, "00FF00").is_err());
        assert!(fits("enum('a','it''s')", None, "it's").is_ok());
        assert!(
            fits("enum('a','b')", None, "").is_ok(),
            "the error value legacy writes store"
        );
        assert!(fits("enum('a','b')", None, "c").is_err());
        assert!(fits("set('x','y')", None, "x,y").is_ok());
        assert!(fits("set('x','y')", None, "x,z").is_err());
        assert!(fits("text", None, &"é".repeat(32_767)).is_ok());
        assert!(
            fits("text", None, &"é".repeat(32_768)).is_err(),
            "65535 bytes, not characters"
        );
        assert!(fits("tinyblob", None, &"00".repeat(255)).is_ok());
        assert!(fits("tinyblob", None, &"00".repeat(256)).is_err());
        assert!(fits("longtext", None, &"x".repeat(100_000)).is_ok());
        let latin1 = Some("latin1_swedish_ci");
        assert!(
            fits("text", latin1, &"é".repeat(65_535)).is_ok(),
            "one byte a character in latin1"
        );
        assert!(fits("text", latin1, &"é".repeat(65_536)).is_err());
    }

    #[test]
    fn dates_and_times_in_range_and_not() {
        let valid = [
            ("date", "2024-02-29"),
            ("date", "0000-00-00"),
            ("date", "2024-00-00"),
            ("date", "2024-02-30"),
            ("date", "9999-12-31"),
            ("datetime(6)", "2026-01-01 23:59:59"),
            ("datetime(6)", "0000-00-00 00:00:00"),
            ("datetime(6)", "2026-01-01 00:00:00.123456"),
            ("time(6)", "838:59:59"),
            ("time(6)", "-838:59:59.999999"),
            ("time(6)", "-00:00:01"),
            ("time(6)", "100:00:00.5"),
            ("year(4)", "0000"),
            ("year(4)", "1901"),
            ("year(4)", "2155"),
        ];
        let out_of_range = [
            ("date", "2026-13-01"),
            ("date", "2026-01-32"),
            ("date", "26-01-01"),
            ("date", "2026-1-01"),
            ("date", "2026-01-01 00:00:00"),
            ("datetime", "2026-01-01 25:00:00"),
            ("datetime", "2026-01-01 00:60:00"),
            ("datetime", "2026-01-01 00:00:60"),
            ("datetime", "2026-01-01"),
            ("time", "839:00:00"),
            ("time", "-839:00:00"),
            ("time", "12:60:00"),
            ("time", "1:2:3"),
            ("time", "12:00"),
            ("year(4)", "1900"),
            ("year(4)", "2156"),
            ("year(4)", "99"),
        ];
        for (column_type, value) in valid {
            assert!(
                fits(column_type, None, value).is_ok(),
                "{column_type} {value}"
            );
        }
        for (column_type, value) in out_of_range {
            assert!(
                fits(column_type, None, value).is_err(),
                "{column_type} {value}"
            );
        }
    }
}
