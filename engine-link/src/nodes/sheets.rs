//! `sheets.append` and `sheets.read`: Google Sheets API v4 `values.append` and `values.get`.
//!
//! Both treat the first row of `range` as the header row. `read` outputs the rows below it as
//! objects keyed by header. `append` lays the row out to match the header: it reads the header row
//! first (`values.get`), puts each value under the column whose header equals its key (exactly,
//! else ignoring ASCII case), leaves columns without a value empty, and refuses keys that match no
//! header (a typo would otherwise lose data silently). On a sheet without a header row it writes
//! the keys as the header row first, then the row, both in key order (so `updated_rows` is 2).

use reqwest::Method;
use serde_json::{Map, Value, json};

use super::api::{ApiReply, Bearer, api_url, send_json};
use super::{NodeCall, as_text, status_error, type_name};
use crate::protocol::{StepError, StepOutput};

pub(super) async fn append(call: &NodeCall<'_>) -> Result<StepOutput, StepError> {
    let sheet = Sheet::from_config(call)?;
    let row = row_values(call)?;
    let header_range = header_row_range(sheet.range);
    let header_reply = sheet.get(call, &header_range.a1).await?;
    let header = header_range.slice(first_row(&header_reply.answer));
    let values = if header.iter().all(|cell| cell.trim().is_empty()) {
        let keys = row.keys().map(|k| Value::String(k.clone())).collect();
        vec![Value::Array(keys), Value::Array(row.values().map(cell).collect())]
    } else {
        vec![Value::Array(aligned_row(&header, &row)?)]
    };
    let mut url = api_url(call, &["spreadsheets", sheet.spreadsheet_id, "values", &format!("{}:append", sheet.range)])?;
    url.query_pairs_mut()
        .append_pair("valueInputOption", "USER_ENTERED")
        .append_pair("insertDataOption", "INSERT_ROWS");
    let reply = send_json(call, Method::POST, url, sheet.bearer, Some(&json!({ "values": values }))).await?;
    let answer = google_answer(&reply)?;
    let updates = &answer["updates"];
    Ok(StepOutput {
        bytes: header_reply.bytes + reply.bytes,
        ..StepOutput::value(json!({
            "updated_range": updates["updatedRange"],
            "updated_rows": updates["updatedRows"],
        }))
    })
}

pub(super) async fn read(call: &NodeCall<'_>) -> Result<StepOutput, StepError> {
    let sheet = Sheet::from_config(call)?;
    let reply = sheet.get(call, sheet.range).await?;
    let rows = match &reply.answer["values"] {
        Value::Array(rows) => rows.as_slice(),
        _ => &[],
    };
    let Some((header, data)) = rows.split_first() else {
        return Ok(StepOutput { bytes: reply.bytes, ..StepOutput::value(json!([])) });
    };
    let keys = header_keys(header.as_array().map(Vec::as_slice).unwrap_or_default());
    let objects = data
        .iter()
        .filter_map(|row| row.as_array().filter(|cells| cells.iter().any(|c| !as_text(c).is_empty())))
        .map(|cells| {
            let object: Map<String, Value> = keys
                .iter()
                .enumerate()
                .map(|(i, key)| (key.clone(), cells.get(i).cloned().unwrap_or_else(|| json!(""))))
                .collect();
            Value::Object(object)
        })
        .collect();
    Ok(StepOutput { bytes: reply.bytes, ..StepOutput::value(Value::Array(objects)) })
}

/// The config both kinds share.
#[derive(Debug)]
struct Sheet<'a> {
    bearer: Bearer<'a>,
    spreadsheet_id: &'a str,
    range: &'a str,
}

/// A successful `values.get`.
#[derive(Debug)]
struct ValuesReply {
    answer: Value,
    bytes: u64,
}

impl<'a> Sheet<'a> {
    fn from_config(call: &'a NodeCall<'_>) -> Result<Self, StepError> {
        Ok(Self {
            bearer: Bearer { field: "token", token: call.text("token")? },
            spreadsheet_id: call.text("spreadsheet_id")?.trim(),
            range: call.text("range")?.trim(),
        })
    }

    /// `values.get` of `range`.
    async fn get(&self, call: &NodeCall<'_>, range: &str) -> Result<ValuesReply, StepError> {
        let url = api_url(call, &["spreadsheets", self.spreadsheet_id, "values", range])?;
        let reply = send_json(call, Method::GET, url, self.bearer, None).await?;
        Ok(ValuesReply { answer: google_answer(&reply)?, bytes: reply.bytes })
    }
}

