use super::*;
use crate::domain::table::{ColumnSpec, TableSpec, ValueClass};

fn column(name: &str, class: ValueClass) -> ColumnSpec {
    ColumnSpec {
        name: name.into(),
        column_type: String::new(),
        definition: String::new(),
        class,
        nullable: false,
        generated: false,
        on_update_now: false,
        collation: None,
    }
}

fn tables() -> Tables {
    let orders = TableSpec {
        name: "orders".into(),
        columns: vec![
            column("id", ValueClass::Integer),
            column("user_id", ValueClass::Integer),
            column(
                "amount",
                ValueClass::Decimal {
                    precision: 10,
                    scale: 2,
                },
            ),
            column("status", ValueClass::Text),
            column("updated_at", ValueClass::Temporal { fraction_digits: 6 }),
        ],
        key: vec!["id".into()],
        indexes: vec![],
        foreign_keys: vec![],
        table_options: String::new(),
    };
    let lines = TableSpec {
        name: "order_lines".into(),
        columns: vec![
            column("order_id", ValueClass::Integer),
            column("sku", ValueClass::Text),
            column("photo", ValueClass::Binary),
        ],
        key: vec!["order_id".into(), "sku".into()],
        indexes: vec![],
        foreign_keys: vec![],
        table_options: String::new(),
    };
    Tables::new(vec![orders, lines])
}

fn raw(
    table: &str,
    op: &str,
    record_id: Option<i64>,
    key: Option<&str>,
    payload: Option<&str>,
) -> QueuedChange {
    QueuedChange {
        id: 7,
        table_name: table.into(),
        record_id,
        record_key: key.map(|k| k.as_bytes().to_vec()),
        operation: op.into(),
        payload: payload.map(Into::into),
        retry_count: 0,
        due: 1,
        created_at: "2026-01-01 00:00:00.000000".into(),
    }
}

const ORDER: &str = r#"{"id": 3, "user_id": 1, "amount": "0.30", "status": "shipped", "updated_at": "2026-01-02 03:04:05.123456"}"#;

#[test]
fn decodes_row_images_exactly() {
    let change = decode(
        &raw("orders", "UPDATE", Some(3), None, Some(ORDER)),
        &tables(),
    )
    .unwrap();
    let Action::Upsert { values, present } = change.action else {
        panic!("not an upsert")
    };
    assert_eq!(values[2].as_deref(), Some("0.30"));
    assert_eq!(values[4].as_deref(), Some("2026-01-02 03:04:05.123456"));
    assert!(present.iter().all(|p| *p));
    assert_eq!(change.record, "3");
}

#[test]
fn images_are_read_by_column_name_in_any_order() {
    // Keys out of order, one the table no longer has (any JSON), one spelled with an
    // escape, one given twice (the last counts, as for any JSON reader); no updated_at.
    let payload = r#"{"status": "pending", "gone": [1, {"x": "}"}], "id": 3,
        "user_\u0069d": 1, "amount": "9.99", "amount": "0.30"}"#;
    let change = decode(
        &raw("orders", "UPDATE", Some(3), None, Some(payload)),
        &tables(),
    )
    .unwrap();
    let Action::Upsert { values, present } = change.action else {
        panic!("not an upsert")
    };
    let text = |v: &str| Some(v.to_string());
    assert_eq!(
        values[..4],
        [text("3"), text("1"), text("0.30"), text("pending")]
    );
    assert_eq!(present, [true, true, true, true, false]);
    // Under a key the table does not have too, a value no JSON reader holds is unreadable.
    let deep = format!(
        r#"{{"id": 3, "gone": {}1{}}}"#,
        "[".repeat(200),
        "]".repeat(200)
    );
    let unheld = [
        r#"{"id": 3, "gone": 1e400}"#,
        r#"{"id": 3, "gone": "\ud800"}"#,
        &deep,
    ];
    let malformed = ["[1, 2]", "3", "", r#"{"id": 3} {"id": 4}"#, r#"{"id": 3"#];
    for bad in malformed.into_iter().chain(unheld) {
        let err = decode(
            &raw("orders", "UPDATE", Some(3), None, Some(bad)),
            &tables(),
        );
        assert!(
            err.as_ref()
                .is_err_and(|e| e.starts_with("unreadable payload")),
            "{bad}: {err:?}"
        );
    }
}

