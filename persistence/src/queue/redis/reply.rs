//! Reading Redis's stream replies from raw values, sans IO. Raw, not through the client's typed
//! replies, because those refuse a whole reply when one entry holds bytes that are not UTF-8, and an
//! entry we cannot read must be dead-lettered, not block every read that meets it. Both RESP2 and
//! RESP3 shapes are accepted.

use ::redis::Value;

/// The smallest stream id: a group created from here delivers everything; a scan from here starts
/// at the beginning, and a scan that returns it has wrapped.
pub(super) const START: &str = "0-0";

/// One stream entry as Redis sent it; `fields` is `None` when the entry no longer exists.
#[derive(Debug)]
pub(super) struct RawEntry {
    pub(super) id: String,
    pub(super) fields: Option<Vec<(Vec<u8>, Vec<u8>)>>,
}

/// `1700000000000-0`: two decimal numbers joined by a dash (Redis refuses anything else).
pub(super) fn is_stream_id(id: &str) -> bool {
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    id.split_once('-').is_some_and(|(ms, seq)| digits(ms) && digits(seq))
}

/// The milliseconds part of a stream id: when Redis added the entry.
pub(super) fn stream_id_millis(id: &str) -> Option<u64> {
    id.split_once('-').and_then(|(ms, _)| ms.parse().ok())
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Nil => "nil",
        Value::Int(_) => "an integer",
        Value::BulkString(_) | Value::SimpleString(_) | Value::VerbatimString { .. } | Value::Okay => "a string",
        Value::Array(_) | Value::Set(_) => "an array",
        Value::Map(_) => "a map",
        _ => "another type",
    }
}

fn bytes(value: &Value) -> Option<Vec<u8>> {
    match value {
        Value::BulkString(bytes) => Some(bytes.clone()),
        Value::SimpleString(text) | Value::VerbatimString { text, .. } => Some(text.clone().into_bytes()),
        Value::Int(number) => Some(number.to_string().into_bytes()),
        _ => None,
    }
}

fn text(value: &Value) -> Option<String> {
    bytes(value).and_then(|bytes| String::from_utf8(bytes).ok())
}

pub(super) fn int(value: &Value) -> Option<i64> {
    match value {
        Value::Int(number) => Some(*number),
        other => text(other).and_then(|text| text.parse().ok()),
    }
}

/// Key-value pairs of a RESP3 map or a RESP2 flat array.
fn pairs(value: &Value) -> Option<Vec<(&Value, &Value)>> {
    match value {
        Value::Map(pairs) => Some(pairs.iter().map(|(key, value)| (key, value)).collect()),
        Value::Array(flat) if flat.len() % 2 == 0 => {
            Some(flat.chunks_exact(2).map(|pair| (&pair[0], &pair[1])).collect())
        }
        _ => None,
    }
}

/// A list of `[id, [field, value, ...]]` entries (`[id, nil]` for an entry that is gone).
pub(super) fn entries(value: &Value) -> Result<Vec<RawEntry>, String> {
    let Value::Array(items) = value else { return Err(format!("expected a list of entries, got {}", kind(value))) };
    items
        .iter()
        .filter(|item| !matches!(item, Value::Nil))
        .map(|item| {
            let Value::Array(parts) = item else { return Err(format!("expected an entry, got {}", kind(item))) };
            let [id, fields] = parts.as_slice() else { return Err("an entry is not an id and its fields".to_owned()) };
            let id = text(id).ok_or_else(|| format!("entry id is {}", kind(id)))?;
            let fields = match fields {
                Value::Nil => None,
                fields => {
                    let pairs = pairs(fields).ok_or_else(|| format!("fields of entry {id} are {}", kind(fields)))?;
                    let fields = pairs
                        .into_iter()
                        .map(|(field, value)| Some((bytes(field)?, bytes(value)?)))
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| format!("a field of entry {id} is not a string"))?;
                    Some(fields)
                }
            };
            Ok(RawEntry { id, fields })
        })
        .collect()
}

/// `XREADGROUP`'s answer: nil when nothing came, else `[[stream, entries], ...]` (a map on RESP3).
pub(super) fn read_reply_entries(value: &Value) -> Result<Vec<RawEntry>, String> {
    let streams: Vec<&Value> = match value {
        Value::Nil => return Ok(Vec::new()),
        Value::Map(streams) => streams.iter().map(|(_, entries)| entries).collect(),
        Value::Array(streams) => streams
            .iter()
            .map(|stream| match stream {
                Value::Array(pair) if pair.len() == 2 => Ok(&pair[1]),
                other => Err(format!("expected a stream and its entries, got {}", kind(other))),
            })
            .collect::<Result<_, _>>()?,
        other => return Err(format!("expected streams, got {}", kind(other))),
    };
    let mut all = Vec::new();
    for stream in streams {
        all.extend(entries(stream)?);
    }
    Ok(all)
}

