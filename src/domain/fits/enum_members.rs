//! The members of an ENUM or SET type as the server prints it, and the two spellings
//! images use where a member is `''`: an ENUM's error value apart from that member, and a
//! SET's values as numbers.

/// How an image spells an ENUM's error value (index 0, which a permissive `sql_mode`
/// stores for a value not in the list) where `''` is a member too and would mean that
/// member. db_b is given the number 0 for it (`replica::push_value`).
pub const ENUM_ERROR_SPELLING: &str = "\u{0}";

/// Whether `column_type` is a SET with `''` among its members, whose values images spell
/// as their number (`x + 0`): as text, the value holding just that member is `''`, which
/// reads back as the empty set.
pub fn spells_set_by_number(column_type: &str) -> bool {
    // Asked for every value a run writes: a type that is no SET is told apart cheaply.
    let set = column_type
        .get(..4)
        .is_some_and(|head| head.eq_ignore_ascii_case("set("));
    set && members(&column_type.to_ascii_lowercase())
        .iter()
        .any(String::is_empty)
}

/// Whether `column_type` is an ENUM whose error value images spell as
/// [`ENUM_ERROR_SPELLING`]: one with `''` among its members (elsewhere `''` says it).
pub fn spells_enum_error(column_type: &str) -> bool {
    let t = column_type.to_ascii_lowercase();
    if !t.starts_with("enum(") {
        return false;
    }
    let members = members(&t);
    members.iter().any(String::is_empty) && !members.iter().any(|m| m == ENUM_ERROR_SPELLING)
}

/// Whether an ENUM of `members` takes `text`: a member, or its error value (`''`, or
/// [`ENUM_ERROR_SPELLING`] where `''` is a member).
pub(super) fn enum_takes(members: &[String], text: &str) -> bool {
    text.is_empty()
        || members.iter().any(|m| m.eq_ignore_ascii_case(text))
        || (text == ENUM_ERROR_SPELLING && members.iter().any(String::is_empty))
}

/// The members of `enum('a','b''c')`, quotes undone.
pub(super) fn members(column_type: &str) -> Vec<String> {
    let Some(inner) = column_type
        .split_once('(')
        .and_then(|(_, rest)| rest.rsplit_once(')'))
        .map(|(inner, _)| inner)
    else {
        return Vec::new();
    };
    let mut members = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('\'', false) => quoted = true,
            ('\'', true) if chars.peek() == Some(&'\'') => {
                current.push('\'');
                chars.next();
            }
            ('\'', true) => {
                quoted = false;
                members.push(std::mem::take(&mut current));
            }
            // The server escapes a member as `SHOW CREATE TABLE` does (`'\\'` is `\`).
            ('\\', true) => match chars.next() {
                Some('0') => current.push('\0'),
                Some('n') => current.push('\n'),
                Some('r') => current.push('\r'),
                Some('Z') => current.push('\u{1a}'),
                Some(other) => current.push(other),
                None => {}
            },
            (c, true) => current.push(c),
            _ => {}
        }
    }
    members
}

#[cfg(test)]
mod tests {
    use super::{ENUM_ERROR_SPELLING, spells_enum_error};
    use crate::domain::fits::fits;

    #[test]
    fn enum_members_are_read_as_the_server_escapes_them() {
        // `ENUM('\\', 'a''b', 'x\ny')` as COLUMN_TYPE prints it.
        let column_type = r"enum('\\','a''b','x\ny')";
        for member in ["\\", "a'b", "x\ny"] {
            assert!(fits(column_type, None, member).is_ok(), "{member:?}");
        }
        assert!(fits(column_type, None, r"\\").is_err());
    }

    #[test]
    fn the_enum_error_value_is_spelled_apart_only_beside_an_empty_member() {
        assert!(spells_enum_error("enum('a','','b')"));
        assert!(!spells_enum_error("enum('a','b')"));
        assert!(!spells_enum_error("set('','a')"));
        assert!(!spells_enum_error("varchar(10)"));
        assert!(fits("enum('a','','b')", None, ENUM_ERROR_SPELLING).is_ok());
    }
}