#[test]
fn composite_keys_come_from_record_key() {
    let payload = r#"{"order_id": 5, "sku": "A-1", "photo": "00FF"}"#;
    let change = decode(
        &raw(
            "order_lines",
            "INSERT",
            None,
            Some(r#"[5, "A-1"]"#),
            Some(payload),
        ),
        &tables(),
    )
    .unwrap();
    assert_eq!(change.record, r#"[5, "A-1"]"#);
    let wrong = decode(
        &raw(
            "order_lines",
            "INSERT",
            None,
            Some(r#"[5, "B-2"]"#),
            Some(payload),
        ),
        &tables(),
    );
    assert!(wrong.unwrap_err().contains("does not match"));
    let delete = decode(
        &raw("order_lines", "DELETE", None, Some(r#"[5, "A-1"]"#), None),
        &tables(),
    )
    .unwrap();
    assert_eq!(
        delete.action,
        Action::Delete {
            key: vec![Some("5".into()), Some("A-1".into())]
        }
    );
}

#[test]
fn rejects_what_cannot_be_applied_exactly() {
    let t = tables();
    let err = |r: QueuedChange| decode(&r, &t).unwrap_err();
    assert!(
        err(raw(
            "users; DROP TABLE users",
            "DELETE",
            Some(1),
            None,
            None
        ))
        .contains("unknown table_name")
    );
    assert!(err(raw("orders", "MERGE", Some(3), None, None)).contains("unknown operation"));
    assert!(err(raw("orders", "INSERT", Some(3), None, None)).contains("no payload"));
    assert!(err(raw("orders", "INSERT", Some(3), None, Some("{oops"))).contains("unreadable"));
    assert!(err(raw("orders", "INSERT", None, None, Some(ORDER))).contains("no record_id"));
    // The image names another record than the queue row: never acted on.
    assert!(err(raw("orders", "DELETE", Some(4), None, Some(ORDER))).contains("does not match"));
    // More decimals than the column holds: refused, not rounded.
    let rounded = ORDER.replace("\"0.30\"", "\"12.345\"");
    assert!(err(raw("orders", "UPDATE", Some(3), None, Some(&rounded))).contains("rounded"));
    let float = ORDER.replace("\"user_id\": 1", "\"user_id\": 1.5");
    assert!(err(raw("orders", "UPDATE", Some(3), None, Some(&float))).contains("not an integer"));
    let number_for_text = ORDER.replace("\"shipped\"", "5");
    assert!(
        err(raw(
            "orders",
            "UPDATE",
            Some(3),
            None,
            Some(&number_for_text)
        ))
        .contains("not a JSON string")
    );
    let bad_hex = r#"{"order_id": 5, "sku": "A-1", "photo": "zz"}"#;
    assert!(
        err(raw(
            "order_lines",
            "INSERT",
            None,
            Some(r#"[5, "A-1"]"#),
            Some(bad_hex)
        ))
        .contains("hex")
    );
    assert!(decode(&raw("orders", "DELETE", Some(3), None, None), &t).is_ok());
}

#[test]
fn a_long_value_makes_a_short_error() {
    let long = ORDER.replace("\"0.30\"", &format!("\"{}\"", "9".repeat(70_000)));
    let message = decode(
        &raw("orders", "UPDATE", Some(3), None, Some(&long)),
        &tables(),
    )
    .unwrap_err();
    assert!(
        message.chars().count() < 300,
        "{} chars",
        message.chars().count()
    );
}

#[test]
fn fingerprints_tell_changes_apart() {
    let a = raw("orders", "UPDATE", Some(3), None, Some(ORDER));
    let mut b = a.clone();
    assert_eq!(fingerprint(&a), fingerprint(&b));
    b.payload = Some(ORDER.replace("shipped", "pending").into_bytes());
    assert_ne!(fingerprint(&a), fingerprint(&b));
}
