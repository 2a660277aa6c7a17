//! Reads a row image — the JSON object a trigger wrote — into values aligned with the
//! table's image columns, in one pass: each key is looked up by name and its value kept in
//! place, with no map of the whole object built first. A run reads every change this way,
//! so what can be worked out once per table (positions, type limits) is.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use crate::domain::fits::Fit;
use crate::domain::table::{ColumnSpec, TableSpec};

/// One table's image columns, with their positions by name and what each takes.
#[derive(Debug, Clone)]
pub struct ImageReader {
    pub columns: Vec<ColumnSpec>,
    pub fits: Vec<Fit>,
    positions: HashMap<String, usize>,
}

impl ImageReader {
    pub fn new(spec: &TableSpec) -> Self {
        let columns: Vec<ColumnSpec> = spec.image_columns().cloned().collect();
        let fits = columns.iter().map(Fit::of_column).collect();
        let positions = columns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.clone(), i))
            .collect();
        ImageReader {
            columns,
            fits,
            positions,
        }
    }

    /// What the image column `name` takes.
    pub fn fit(&self, name: &str) -> Option<&Fit> {
        self.positions.get(name).map(|&at| &self.fits[at])
    }

    /// The image's raw JSON values by image column; `None` where the image has no such key
    /// (a column added since). Keys the table no longer has (a dropped column) are read and
    /// dropped; a key given twice keeps its last value, as any JSON reader does.
    pub fn read(&self, payload: &str) -> Result<Vec<Option<Value>>, serde_json::Error> {
        let mut deserializer = serde_json::Deserializer::from_str(payload);
        let values = ImageSeed { reader: self }.deserialize(&mut deserializer)?;
        deserializer.end()?;
        Ok(values)
    }
}

struct ImageSeed<'r> {
    reader: &'r ImageReader,
}

impl<'de> DeserializeSeed<'de> for ImageSeed<'_> {
    type Value = Vec<Option<Value>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ImageSeed<'_> {
    type Value = Vec<Option<Value>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut values = vec![None; self.reader.columns.len()];
        while let Some(Key(name)) = map.next_key()? {
            match self.reader.positions.get(name.as_ref()) {
                Some(&at) => values[at] = Some(map.next_value()?),
                // Read in full, not skipped: a value no JSON reader can hold (1e400, a lone
                // surrogate, nesting past the depth limit) makes the image unreadable under
                // any key, as it did when images were read into a map.
                None => {
                    map.next_value::<Value>()?;
                }
            }
        }
        Ok(values)
    }
}

/// An object key, borrowed from the payload unless it holds escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a column name")
            }

            fn visit_borrowed_str<E>(self, name: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(name)))
            }

            fn visit_str<E>(self, name: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(name.to_string())))
            }

            fn visit_string<E>(self, name: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(name)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}
