//! A fake Google Sheets API v4: `values.get` (`GET /v4/spreadsheets/{id}/values/{range}`) and
//! `values.append` (`POST …/values/{range}:append?valueInputOption=…`) over in-memory sheets, with
//! A1 ranges (`Sheet1`, `'My data'!A:C`, `Sheet1!1:1`, `B2:D9`) and Google's error shape
//! `{"error": {code, message, status}}`. A refused token is echoed in the 401 message, as a careless
//! service might.

use std::collections::BTreeMap;

use axum::http::Method;
use serde_json::{Value, json};

use super::{Api, Fake, Received, Reply};

pub const TOKEN: &str = "ya29.test-sheets-token";
pub const SPREADSHEET: &str = "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms";

/// The spreadsheets Google holds: id → sheet name → rows of cells.
#[derive(Debug)]
pub struct Sheets {
    pub token: String,
    pub spreadsheets: BTreeMap<String, BTreeMap<String, Vec<Vec<Value>>>>,
}

impl Sheets {
    /// One spreadsheet, [`SPREADSHEET`], with `sheets` (name, rows).
    pub async fn start(sheets: &[(&str, Value)]) -> Fake<Self> {
        let tabs = sheets
            .iter()
            .map(|(name, rows)| ((*name).to_owned(), serde_json::from_value(rows.clone()).unwrap()))
            .collect();
        Fake::start(Self { token: TOKEN.to_owned(), spreadsheets: BTreeMap::from([(SPREADSHEET.to_owned(), tabs)]) })
            .await
    }

    pub fn rows(&self, sheet: &str) -> Vec<Vec<Value>> {
        self.spreadsheets[SPREADSHEET][sheet].clone()
    }
}

/// The base URL to configure for the fake (Google's is `https://sheets.googleapis.com/v4`).
pub fn base_url(fake: &Fake<Sheets>) -> String {
    fake.url("/v4")
}

fn error(code: u16, status: &str, message: &str) -> Reply {
    Reply::json(code, json!({ "error": { "code": code, "message": message, "status": status } }))
}

impl Api for Sheets {
    fn answer(&mut self, request: &Received) -> Reply {
        let ["v4", "spreadsheets", id, "values", range] =
            request.segments.iter().map(String::as_str).collect::<Vec<_>>()[..]
        else {
            return error(404, "NOT_FOUND", "Requested entity was not found.");
        };
        match request.bearer() {
            Some(token) if token == self.token => {}
            Some(token) => {
                return error(
                    401,
                    "UNAUTHENTICATED",
                    &format!("Request had invalid authentication credentials: {token}"),
                );
            }
            None => return error(401, "UNAUTHENTICATED", "Request is missing required authentication credential."),
        }
        let Some(spreadsheet) = self.spreadsheets.get_mut(id) else {
            return error(404, "NOT_FOUND", "Requested entity was not found.");
        };
        let (range, append) = match range.strip_suffix(":append") {
            Some(range) => (range, true),
            None => (range, false),
        };
        let Some(a1) = A1::parse(range, spreadsheet) else {
            return error(400, "INVALID_ARGUMENT", &format!("Unable to parse range: {range}"));
        };
        let rows = spreadsheet.get_mut(&a1.sheet).unwrap();
        match (&request.method, append) {
            (&Method::GET, false) => values_get(&a1, rows),
            (&Method::POST, true) => {
                if !matches!(request.query.get("valueInputOption").map(String::as_str), Some("RAW" | "USER_ENTERED")) {
                    return error(400, "INVALID_ARGUMENT", "'valueInputOption' is required but not specified");
                }
                let Some(new_rows) = request.body["values"].as_array() else {
                    return error(400, "INVALID_ARGUMENT", "Invalid values: expected a list of rows");
                };
                values_append(&a1, id, rows, new_rows)
            }
            _ => error(404, "NOT_FOUND", "Requested entity was not found."),
        }
    }
}

/// A parsed A1 range on a known sheet; rows from 1, columns from 0, ends inclusive.
#[derive(Debug)]
struct A1 {
    sheet: String,
    first_row: usize,
    last_row: Option<usize>,
    first_column: usize,
    last_column: Option<usize>,
}