/// The JSON of a 2xx answer, or the step error for Google's `{"error": {code, message, status}}`.
fn google_answer(reply: &ApiReply) -> Result<Value, StepError> {
    let answer = serde_json::from_slice::<Value>(&reply.body).ok();
    if !reply.status.is_success() {
        let error = answer.as_ref().map(|a| &a["error"]).unwrap_or(&Value::Null);
        let detail = match (error["status"].as_str(), error["message"].as_str()) {
            (Some(status), Some(message)) => format!("{status}: {message}"),
            (None, Some(message)) => message.to_owned(),
            _ => String::new(),
        };
        return Err(status_error("google sheets", reply.status, &reply.headers, &detail));
    }
    answer.ok_or_else(|| StepError::permanent("bad_response", "google sheets answered something that is not json"))
}

/// The row to append, by column header: `values` when it has entries, else the step's input.
fn row_values(call: &NodeCall<'_>) -> Result<Map<String, Value>, StepError> {
    match call.config.get("values") {
        Some(Value::Object(values)) if !values.is_empty() => return Ok(values.clone()),
        None | Some(Value::Null) | Some(Value::Object(_)) => {}
        Some(other) => {
            return Err(StepError::bad_config("values", format!("must be key-value pairs, got {}", type_name(other))));
        }
    }
    match &call.context.input {
        Value::Object(input) if !input.is_empty() => Ok(input.clone()),
        Value::Object(_) => {
            Err(StepError::bad_config("values", "is empty and the step's input has no fields to append"))
        }
        other => Err(StepError::permanent(
            "bad_input",
            format!(
                "`values` is empty, so the step's input must be an object keyed by column header, got {}",
                type_name(other)
            ),
        )),
    }
}

/// `row` laid out under `header`; keys that match no header are an error.
fn aligned_row(header: &[String], row: &Map<String, Value>) -> Result<Vec<Value>, StepError> {
    let mut cells = vec![json!(""); header.len()];
    let mut unknown = Vec::new();
    for (key, value) in row {
        let wanted = key.trim();
        let column = header
            .iter()
            .position(|h| h.trim() == wanted)
            .or_else(|| header.iter().position(|h| h.trim().eq_ignore_ascii_case(wanted)));
        match column {
            Some(i) => cells[i] = cell(value),
            None => unknown.push(key.as_str()),
        }
    }
    if !unknown.is_empty() {
        let known: Vec<&str> = header.iter().map(|h| h.trim()).filter(|h| !h.is_empty()).collect();
        return Err(StepError::permanent(
            "unknown_column",
            format!("no column named {} in the header row (columns: {})", unknown.join(", "), known.join(", ")),
        ));
    }
    Ok(cells)
}

/// A JSON value as a cell: text, numbers and booleans as themselves, null empty, lists and objects
/// as JSON text.
fn cell(value: &Value) -> Value {
    match value {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => value.clone(),
        Value::Null => json!(""),
        other => Value::String(other.to_string()),
    }
}

/// The object keys for a header row: the header text, `column_<n>` for an empty header, and a
/// `_2`, `_3`… suffix for a repeated one.
fn header_keys(header: &[Value]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::with_capacity(header.len());
    for (i, cell) in header.iter().enumerate() {
        let text = as_text(cell).trim().to_owned();
        let base = if text.is_empty() { format!("column_{}", i + 1) } else { text };
        let mut key = base.clone();
        let mut n = 2;
        while keys.contains(&key) {
            key = format!("{base}_{n}");
            n += 1;
        }
        keys.push(key);
    }
    keys
}

fn first_row(answer: &Value) -> Vec<String> {
    match answer["values"].get(0) {
        Some(Value::Array(cells)) => cells.iter().map(as_text).collect(),
        _ => Vec::new(),
    }
}

/// Where a range's header row is: the whole sheet row to read, and which of its columns belong to
/// the range.
#[derive(Debug, PartialEq, Eq)]
struct HeaderRange {
    /// The row in A1 notation, such as `Sheet1!1:1` or `'My data'!3:3`.
    a1: String,
    /// The range's first column, counted from 0 (`A`).
    first_column: usize,
    /// The range's last column, when it names one.
    last_column: Option<usize>,
}

impl HeaderRange {
    /// The header cells of the range from the cells of the whole row.
    fn slice(&self, row: Vec<String>) -> Vec<String> {
        let end = self.last_column.map_or(row.len(), |last| (last + 1).min(row.len()));
        row.get(self.first_column..end).map(<[String]>::to_vec).unwrap_or_default()
    }
}

