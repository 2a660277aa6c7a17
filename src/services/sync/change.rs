//! Turns a raw `sync_queue` row into a typed [`Change`], or says why it cannot be applied.
//! A queue row is data, never code: its table name must be a synced table, its key must
//! match its image, and each value must fit its column exactly before anything reaches SQL.

use std::sync::Arc;

use serde_json::Value;

use super::tables::Tables;
use crate::db::packet;
use crate::db::queue::QueuedChange;
use crate::domain::Operation;
use crate::domain::fits::Fit;
use crate::domain::table::{TableSpec, ValueClass};

mod image;
mod value;

pub use image::ImageReader;
use value::json_value;

/// A record's identity: its table (by index in [`Tables`]) and its key as text (the integer,
/// or the JSON array of a composite or string key). Changes of one record apply in id order.
pub type RecordKey = (usize, String);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// INSERT and UPDATE both write the full row image: replaying either is idempotent.
    /// `values` follow the table's image columns; `present` marks those the image carried
    /// (an image written before a column was added lacks it).
    Upsert {
        values: Vec<Option<String>>,
        present: Vec<bool>,
    },
    /// The key column values, in key order.
    Delete { key: Vec<Option<String>> },
}

#[derive(Debug, Clone)]
pub struct Change {
    pub queue_id: i64,
    pub table: usize,
    pub spec: Arc<TableSpec>,
    pub record: String,
    pub operation: Operation,
    pub retry_count: i32,
    pub action: Action,
    /// Identifies this exact change, for the check that the queue did not go backwards.
    pub fingerprint: i64,
}

impl Change {
    pub fn key(&self) -> RecordKey {
        (self.table, self.record.clone())
    }

    /// The key's values this change names, in key column order.
    pub fn key_values(&self) -> Vec<Option<String>> {
        let spec = &self.spec;
        match &self.action {
            Action::Delete { key } => key.clone(),
            Action::Upsert { values, .. } => spec
                .key_columns()
                .filter_map(|k| spec.image_columns().position(|c| c.name == k.name))
                .map(|at| values.get(at).cloned().flatten())
                .collect(),
        }
    }

    pub fn is_delete(&self) -> bool {
        matches!(self.action, Action::Delete { .. })
    }

    /// Why db_b, taking statements of at most `packet` bytes, cannot take this change, if
    /// it cannot.
    pub fn too_big(&self, packet: usize) -> Option<String> {
        match &self.action {
            Action::Upsert { values, .. } => {
                packet::too_big(&self.spec, values, packet).map(|reason| {
                    format!(
                        "{reason}; raise max_allowed_packet on db_b (once FAILED, \
                     `dbsync requeue --all-failed` retries it)"
                    )
                })
            }
            Action::Delete { .. } => None,
        }
    }
}

/// A stable digest of what a queue row says (table, key, operation, image, capture time):
/// the same row always gives the same number, a different change — even one with the same
/// content captured later under a reused id — practically never does.
pub fn fingerprint(raw: &QueuedChange) -> i64 {
    fingerprint_of(raw, true)
}

/// The fingerprint as earlier versions recorded it (without the capture time): a
/// watermark written by them still matches its change.
pub fn earlier_fingerprint(raw: &QueuedChange) -> i64 {
    fingerprint_of(raw, false)
}

fn fingerprint_of(raw: &QueuedChange, with_capture_time: bool) -> i64 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(raw.table_name.as_bytes());
    hasher.update(&[0x1f]);
    if let Some(id) = raw.record_id {
        hasher.update(id.to_string().as_bytes());
    }
    hasher.update(&[0x1f]);
    hasher.update(raw.record_key.as_deref().unwrap_or_default());
    hasher.update(&[0x1f]);
    hasher.update(raw.operation.as_bytes());
    hasher.update(&[0x1f]);
    hasher.update(raw.payload.as_deref().unwrap_or_default());
    if with_capture_time {
        hasher.update(&[0x1f]);
        hasher.update(raw.created_at.as_bytes());
    }
    i64::from(hasher.finalize())
}

