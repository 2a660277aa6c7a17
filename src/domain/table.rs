//! What dbsync knows about a synced table: its columns, how each column's values travel in a
//! row image, its key, unique keys and foreign keys. Read from db_a's `information_schema`
//! by `db::catalog`, stored in db_a's `sync_tables` by `dbsync init`, used by the engine.

use serde::{Deserialize, Serialize};

/// How a column's value is written in a row image and bound back in db_b. Every class is
/// exact: the image holds the value's full text (or hex bytes), never a float rounding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueClass {
    /// TINYINT … BIGINT, signed or not: a JSON number.
    Integer,
    /// DECIMAL(p, s): its text; checked against p and s before it is applied.
    Decimal { precision: u32, scale: u32 },
    /// FLOAT, widened to DOUBLE for its text so no digit is lost.
    Float,
    /// DOUBLE: the shortest text that reads back as the same double.
    Double,
    /// BIT(n): the value in hex.
    Bit,
    /// DATE, DATETIME(p), TIME(p), YEAR: the server's text, zero and partial dates included.
    Temporal { fraction_digits: u32 },
    /// TIMESTAMP(p): seconds since the epoch, so writers in any session time zone agree.
    Timestamp { fraction_digits: u32 },
    /// CHAR, VARCHAR, TEXT, ENUM, SET and types the server spells as text (INET6, UUID…).
    Text,
    /// JSON and LONGTEXT: cast to text so a JSON column is never embedded as an object.
    CastText,
    /// BINARY, VARBINARY, BLOB, GEOMETRY: the bytes in hex.
    Binary,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnSpec {
    pub name: String,
    /// The full column type as the server prints it (`decimal(10,2) unsigned`).
    pub column_type: String,
    /// The column's definition as `SHOW CREATE TABLE` prints it after the name, without
    /// `AUTO_INCREMENT` (db_b copies ids, never makes them): type, character set, NULL,
    /// default, generation.
    pub definition: String,
    pub class: ValueClass,
    pub nullable: bool,
    /// Generated (stored or virtual): never in an image; db_b computes its own.
    pub generated: bool,
    /// `ON UPDATE CURRENT_TIMESTAMP`: the capture trigger compares the stored value instead
    /// of NEW (which shows the new time even when the row is left as it was).
    pub on_update_now: bool,
    /// The collation of a text column (`utf8mb4_unicode_ci`); `None` for other types.
    #[serde(default)]
    pub collation: Option<String>,
}

/// `definition` without ` DEFAULT nextval(…)` / ` DEFAULT lastval(…)`, as `SHOW CREATE
/// TABLE` prints a default drawn from a sequence.
fn without_sequence_default(definition: &str) -> String {
    // SHOW CREATE TABLE prints the default before any COMMENT, whose text may say anything.
    let lower = definition.to_ascii_lowercase();
    let head = lower
        .find(" comment '")
        .map_or(lower.as_str(), |at| &lower[..at]);
    let Some(start) = [" default nextval(", " default lastval("]
        .iter()
        .find_map(|call| head.find(call))
    else {
        return definition.to_string();
    };
    // The call ends at the first `)` outside a quoted name.
    let mut quoted = false;
    let open = start + lower[start..].find('(').unwrap_or(0);
    for (at, c) in definition[open..].char_indices() {
        match c {
            '`' => quoted = !quoted,
            ')' if !quoted => {
                let end = open + at + 1;
                return format!("{}{}", &definition[..start], &definition[end..]);
            }
            _ => {}
        }
    }
    definition.to_string()
}

#[cfg(test)]
mod sequence_default_tests {
    #[test]
    fn a_default_drawn_from_a_sequence_is_left_out() {
        let cut = super::without_sequence_default;
        assert_eq!(
            cut("bigint(20) DEFAULT nextval(`shop`.`sq`) COMMENT 'x'"),
            "bigint(20) COMMENT 'x'"
        );
        assert_eq!(
            cut("bigint(20) NOT NULL DEFAULT nextval(`a)b`.`s`)"),
            "bigint(20) NOT NULL"
        );
        assert_eq!(cut("int(11) DEFAULT 5"), "int(11) DEFAULT 5");
        let commented = "int(11) DEFAULT 5 COMMENT 'was DEFAULT nextval(`s`)'";
        assert_eq!(cut(commented), commented);
    }
}

#[cfg(test)]
impl ColumnSpec {
    /// A nullable column of `column_type`, nothing else set: for unit tests.
    pub fn plain(name: &str, column_type: &str, class: ValueClass) -> Self {
        ColumnSpec {
            name: name.into(),
            column_type: column_type.into(),
            definition: String::new(),
            class,
            nullable: true,
            generated: false,
            on_update_now: false,
            collation: None,
        }
    }
}

/// The character set a collation belongs to (`utf8mb4` of `utf8mb4_unicode_ci`).
pub fn charset_of(collation: &str) -> &str {
    collation.split('_').next().unwrap_or(collation)
}

