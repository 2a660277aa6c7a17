use super::{KeyUse, holds_alike, holds_text, is_widening, same_type};

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
        ("int(10) unsigned", "bigint(20)"),
        ("smallint(5) unsigned", "int(11)"),
        ("int(5) unsigned zerofill", "int(8) unsigned zerofill"),
        ("bit(8)", "bit(16)"),
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
        ("int(10) unsigned", "int(11)"),
        ("int(8) unsigned zerofill", "int(5) unsigned zerofill"),
        ("bigint(20) unsigned", "bigint(20)"),
        ("bit(16)", "bit(8)"),
    ] {
        assert!(!is_widening(old, new), "{old} -> {new}");
    }
}

#[test]
fn a_zerofill_width_is_part_of_the_type() {
    assert!(same_type("int(11)", "int(10)"));
    assert!(!same_type(
        "int(5) unsigned zerofill",
        "int(8) unsigned zerofill"
    ));
}

#[test]
fn narrowings_db_b_need_not_follow() {
    for (central, live) in [
        ("varchar(50)", "varchar(10)"),
        ("text", "varchar(100)"),
        ("bigint(20)", "int(11)"),
        ("enum('a','b','c')", "enum('a','b')"),
        ("blob", "varbinary(10)"),
        ("decimal(14,2)", "decimal(10,2)"),
        ("decimal(14,2) unsigned", "decimal(10,2) unsigned"),
        ("bit(8)", "bit(4)"),
        ("bit(64)", "bit(1)"),
    ] {
        assert!(holds_alike(central, live), "{central} holds {live}");
    }
    for (central, live) in [
        ("decimal(12,4)", "decimal(12,2)"),
        ("decimal(14,4)", "decimal(10,2)"),
        ("bigint(20) unsigned zerofill", "int(5) unsigned zerofill"),
        ("int(8) unsigned zerofill", "int(5) unsigned zerofill"),
        ("decimal(14,2)", "decimal(10,2) unsigned"),
        ("datetime(6)", "datetime"),
        ("binary(8)", "binary(4)"),
        ("double", "float"),
        ("varchar(10)", "varchar(50)"),
        ("enum('a','c')", "enum('a','b')"),
        ("bit(4)", "bit(8)"),
        ("tinyint(4)", "bit(8)"),
    ] {
        assert!(
            !holds_alike(central, live),
            "{central} does not hold {live} alike"
        );
    }
}

#[test]
fn text_a_copy_holds_and_not() {
    let ci = Some("utf8mb4_general_ci");
    let holds = |theirs: (&str, Option<&str>), ours: (&str, Option<&str>), unique| {
        let key = if unique {
            KeyUse::Primary
        } else {
            KeyUse::None
        };
        holds_text(theirs, ours, key)
    };
    assert!(holds(("text", ci), ("text", ci), false));
    assert!(holds(
        ("text", ci),
        ("text", Some("utf8mb3_general_ci")),
        false
    ));
    assert!(holds(
        ("text", Some("latin1_swedish_ci")),
        ("text", Some("ascii_general_ci")),
        false
    ));
    assert!(holds(
        ("mediumtext", ci),
        ("text", Some("latin1_swedish_ci")),
        false
    ));
    assert!(!holds(
        ("text", ci),
        ("text", Some("latin1_swedish_ci")),
        false
    ));
    assert!(!holds(
        ("text", ci),
        ("text", Some("utf16_general_ci")),
        false
    ));
    assert!(!holds(("tinytext", ci), ("varchar(100)", ci), false));
    assert!(!holds(
        ("varchar(10)", Some("latin1_swedish_ci")),
        ("varchar(10)", ci),
        false
    ));
    assert!(!holds(
        ("varchar(10)", ci),
        ("varchar(10)", Some("utf8mb4_bin")),
        true
    ));
    assert!(holds(
        ("varchar(10)", ci),
        ("varchar(10)", Some("utf8mb4_bin")),
        false
    ));
    assert!(holds(
        ("varchar(10)", Some("utf8_general_ci")),
        ("varchar(10)", Some("utf8mb3_general_ci")),
        true
    ));
}

#[test]
fn a_unique_key_in_db_b_may_tell_apart_more_than_db_a_but_not_a_primary_key() {
    let text = |collation| ("varchar(10)", Some(collation));
    let (bin, ci) = (text("utf8mb4_bin"), text("utf8mb4_unicode_ci"));
    assert!(holds_text(bin, ci, KeyUse::Unique));
    assert!(holds_text(bin, text("latin1_swedish_ci"), KeyUse::Unique));
    assert!(holds_text(text("utf8mb4_nopad_bin"), ci, KeyUse::Unique));
    assert!(
        !holds_text(bin, ci, KeyUse::Primary),
        "`a`, `A`: one row on db_a"
    );
    assert!(
        !holds_text(ci, bin, KeyUse::Unique),
        "db_b would refuse `A` beside `a`"
    );
    assert!(
        !holds_text(bin, text("utf8mb4_nopad_bin"), KeyUse::Unique),
        "db_b would refuse `a ` beside `a`"
    );
}
