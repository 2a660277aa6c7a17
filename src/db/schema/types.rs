//! Comparing column types between db_a and db_b: the same type (integer display widths
//! aside), or a widening every value of the old type survives.

/// Integer display widths differ between servers (`int(11)` / `int`): not a difference.
fn normalize(column_type: &str) -> String {
    let t = column_type.to_ascii_lowercase();
    for int in ["tinyint", "smallint", "mediumint", "int", "bigint"] {
        if let Some(rest) = t.strip_prefix(int)
            && rest.starts_with('(')
            && let Some(close) = rest.find(')')
        {
            return format!("{int}{}", &rest[close + 1..]);
        }
    }
    t
}

pub fn same_type(a: &str, b: &str) -> bool {
    normalize(a) == normalize(b)
}

/// Parses `name(args) rest` into (`name`, args, `rest`).
fn split_type(t: &str) -> (String, Vec<String>, String) {
    let t = normalize(t);
    match (t.find('('), t.find(')')) {
        (Some(open), Some(close)) if open < close => (
            t[..open].to_string(),
            t[open + 1..close]
                .split(',')
                .map(|s| s.trim().to_string())
                .collect(),
            t[close + 1..].trim().to_string(),
        ),
        _ => {
            let mut parts = t.splitn(2, ' ');
            let name = parts.next().unwrap_or_default().to_string();
            (
                name,
                Vec::new(),
                parts.next().unwrap_or_default().trim().to_string(),
            )
        }
    }
}

/// True when every value of type `old` fits in `new` unchanged: a longer string, a larger
/// integer of the same signedness, more decimal digits on both sides of the point, more
/// fraction digits, an ENUM or SET with values added at the end, FLOAT to DOUBLE.
pub fn is_widening(old: &str, new: &str) -> bool {
    const INTS: [&str; 5] = ["tinyint", "smallint", "mediumint", "int", "bigint"];
    const TEXTS: [&str; 4] = ["tinytext", "text", "mediumtext", "longtext"];
    const BLOBS: [&str; 4] = ["tinyblob", "blob", "mediumblob", "longblob"];
    let (old_name, old_args, old_rest) = split_type(old);
    let (new_name, new_args, new_rest) = split_type(new);
    let rank = |list: &[&str], name: &str| list.iter().position(|n| *n == name);
    let number = |args: &[String], i: usize| args.get(i).and_then(|a| a.parse::<u64>().ok());
    match (old_name.as_str(), new_name.as_str()) {
        (o, n) if rank(&INTS, o).is_some() && rank(&INTS, n).is_some() => {
            old_rest == new_rest && rank(&INTS, o) <= rank(&INTS, n)
        }
        ("varchar" | "char", "varchar")
        | ("char", "char")
        | ("varbinary" | "binary", "varbinary") => {
            old_rest == new_rest && number(&old_args, 0) <= number(&new_args, 0)
        }
        ("varchar" | "char", n) if rank(&TEXTS, n).is_some() => old_rest == new_rest,
        (o, n) if rank(&TEXTS, o).is_some() && rank(&TEXTS, n).is_some() => {
            old_rest == new_rest && rank(&TEXTS, o) <= rank(&TEXTS, n)
        }
        ("varbinary" | "binary", n) if rank(&BLOBS, n).is_some() => true,
        (o, n) if rank(&BLOBS, o).is_some() && rank(&BLOBS, n).is_some() => {
            rank(&BLOBS, o) <= rank(&BLOBS, n)
        }
        ("decimal", "decimal") => {
            let (p0, s0) = (
                number(&old_args, 0).unwrap_or(10),
                number(&old_args, 1).unwrap_or(0),
            );
            let (p1, s1) = (
                number(&new_args, 0).unwrap_or(10),
                number(&new_args, 1).unwrap_or(0),
            );
            old_rest == new_rest && s1 >= s0 && p1.saturating_sub(s1) >= p0.saturating_sub(s0)
        }
        ("float", "double") => old_rest == new_rest,
        ("datetime", "datetime") | ("time", "time") | ("timestamp", "timestamp") => {
            number(&old_args, 0).unwrap_or(0) <= number(&new_args, 0).unwrap_or(0)
        }
        ("enum", "enum") | ("set", "set") => {
            old_rest == new_rest && new_args.starts_with(&old_args)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::is_widening;

    #[test]
    fn widenings_and_not() {
        for (old, new) in [
            ("varchar(100)", "varchar(200)"),
            ("int(11)", "bigint(20)"),
            ("int(10) unsigned", "bigint(20) unsigned"),
            ("decimal(10,2)", "decimal(12,2)"),
            ("decimal(10,2)", "decimal(12,4)"),
            ("datetime", "datetime(6)"),
            ("enum('a','b')", "enum('a','b','c')"),
            ("varchar(10)", "text"),
            ("float", "double"),
            ("int(11)", "int"),
        ] {
            assert!(is_widening(old, new), "{old} -> {new}");
        }
        for (old, new) in [
            ("varchar(200)", "varchar(100)"),
            ("bigint(20)", "int(11)"),
            ("int(11)", "int(10) unsigned"),
            ("decimal(10,2)", "decimal(10,3)"),
            ("enum('a','b')", "enum('b','a')"),
            ("text", "varchar(10)"),
            ("int(11)", "varchar(20)"),
        ] {
            assert!(!is_widening(old, new), "{old} -> {new}");
        }
    }
}