/// Whether a collation ignores trailing spaces (PAD SPACE, MariaDB's usual kind): not a
/// `nopad` one, nor one of MySQL 8's `0900` ones.
pub fn collation_pads_spaces(collation: &str) -> bool {
    !collation.contains("nopad") && !collation.contains("0900")
}

impl ColumnSpec {
    /// The column's character set (`utf8mb4` of `utf8mb4_unicode_ci`); `None` for a column
    /// that holds no text.
    pub fn charset(&self) -> Option<&str> {
        self.collation.as_deref().map(charset_of)
    }

    /// The character set of a text column whose values travel as their bytes (in hex)
    /// instead of as UTF-8 text: one whose values do not all survive a trip through
    /// utf8mb4 and back (sjis and cp932 change a backslash, ascii and cp1251 hold bytes
    /// with no Unicode character, and two such sets in one `JSON_OBJECT` fail the write).
    /// Unicode sets and latin1 make the trip exactly and stay text. An ENUM with an `''`
    /// member stays text too: its error value is spelled apart from that member as text.
    pub fn bytes_charset(&self) -> Option<&str> {
        const AS_TEXT: [&str; 8] = [
            "utf8mb4", "utf8mb3", "utf8", "latin1", "ucs2", "utf16", "utf16le", "utf32",
        ];
        // Asked for every value a run writes: the common answers come first and cheaply.
        if !matches!(self.class, ValueClass::Text | ValueClass::CastText) {
            return None;
        }
        let charset = self.charset()?;
        if AS_TEXT.contains(&charset) || charset == "binary" || charset.is_empty() {
            return None;
        }
        let plain = charset.bytes().all(|b| b.is_ascii_alphanumeric());
        (plain && !crate::domain::fits::spells_enum_error(&self.column_type)).then_some(charset)
    }

    /// The definition with its character set and collation spelled out: `SHOW CREATE
    /// TABLE` leaves them out where they are the table's, and db_b's table may have
    /// another default.
    ///
    /// A default drawn from a sequence is left out: the sequence is db_a's (`SHOW CREATE
    /// TABLE` names it with db_a's database), and every value reaches db_b in the images.
    pub fn explicit_definition(&self) -> String {
        let definition = without_sequence_default(&self.definition);
        let (Some(charset), Some(collation)) = (self.charset(), self.collation.as_deref()) else {
            return definition;
        };
        let upper = definition.to_ascii_uppercase();
        if upper.contains(" COLLATE ") || upper.contains(" CHARACTER SET ") {
            return definition;
        }
        let type_len = self.column_type.len();
        match definition.get(..type_len) {
            Some(head) if head.eq_ignore_ascii_case(&self.column_type) => format!(
                "{head} CHARACTER SET {charset} COLLATE {collation}{}",
                &definition[type_len..]
            ),
            _ => definition,
        }
    }

    /// The definition with this character set and collation instead of its own (which
    /// `SHOW CREATE TABLE` prints right after the type, when it prints them); `None` when
    /// the definition does not start with the column's type.
    pub fn definition_in(&self, charset: &str, collation: &str) -> Option<String> {
        self.definition_as(&self.column_type, charset, collation)
    }

    /// [`Self::definition_in`], of another type of the same family (a larger TEXT).
    pub fn definition_as(
        &self,
        column_type: &str,
        charset: &str,
        collation: &str,
    ) -> Option<String> {
        let definition = without_sequence_default(&self.definition);
        let type_len = self.column_type.len();
        let head = definition
            .get(..type_len)
            .filter(|head| head.eq_ignore_ascii_case(&self.column_type))?;
        let mut rest = &definition[type_len..];
        loop {
            let upper = rest.to_ascii_uppercase();
            let clause = [" CHARACTER SET ", " COLLATE "]
                .into_iter()
                .find(|clause| upper.starts_with(clause));
            let Some(clause) = clause else { break };
            let after = &rest[clause.len()..];
            rest = &after[after.find(' ').unwrap_or(after.len())..];
        }
        let head = if head.eq_ignore_ascii_case(column_type) {
            head
        } else {
            column_type
        };
        Some(format!(
            "{head} CHARACTER SET {charset} COLLATE {collation}{rest}"
        ))
    }

    /// A text column whose collation calls different strings equal (`a` = `A` = `á`, or
    /// `q` = `q ` in any PAD SPACE collation, `_bin` ones included): as a key, its identity
    /// is its collation weight, not its bytes, so it matches what `WHERE key = …` finds.
    pub fn compares_loosely(&self) -> bool {
        matches!(self.class, ValueClass::Text | ValueClass::CastText)
            && self
                .collation
                .as_deref()
                .is_some_and(|c| !c.ends_with("_bin") || self.pads_spaces())
    }

