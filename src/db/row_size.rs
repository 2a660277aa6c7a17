//! A row's size as both databases can tell it cheaply: characters of its text and bytes of
//! its binary values, in the columns that can be wide. Rows of different sizes differ, so
//! the initial load reads db_b's values only where the sizes agree.

use crate::db::quote_ident;
use crate::domain::table::{ColumnSpec, TableSpec, ValueClass};

/// `CHAR_LENGTH` of a row's text columns (JSON and LONGTEXT included) and `LENGTH` of its
/// binary ones that can be wide, added up: rows whose sizes differ differ, and a size is a
/// few bytes to send where the values may be megabytes (the server still reads them). A
/// size that came out different for equal values would only have a row rewritten
/// needlessly.
pub(crate) fn size_expr(spec: &TableSpec) -> String {
    let parts: Vec<String> = spec
        .image_columns()
        .filter(|c| may_be_wide(c))
        .filter_map(|c| {
            let x = quote_ident(&c.name);
            match c.class {
                _ if let Some(charset) = c.bytes_charset() => {
                    Some(format!("COALESCE(LENGTH(CONVERT({x} USING {charset})), 0)"))
                }
                ValueClass::Text | ValueClass::CastText => {
                    Some(format!("COALESCE(CHAR_LENGTH({x}), 0)"))
                }
                ValueClass::Binary => Some(format!("COALESCE(LENGTH({x}), 0)")),
                _ => None,
            }
        })
        .collect();
    format!(
        "CAST(0 {} AS UNSIGNED)",
        parts.iter().map(|p| format!("+ {p}")).collect::<String>()
    )
}

/// Whether a column can hold more than about a kilobyte: every type but `char`, `varchar`,
/// `binary` and `varbinary` of up to 1 024 and `enum`/`set` (their sizes are not worth
/// the server's time).
fn may_be_wide(column: &ColumnSpec) -> bool {
    let column_type = column.column_type.to_ascii_lowercase();
    let Some((name, rest)) = column_type.split_once('(') else {
        return !matches!(column_type.as_str(), "char" | "binary");
    };
    let length: Option<u32> = rest.split(')').next().and_then(|n| n.parse().ok());
    match name {
        "enum" | "set" => false,
        "char" | "varchar" | "binary" | "varbinary" => length.is_none_or(|n| n > 1024),
        _ => true,
    }
}

/// What [`size_expr`] gives for an image's values (aligned with
/// [`TableSpec::image_columns`]): characters of text, bytes of hex.
pub fn image_size(spec: &TableSpec, values: &[Option<String>]) -> u64 {
    spec.image_columns()
        .zip(values)
        .filter(|(column, _)| may_be_wide(column))
        .map(|(column, value)| match (column.class, value) {
            // Text that travels as bytes: its bytes in db_a's set.
            (ValueClass::Text | ValueClass::CastText, Some(hex))
                if column.bytes_charset().is_some() =>
            {
                (hex.len() / 2) as u64
            }
            (ValueClass::Text | ValueClass::CastText, Some(text)) => text.chars().count() as u64,
            (ValueClass::Binary, Some(hex)) => (hex.len() / 2) as u64,
            _ => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::{image_size, may_be_wide};
    use crate::domain::table::{ColumnSpec, TableSpec, ValueClass};

    fn column(name: &str, column_type: &str, class: ValueClass) -> ColumnSpec {
        ColumnSpec::plain(name, column_type, class)
    }

    #[test]
    fn only_columns_that_can_be_wide_count_toward_a_rows_size() {
        let wide = |t: &str| may_be_wide(&column("c", t, ValueClass::Text));
        assert!(!wide("varchar(100)") && !wide("char(10)") && !wide("enum('a','b')"));
        assert!(!wide("varbinary(1024)") && !wide("set('x')"));
        assert!(wide("varchar(2000)") && wide("text") && wide("longblob") && wide("json"));
        let spec = TableSpec {
            name: "docs".into(),
            columns: vec![
                column("id", "int(11)", ValueClass::Integer),
                column("title", "varchar(20)", ValueClass::Text),
                column("note", "text", ValueClass::Text),
                column("meta", "longtext", ValueClass::CastText),
                column("body", "blob", ValueClass::Binary),
            ],
            key: vec!["id".into()],
            indexes: vec![],
            foreign_keys: vec![],
            table_options: String::new(),
        };
        let values = [
            Some("7".to_string()),
            Some("ignored".to_string()),
            Some("crème".to_string()),
            Some("{\"a\":1}".to_string()),
            Some("00FF10".to_string()),
        ];
        // Characters of text (5 + 7), bytes of hex (3); the short title does not count.
        assert_eq!(image_size(&spec, &values), 15);
        assert_eq!(image_size(&spec, &[None, None, None, None, None]), 0);
    }
}