/// The record a queue row names, when it names one of a synced table.
pub fn record_key_of(raw: &QueuedChange, tables: &Tables) -> Option<RecordKey> {
    let (index, spec) = tables.find(&raw.table_name)?;
    record_identity(raw, spec, tables.reader(index))
        .ok()
        .map(|(record, _)| (index, record))
}

/// A metrics and log label for a queue row's table: its name when it is synced, else
/// `invalid` (hand-written rows can name anything; the label set stays bounded).
pub fn label<'a>(table_name: &'a str, tables: &Tables) -> &'a str {
    if tables.find(table_name).is_some() {
        table_name
    } else {
        "invalid"
    }
}

/// Hand-written rows can hold anything; error texts quote at most this much of a value.
pub(super) fn short(value: &str) -> String {
    let cut: String = value.chars().take(64).collect();
    if cut.len() < value.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

/// Decodes one queue row. The error is the `last_error` to park it with.
pub fn decode(raw: &QueuedChange, tables: &Tables) -> Result<Change, String> {
    let (table, spec) = tables.find(&raw.table_name).ok_or_else(|| {
        format!(
            "unknown table_name {:?}: not a synced table (SYNC_TABLES: {})",
            short(&raw.table_name),
            tables.names().join(", ")
        )
    })?;
    let operation = Operation::parse(&raw.operation)
        .ok_or_else(|| format!("unknown operation {:?}", short(&raw.operation)))?;
    let reader = tables.reader(table);
    let (record, known_key) = record_identity(raw, spec, reader)?;
    let payload = match (operation, raw.payload.as_deref().map(payload_text)) {
        // A delete needs only its key, which the queue row names (unless it is a collation
        // weight): an image that is not UTF-8 (the row's last value was not) does not stop it.
        (Operation::Delete, Some(Err(_))) if known_key.iter().all(Option::is_some) => None,
        (_, text) => text.transpose()?,
    };
    let action = match (operation, payload) {
        (Operation::Delete, None) => Action::Delete {
            key: known_key
                .into_iter()
                .collect::<Option<Vec<_>>>()
                .ok_or("DELETE change has no image, and its key is only a collation weight")?,
        },
        (Operation::Delete, Some(payload)) => {
            let (values, present) = decode_image(payload, reader)?;
            let key = check_key(spec, &values, &present, &known_key)?;
            Action::Delete { key }
        }
        (Operation::Insert | Operation::Update, None) => {
            return Err(format!(
                "{} change has no payload (row image)",
                raw.operation
            ));
        }
        (Operation::Insert | Operation::Update, Some(payload)) => {
            let (values, present) = decode_image(payload, reader)?;
            check_key(spec, &values, &present, &known_key)?;
            Action::Upsert { values, present }
        }
    };
    Ok(Change {
        queue_id: raw.id,
        table,
        spec: spec.clone(),
        record,
        operation,
        retry_count: raw.retry_count,
        action,
        fingerprint: fingerprint(raw),
    })
}

/// A queue row as far as it can be understood without db_a or the run's state.
pub struct DecodedRow {
    /// The record it names, when it names one of a synced table.
    pub key: Option<RecordKey>,
    /// `None` while the row is backing off (not due): it is not decoded yet.
    pub change: Option<Result<Change, String>>,
}

/// Each row of a read decoded (when due), with the record it names; pure, so a run does it
/// while db_b applies the previous batch.
pub fn decode_rows(rows: &[QueuedChange], tables: &Tables) -> Vec<DecodedRow> {
    rows.iter()
        .map(|row| {
            let change = row.is_due().then(|| decode(row, tables));
            let key = match &change {
                Some(Ok(change)) => Some(change.key()),
                _ => record_key_of(row, tables),
            };
            DecodedRow { key, change }
        })
        .collect()
}

/// What `record_id`/`record_key` say of one key column's value: `Some(value)`, or `None` for
/// a column whose identity is its collation weight (the value is then read from the image).
type KeyComponent = Option<Option<String>>;

/// The record's identity text and its key components.
fn record_identity(
    raw: &QueuedChange,
    spec: &TableSpec,
    reader: &ImageReader,
) -> Result<(String, Vec<KeyComponent>), String> {
    if spec.has_integer_key() {
        let id = raw
            .record_id
            .ok_or("queue row has no record_id for a table keyed by one integer column")?;
        return Ok((id.to_string(), vec![Some(Some(id.to_string()))]));
    }
    let text = raw
        .record_key
        .as_deref()
        .ok_or("queue row has no record_key")
        .and_then(|bytes| std::str::from_utf8(bytes).map_err(|_| "record_key is not UTF-8 text"))?;
    let array: Vec<Value> = serde_json::from_str(text)
        .map_err(|_| format!("record_key {:?} is not a JSON array", short(text)))?;
    if array.len() != spec.key.len() {
        return Err(format!(
            "record_key {:?} has {} value(s); the key of {} has {}",
            short(text),
            array.len(),
            spec.name,
            spec.key.len()
        ));
    }
    let mut key = Vec::with_capacity(array.len());
    for (value, column) in array.into_iter().zip(spec.key_columns()) {
        key.push(if column.compares_loosely() {
            None
        } else {
            let computed;
            let fit = match reader.fit(&column.name) {
                Some(fit) => fit,
                None => {
                    computed = Fit::of_column(column);
                    &computed
                }
            };
            Some(json_value(value, column, fit)?)
        });
    }
    Ok((text.to_string(), key))
}

/// The image's values aligned with the table's image columns. Keys the table no longer has
/// (a dropped column) are ignored; columns the image lacks (added since) are not present.
fn decode_image(
    payload: &str,
    reader: &ImageReader,
) -> Result<(Vec<Option<String>>, Vec<bool>), String> {
    let raw = reader
        .read(payload)
        .map_err(|e| format!("unreadable payload: {}", short(&e.to_string())))?;
    let mut values = vec![None; raw.len()];
    let mut present = vec![false; raw.len()];
    for (i, value) in raw.into_iter().enumerate() {
        if let Some(value) = value {
            values[i] = json_value(value, &reader.columns[i], &reader.fits[i])?;
            present[i] = true;
        }
    }
    Ok((values, present))
}

/// A row image as text. MariaDB stores text that is not UTF-8 (CESU-8 surrogates, as old
/// Java clients wrote emoji) in a utf8mb4 column, and a trigger copies it into the image.
fn payload_text(bytes: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(bytes).map_err(|e| {
        format!(
            "unreadable payload: the row image is not UTF-8 text at byte {}: a text column of the row holds a value no Unicode text has (such as CESU-8, written by an old client); correct the value in db_a: the change that corrects it is synced (this one is not needed then)",
            e.valid_up_to()
        )
    })
}

/// The image's key values must be the queue row's key: the engine must never act on a
/// record the row does not name. Returns the key values (from the image).
fn check_key(
    spec: &TableSpec,
    values: &[Option<String>],
    present: &[bool],
    known: &[Option<Option<String>>],
) -> Result<Vec<Option<String>>, String> {
    let mut key = Vec::with_capacity(known.len());
    for (column, expected) in spec.key_columns().zip(known) {
        let at = spec
            .image_columns()
            .position(|c| c.name == column.name)
            .ok_or_else(|| format!("key column {} is not in the image", column.name))?;
        if !present.get(at).copied().unwrap_or(false) {
            return Err(format!("payload has no {} (a key column)", column.name));
        }
        let found = values.get(at).cloned().flatten();
        // A weight (a loosely compared text key) cannot be compared here; its value can.
        if let Some(expected) = expected {
            let same = match (&found, expected) {
                (Some(a), Some(b))
                    if column.class == ValueClass::Binary
                        || column.class == ValueClass::Bit
                        || column.bytes_charset().is_some() =>
                {
                    a.eq_ignore_ascii_case(b)
                }
                (a, b) => a == b,
            };
            if !same {
                return Err(format!(
                    "payload {} {} does not match the queue row's key {}",
                    column.name,
                    found.as_deref().map(short).unwrap_or_else(|| "NULL".into()),
                    expected
                        .as_deref()
                        .map(short)
                        .unwrap_or_else(|| "NULL".into()),
                ));
            }
        }
        key.push(found);
    }
    Ok(key)
}

#[cfg(test)]
mod tests;