/// The header row of an A1 range: its first row (row 1 when it names none), read whole and cut to
/// the range's columns. `Sheet1` → row 1; `Sheet1!C3:F` → row 3, columns C to F; `B2` (on the first
/// visible sheet) → row 2 from column B on.
fn header_row_range(range: &str) -> HeaderRange {
    let (sheet, cells) = match range.rfind('!') {
        Some(at) => (Some(&range[..at]), &range[at + 1..]),
        None if is_a1_cells(range) => (None, range),
        None => (Some(range), ""),
    };
    let (start, end) = cells.split_once(':').unwrap_or((cells, ""));
    let (start_column, start_row) = split_cell(start);
    let (end_column, _) = split_cell(end);
    let row = start_row.unwrap_or(1);
    let a1 = match sheet {
        Some(sheet) => format!("{}!{row}:{row}", quoted_sheet(sheet)),
        None => format!("{row}:{row}"),
    };
    HeaderRange { a1, first_column: start_column.unwrap_or(0), last_column: end_column }
}

/// A sheet name quoted for A1 notation (`'My data'`), unless it already is.
fn quoted_sheet(sheet: &str) -> String {
    if sheet.len() >= 2 && sheet.starts_with('\'') && sheet.ends_with('\'') {
        sheet.to_owned()
    } else {
        format!("'{}'", sheet.replace('\'', "''"))
    }
}

/// Whether `text` is A1 cells (`A1`, `A:C`, `2:5`, `B2:D`) rather than a sheet name.
fn is_a1_cells(text: &str) -> bool {
    let (start, end) = text.split_once(':').unwrap_or((text, ""));
    let ok = |part: &str| {
        // columns run from A to ZZZ, so `Sheet1` is a sheet name, not column SHEET
        let letters = part.chars().take_while(char::is_ascii_alphabetic).count();
        !part.is_empty() && letters <= 3 && part[letters..].chars().all(|c| c.is_ascii_digit())
    };
    ok(start) && (end.is_empty() || ok(end))
}

/// A cell reference's column (from 0) and row (from 1), each when present: `C3` → (2, 3).
fn split_cell(cell: &str) -> (Option<usize>, Option<u64>) {
    let letters: String = cell.chars().take_while(char::is_ascii_alphabetic).collect();
    let column = (!letters.is_empty()).then(|| {
        letters.chars().fold(0usize, |acc, c| {
            acc.saturating_mul(26).saturating_add(usize::from(c.to_ascii_uppercase() as u8 - b'A') + 1)
        }) - 1
    });
    let row = cell[letters.len()..].parse::<u64>().ok().filter(|r| *r > 0);
    (column, row)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(range: &str) -> (String, usize, Option<usize>) {
        let h = header_row_range(range);
        (h.a1, h.first_column, h.last_column)
    }

    #[test]
    fn header_rows_follow_the_range() {
        assert_eq!(header("Sheet1"), ("'Sheet1'!1:1".into(), 0, None));
        assert_eq!(header("Sheet1!A:F"), ("'Sheet1'!1:1".into(), 0, Some(5)));
        assert_eq!(header("'My data'!C3:AA"), ("'My data'!3:3".into(), 2, Some(26)));
        assert_eq!(header("B2"), ("2:2".into(), 1, None));
        assert_eq!(header("A1:D10"), ("1:1".into(), 0, Some(3)));
        assert_eq!(header("Sheet1!2:2"), ("'Sheet1'!2:2".into(), 0, None));
        assert_eq!(header("Leads 2024"), ("'Leads 2024'!1:1".into(), 0, None));
        assert_eq!(header("Bob's"), ("'Bob''s'!1:1".into(), 0, None));
        let h = header_row_range("Sheet1!B:C");
        assert_eq!(h.slice(vec!["id".into(), "name".into(), "email".into(), "x".into()]), ["name", "email"]);
        assert_eq!(h.slice(vec!["id".into()]), Vec::<String>::new());
    }

    #[test]
    fn rows_align_with_the_header_and_unknown_keys_are_refused() {
        let header = vec!["Name".to_owned(), "".to_owned(), "Email".to_owned(), "Score".to_owned()];
        let row = json!({ "email": "ada@example.test", "Name": "Ada", "Score": 3 });
        let cells = aligned_row(&header, row.as_object().unwrap()).unwrap();
        assert_eq!(cells, vec![json!("Ada"), json!(""), json!("ada@example.test"), json!(3)]);
        let err = aligned_row(&header, json!({ "Nmae": "x" }).as_object().unwrap()).unwrap_err();
        assert_eq!(err.code, "unknown_column");
        assert!(err.message.contains("Nmae") && err.message.contains("Name, Email, Score"), "{err}");
    }

    #[test]
    fn header_keys_name_empty_and_repeated_columns() {
        let keys = header_keys(&[json!("id"), json!(""), json!("id"), json!(" name ")]);
        assert_eq!(keys, ["id", "column_2", "id_2", "name"]);
    }
}