impl A1 {
    fn parse(range: &str, spreadsheet: &BTreeMap<String, Vec<Vec<Value>>>) -> Option<Self> {
        let (sheet, cells) = match range.rsplit_once('!') {
            Some((sheet, cells)) => (unquote(sheet), cells),
            None if spreadsheet.contains_key(&unquote(range)) => (unquote(range), ""),
            None => (spreadsheet.keys().next()?.clone(), range),
        };
        if !spreadsheet.contains_key(&sheet) {
            return None;
        }
        let (start, end) = cells.split_once(':').unwrap_or((cells, ""));
        let (first_column, first_row) = cell(start)?;
        let (last_column, last_row) = if cells.contains(':') { cell(end)? } else { (first_column, first_row) };
        Some(Self {
            sheet,
            first_row: first_row.unwrap_or(1),
            last_row,
            first_column: first_column.unwrap_or(0),
            last_column,
        })
    }
}

fn unquote(sheet: &str) -> String {
    match sheet.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        Some(inner) => inner.replace("''", "'"),
        None => sheet.to_owned(),
    }
}

/// `C3` → (Some(2), Some(3)); `C` → (Some(2), None); `3` → (None, Some(3)); `` → (None, None).
fn cell(text: &str) -> Option<(Option<usize>, Option<usize>)> {
    let letters: String = text.chars().take_while(char::is_ascii_alphabetic).collect();
    let digits = &text[letters.len()..];
    if !digits.chars().all(|c| c.is_ascii_digit()) || letters.len() > 3 {
        return None;
    }
    let column = (!letters.is_empty())
        .then(|| letters.to_ascii_uppercase().bytes().fold(0, |acc, b| acc * 26 + usize::from(b - b'A') + 1) - 1);
    let row = if digits.is_empty() { None } else { Some(digits.parse().ok()?) };
    Some((column, row))
}

fn column_name(mut column: usize) -> String {
    let mut name = Vec::new();
    loop {
        name.push(b'A' + (column % 26) as u8);
        if column < 26 {
            break;
        }
        column = column / 26 - 1;
    }
    name.reverse();
    String::from_utf8(name).unwrap()
}

fn is_empty(cell: &Value) -> bool {
    matches!(cell, Value::Null) || cell.as_str() == Some("")
}

fn values_get(a1: &A1, rows: &[Vec<Value>]) -> Reply {
    let last_row = a1.last_row.unwrap_or(rows.len()).min(rows.len());
    let mut values: Vec<Value> = (a1.first_row..=last_row)
        .map(|r| {
            let row = &rows[r - 1];
            let end = a1.last_column.map_or(row.len(), |c| (c + 1).min(row.len()));
            let mut cells: Vec<Value> = row.get(a1.first_column..end).map(<[Value]>::to_vec).unwrap_or_default();
            while cells.last().is_some_and(is_empty) {
                cells.pop();
            }
            Value::Array(cells)
        })
        .collect();
    while values.last().is_some_and(|row| row.as_array().is_some_and(Vec::is_empty)) {
        values.pop();
    }
    let last_column = column_name(a1.last_column.unwrap_or(25));
    let range = format!(
        "{}!{}{}:{last_column}{}",
        a1.sheet,
        column_name(a1.first_column),
        a1.first_row,
        a1.last_row.unwrap_or(1000)
    );
    let mut answer = json!({ "range": range, "majorDimension": "ROWS" });
    if !values.is_empty() {
        answer["values"] = Value::Array(values);
    }
    Reply::ok(answer)
}

fn values_append(a1: &A1, id: &str, rows: &mut Vec<Vec<Value>>, new_rows: &[Value]) -> Reply {
    while rows.last().is_some_and(|row| row.iter().all(is_empty)) {
        rows.pop();
    }
    let first = rows.len() + 1;
    let mut width = 0;
    for new_row in new_rows {
        let cells: Vec<Value> = new_row.as_array().cloned().unwrap_or_default();
        width = width.max(cells.len());
        let mut row = vec![json!(""); a1.first_column];
        row.extend(cells);
        rows.push(row);
    }
    let last = rows.len();
    let updated_range = format!(
        "{}!{}{first}:{}{last}",
        a1.sheet,
        column_name(a1.first_column),
        column_name(a1.first_column + width.max(1) - 1)
    );
    Reply::ok(json!({
        "spreadsheetId": id,
        "tableRange": format!("{}!A1:{}{}", a1.sheet, column_name(width.max(1) - 1), first - 1),
        "updates": {
            "spreadsheetId": id,
            "updatedRange": updated_range,
            "updatedRows": new_rows.len(),
            "updatedColumns": width,
            "updatedCells": new_rows.iter().map(|r| r.as_array().map_or(0, Vec::len)).sum::<usize>(),
        },
    }))
}