    /// The most bytes this column can take in a record's identity (`record_key`): a
    /// weight's hash for a loose text column, the value (its hex for bytes) otherwise.
    /// `None` when the type sets no bound (a TEXT or BLOB prefix key).
    pub fn max_identity_bytes(&self) -> Option<usize> {
        let width = crate::domain::fits::declared_width(&self.column_type);
        match self.class {
            _ if self.compares_loosely() => Some(66),
            // UUID, INET4/6, YEAR, ZEROFILL integers: short text of a fixed shape.
            ValueClass::CastText if self.collation.is_none() => Some(72),
            // Hex of at most four bytes a character, inside `{"set": "…"}`.
            _ if self.bytes_charset().is_some() => width.map(|n| n * 8 + 24),
            // Up to six bytes a character in JSON (`\u0001`), two more for the quotes.
            ValueClass::Text | ValueClass::CastText => width.map(|n| n * 6 + 2),
            ValueClass::Binary => width.map(|n| n * 2 + 2),
            _ => Some(72),
        }
    }

    /// A collation that ignores trailing spaces (PAD SPACE, MariaDB's usual kind).
    pub fn pads_spaces(&self) -> bool {
        self.collation.as_deref().is_some_and(collation_pads_spaces)
    }

    /// `BIGINT UNSIGNED` reaches 18446744073709551615, beyond the queue's signed `record_id`.
    pub fn is_unsigned_bigint(&self) -> bool {
        let t = self.column_type.to_ascii_lowercase();
        t.starts_with("bigint") && t.contains("unsigned")
    }

    /// A column of one of the GEOMETRY types.
    pub fn is_geometry(&self) -> bool {
        is_geometry_type(&self.column_type.to_ascii_lowercase())
    }
}

/// One of the server's GEOMETRY types, by its lower-case name.
pub fn is_geometry_type(name: &str) -> bool {
    matches!(
        name,
        "geometry"
            | "point"
            | "linestring"
            | "polygon"
            | "multipoint"
            | "multilinestring"
            | "multipolygon"
            | "geometrycollection"
    )
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexSpec {
    pub name: String,
    pub unique: bool,
    /// Column names in index order, with a prefix length where the index has one.
    pub columns: Vec<(String, Option<u32>)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignKeySpec {
    pub name: String,
    pub columns: Vec<String>,
    pub parent_table: String,
    pub parent_columns: Vec<String>,
    /// `RESTRICT`, `CASCADE`, … as the server prints them.
    pub on_delete: String,
    pub on_update: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSpec {
    pub name: String,
    /// Every column in ordinal order, generated ones included (flagged).
    pub columns: Vec<ColumnSpec>,
    /// Primary key column names, in key order.
    pub key: Vec<String>,
    /// Secondary indexes (unique or not), not the primary key.
    pub indexes: Vec<IndexSpec>,
    pub foreign_keys: Vec<ForeignKeySpec>,
    /// `ENGINE=… DEFAULT CHARSET=… COLLATE=…` options for db_b's copy.
    pub table_options: String,
}

impl TableSpec {
    pub fn column(&self, name: &str) -> Option<&ColumnSpec> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Whether a column is called `name` (column names compare without case in MySQL).
    pub fn has_column_named(&self, name: &str) -> bool {
        self.columns
            .iter()
            .any(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// Columns a row image carries: every column but the generated ones.
    pub fn image_columns(&self) -> impl Iterator<Item = &ColumnSpec> {
        self.columns.iter().filter(|c| !c.generated)
    }

    pub fn key_columns(&self) -> impl Iterator<Item = &ColumnSpec> {
        self.key.iter().filter_map(|name| self.column(name))
    }

    /// True when the key is one integer column that fits the queue's signed `record_id`.
    pub fn has_integer_key(&self) -> bool {
        matches!(self.key.as_slice(), [only] if self.column(only).is_some_and(|c| {
            c.class == ValueClass::Integer && !c.is_unsigned_bigint()
        }))
    }

    /// The most bytes a record's identity can take in `record_key`, when it is used (keys
    /// other than one integer column); `None` when no bound is known.
    pub fn max_record_key_bytes(&self) -> Option<usize> {
        if self.has_integer_key() {
            return Some(0);
        }
        let mut total = 2 + self.key.len().saturating_sub(1) * 2;
        for column in self.key_columns() {
            total += column.max_identity_bytes()?;
        }
        Some(total)
    }

    /// A column of the primary key or of a unique index: its collation decides which
    /// records are equal.
    pub fn in_unique_key(&self, column: &str) -> bool {
        self.is_key_column(column)
            || self
                .indexes
                .iter()
                .filter(|i| i.unique)
                .any(|i| i.columns.iter().any(|(name, _)| name == column))
    }

    pub fn has_unique_secondary_key(&self) -> bool {
        self.indexes.iter().any(|i| i.unique)
    }

    pub fn is_key_column(&self, name: &str) -> bool {
        self.key.iter().any(|k| k == name)
    }
}