/// `XAUTOCLAIM`'s answer: `[next cursor, entries, deleted ids]` (no third part before Redis 7).
pub(super) fn autoclaim_reply(value: &Value) -> Result<(String, Vec<RawEntry>), String> {
    let Value::Array(parts) = value else { return Err(format!("expected an array, got {}", kind(value))) };
    let (Some(cursor), Some(claimed)) = (parts.first(), parts.get(1)) else {
        return Err("expected a cursor and entries".to_owned());
    };
    let cursor = text(cursor).filter(|cursor| is_stream_id(cursor)).ok_or("the cursor is not a stream id")?;
    Ok((cursor, entries(claimed)?))
}

/// `XPENDING S G id id 1`'s answer: `[[id, consumer, idle ms, deliveries]]`, or `[]` if not pending.
pub(super) fn pending_holder(value: &Value) -> Result<Option<(String, i64)>, String> {
    let Value::Array(rows) = value else { return Err(format!("expected an array, got {}", kind(value))) };
    let Some(row) = rows.first() else { return Ok(None) };
    let Value::Array(row) = row else { return Err(format!("expected a pending entry, got {}", kind(row))) };
    match row.as_slice() {
        [_, consumer, _, count] => {
            let consumer = text(consumer).ok_or("the consumer is not a string")?;
            let count = int(count).ok_or("the delivery count is not a number")?;
            Ok(Some((consumer, count)))
        }
        _ => Err("a pending entry is not id, consumer, idle and count".to_owned()),
    }
}

/// The `last-delivered-id` of `group` in `XINFO GROUPS`'s answer.
pub(super) fn last_delivered_id(groups: &Value, group: &str) -> Option<String> {
    let Value::Array(groups) = groups else { return None };
    groups.iter().find_map(|info| {
        let fields = pairs(info)?;
        let field = |name: &str| fields.iter().find(|(key, _)| text(key).as_deref() == Some(name)).map(|(_, v)| *v);
        (text(field("name")?)? == group).then(|| field("last-delivered-id").and_then(text)).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(text: &[u8]) -> Value {
        Value::BulkString(text.to_vec())
    }

    #[test]
    fn stream_ids_are_two_numbers() {
        assert!(is_stream_id("1700000000000-0"));
        for bad in ["", "-", "1-", "-1", "1", "1-x", "x-1", "1-1-1", " 1-1"] {
            assert!(!is_stream_id(bad), "{bad:?}");
        }
        assert_eq!(stream_id_millis("1700000000123-4"), Some(1_700_000_000_123));
    }

    #[test]
    fn read_replies_come_in_resp2_and_resp3_shapes() {
        let entry = Value::Array(vec![bulk(b"1-0"), Value::Array(vec![bulk(b"job"), bulk(b"{}")])]);
        let gone = Value::Array(vec![bulk(b"2-0"), Value::Nil]);
        let resp2 = Value::Array(vec![Value::Array(vec![bulk(b"s"), Value::Array(vec![entry.clone(), gone])])]);
        let resp3 = Value::Map(vec![(bulk(b"s"), Value::Array(vec![entry]))]);
        let read = read_reply_entries(&resp2).unwrap();
        assert_eq!(
            (read[0].id.as_str(), read[0].fields.clone()),
            ("1-0", Some(vec![(b"job".to_vec(), b"{}".to_vec())]))
        );
        assert_eq!((read[1].id.as_str(), read[1].fields.clone()), ("2-0", None));
        assert_eq!(read_reply_entries(&resp3).unwrap().len(), 1);
        assert!(read_reply_entries(&Value::Nil).unwrap().is_empty());
        assert!(read_reply_entries(&Value::Int(3)).unwrap_err().contains("an integer"));
    }

    #[test]
    fn autoclaim_pending_and_group_replies() {
        let reply = Value::Array(vec![bulk(b"0-0"), Value::Array(vec![]), Value::Array(vec![])]);
        let (cursor, claimed) = autoclaim_reply(&reply).unwrap();
        assert_eq!((cursor.as_str(), claimed.len()), ("0-0", 0));
        assert!(autoclaim_reply(&Value::Array(vec![bulk(b"nope"), Value::Array(vec![])])).is_err());

        let pending = Value::Array(vec![Value::Array(vec![bulk(b"1-0"), bulk(b"w1"), Value::Int(5), Value::Int(3)])]);
        assert_eq!(pending_holder(&pending).unwrap(), Some(("w1".to_owned(), 3)));
        assert_eq!(pending_holder(&Value::Array(vec![])).unwrap(), None);

        let group = |name: &[u8], last: &[u8]| vec![bulk(b"name"), bulk(name), bulk(b"last-delivered-id"), bulk(last)];
        let resp2 = Value::Array(vec![Value::Array(group(b"other", b"9-0")), Value::Array(group(b"workers", b"5-1"))]);
        assert_eq!(last_delivered_id(&resp2, "workers").as_deref(), Some("5-1"));
        let [name, name_value, last, last_value] = <[Value; 4]>::try_from(group(b"workers", b"7-0")).unwrap();
        let resp3 = Value::Array(vec![Value::Map(vec![(name, name_value), (last, last_value)])]);
        assert_eq!(last_delivered_id(&resp3, "workers").as_deref(), Some("7-0"));
        assert_eq!(last_delivered_id(&resp3, "missing"), None);
    }
}
