use super::values::{Comparison, prefix_of};
use super::*;
use crate::domain::Operation;
use crate::domain::table::{ColumnSpec, ForeignKeySpec, IndexSpec, ValueClass};
use std::sync::Arc;

fn spec(name: &str, columns: &[&str], unique: &[&str], parent: Option<&str>) -> TableSpec {
    TableSpec {
        name: name.into(),
        columns: columns
            .iter()
            .map(|c| ColumnSpec {
                name: (*c).into(),
                column_type: String::new(),
                definition: String::new(),
                class: ValueClass::Text,
                nullable: true,
                generated: false,
                on_update_now: false,
                collation: None,
            })
            .collect(),
        key: vec![columns[0].into()],
        indexes: unique
            .iter()
            .map(|c| IndexSpec {
                name: format!("{c}_unique"),
                unique: true,
                columns: vec![((*c).into(), None)],
            })
            .collect(),
        foreign_keys: parent
            .iter()
            .map(|p| ForeignKeySpec {
                name: format!("{name}_{p}"),
                columns: vec![columns[1].into()],
                parent_table: (*p).into(),
                parent_columns: vec!["id".into()],
                on_delete: "CASCADE".into(),
                on_update: "RESTRICT".into(),
            })
            .collect(),
        table_options: String::new(),
    }
}

fn change(table: usize, spec: &Arc<TableSpec>, values: &[Option<&str>]) -> Change {
    let values: Vec<Option<String>> = values.iter().map(|v| v.map(String::from)).collect();
    Change {
        queue_id: 1,
        table,
        spec: spec.clone(),
        record: values[0].clone().unwrap_or_default(),
        operation: Operation::Update,
        retry_count: 0,
        action: Action::Upsert {
            present: vec![true; values.len()],
            values,
        },
        fingerprint: 0,
    }
}

fn delete(table: usize, spec: &Arc<TableSpec>, key: &str) -> Change {
    Change {
        operation: Operation::Delete,
        action: Action::Delete {
            key: vec![Some(key.into())],
        },
        ..change(table, spec, &[Some(key)])
    }
}

#[test]
fn a_change_waits_for_the_held_record_it_refers_to_or_the_value_it_takes() {
    let tables = Tables::new(vec![
        spec("users", &["id", "email"], &["email"], None),
        spec("orders", &["id", "user_id"], &[], Some("users")),
    ]);
    let (users, orders) = (tables.get(0).unwrap(), tables.get(1).unwrap());
    let mut holds = Holds::default();
    holds.add(delete(0, users, "4"), &tables);
    holds.add(change(0, users, &[Some("5"), Some("Tmp@x.io ")]), &tables);
    assert!(holds.must_wait(&change(1, orders, &[Some("21"), Some("4")])));
    assert!(!holds.must_wait(&change(1, orders, &[Some("22"), Some("3")])));
    assert!(
        !holds.must_wait(&change(1, orders, &[Some("23"), None])),
        "NULL refers to nothing"
    );
    assert!(holds.must_wait(&change(0, users, &[Some("6"), Some("tmp@x.io")])));
    assert!(!holds.must_wait(&change(0, users, &[Some("7"), Some("other@x.io")])));
    assert!(
        !holds.must_wait(&delete(1, orders, "21")),
        "a delete relies on no parent"
    );
    assert!(!holds.must_wait(&delete(0, users, "6")));
    holds.add(change(1, orders, &[Some("11"), Some("6")]), &tables);
    assert!(
        holds.must_wait(&delete(0, users, "6")),
        "a held order refers to user 6"
    );
    assert!(!holds.must_wait(&delete(0, users, "3")));
    assert!(holds.holds_record(&(1, "11".into())));
}

#[test]
fn a_reference_by_a_unique_column_makes_every_change_of_its_table_wait() {
    let mut by_email = spec("orders", &["id", "user_email"], &[], Some("users"));
    by_email.foreign_keys[0].parent_columns = vec!["email".into()];
    let tables = Tables::new(vec![
        spec("users", &["id", "email"], &["email"], None),
        by_email,
    ]);
    let (users, orders) = (tables.get(0).unwrap(), tables.get(1).unwrap());
    let mut holds = Holds::default();
    holds.add(change(1, orders, &[Some("10"), Some("a@x.io")]), &tables);
    assert!(holds.must_wait(&change(0, users, &[Some("1"), Some("z@x.io")])));
    assert!(holds.must_wait(&delete(0, users, "2")));
    assert!(!holds.must_wait(&change(1, orders, &[Some("11"), None])));
}

#[test]
fn a_delete_is_refused_for_rows_down_any_chain_of_references() {
    let tables = Tables::new(vec![
        spec("customers", &["id"], &[], None),
        spec("invoices", &["id", "customer_id"], &[], Some("customers")),
        spec("items", &["id", "invoice_id"], &[], Some("invoices")),
        spec("notes", &["id"], &[], None),
    ]);
    let mut found = referencing("customers", &tables);
    found.sort();
    assert_eq!(found, ["invoices", "items"]);
    assert!(referencing("notes", &tables).is_empty());
}

#[test]
fn a_unique_prefix_compares_its_first_characters_or_bytes() {
    assert_eq!(prefix_of("https://a.example/1", 10, false), "https://a.");
    assert_eq!(prefix_of("çaçaçaça", 3, false), "çaç");
    assert_eq!(prefix_of("ab", 10, false), "ab");
    assert_eq!(prefix_of("00FF10AB", 2, true), "00FF");
    assert_eq!(prefix_of("00", 2, true), "00");
}

#[test]
fn a_held_value_beyond_printable_ascii_in_a_collated_column_matches_any_value() {
    let mut values = HashMap::new();
    remember(
        &mut values,
        "t",
        &["v".into()],
        &["user@x.io"],
        compared(true),
    );
    let held = &values[&columns_of("t", &["v".into()])];
    assert!(held.matches(&["USER@x.io "]));
    assert!(!held.matches(&["other@x.io"]));
    assert!(
        held.matches(&["søren"]),
        "a value beyond ASCII may be equal"
    );
    remember(&mut values, "t", &["v".into()], &["a😀"], compared(true));
    let held = &values[&columns_of("t", &["v".into()])];
    assert!(held.matches(&["other@x.io"]), "so may any value, then");
    let mut bytes = HashMap::new();
    remember(&mut bytes, "t", &["b".into()], &["a😀"], compared(false));
    let held = &bytes[&columns_of("t", &["b".into()])];
    assert!(!held.matches(&["a😁"]), "a _bin column compares bytes");
}

/// One column compared by collation or not, holding no text as bytes.
fn compared(by_collation: bool) -> Comparison {
    Comparison {
        by_collation: vec![by_collation],
        opaque: false,
    }
}
