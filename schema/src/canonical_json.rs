//! Canonical JSON: serializes values with every object's keys sorted explicitly, so the bytes never
//! depend on whether some crate in the build turned on serde_json's `preserve_order` feature.

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

/// A borrowed JSON value that serializes with its object keys sorted at every depth.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sorted<'a>(pub(crate) &'a Value);

impl Serialize for Sorted<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(map) => serialize_sorted_map(map, serializer),
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Sorted(item))?;
                }
                seq.end()
            }
            scalar => scalar.serialize(serializer),
        }
    }
}

/// Serializes a JSON object with its keys in byte order (which for UTF-8 is code point order), and
/// every nested object likewise. Used as a `serialize_with` on config maps.
pub(crate) fn serialize_sorted_map<S: Serializer>(map: &Map<String, Value>, serializer: S) -> Result<S::Ok, S::Error> {
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = serializer.serialize_map(Some(entries.len()))?;
    for (key, value) in entries {
        out.serialize_entry(key, &Sorted(value))?;
    }
    out.end()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_sorted_at_every_depth() {
        let value = json!({"b": 1, "a": [{"z": null, "y": {"d": true, "c": "x"}}]});
        let text = serde_json::to_string(&Sorted(&value)).unwrap();
        assert_eq!(text, r#"{"a":[{"y":{"c":"x","d":true},"z":null}],"b":1}"#);
    }
}
