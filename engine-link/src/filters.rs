//! Filters the engine adds to minijinja's own, for what workflows (and expressions translated from
//! n8n's JavaScript) need beyond them: JSON as text both ways, JavaScript's number conversions and
//! rounding, and dates. Dates are ISO 8601 text (`2026-12-05T09:30:00.000Z`); `now` in the scope
//! is the time the step's expressions were evaluated. Every filter refuses bad input with an
//! error naming what was wrong; none panics.

use std::fmt::Write as _;

use chrono::{DateTime, Months, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc};
use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error, ErrorKind};

/// How the engine writes an instant: UTC, milliseconds, `Z`.
const ISO_UTC: &str = "%Y-%m-%dT%H:%M:%S%.3fZ";

/// Adds the filters to `env`.
pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("json_stringify", json_stringify);
    env.add_filter("json_parse", json_parse);
    env.add_filter("number", number);
    env.add_filter("fixed", fixed);
    env.add_filter("floor", |value: f64| integral(value.floor()));
    env.add_filter("ceil", |value: f64| integral(value.ceil()));
    env.add_filter("format_date", format_date);
    env.add_filter("shift_date", shift_date);
}

/// The current instant as the scope's `now`.
pub(crate) fn now_text() -> String {
    Utc::now().format(ISO_UTC).to_string()
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, message.into())
}

/// Compact JSON text, as JavaScript's `JSON.stringify` writes it.
fn json_stringify(value: Value) -> Result<String, Error> {
    serde_json::to_string(&value).map_err(|err| invalid(format!("cannot be written as JSON: {err}")))
}

/// The value JSON text holds.
fn json_parse(text: &str) -> Result<Value, Error> {
    let parsed: serde_json::Value = serde_json::from_str(text).map_err(|err| invalid(format!("is not JSON: {err}")))?;
    Ok(Value::from(minijinja::value::Serde(&parsed)))
}

/// A number from a number, numeric text, a boolean or none (JavaScript's `Number()`): an integer
/// when it is whole.
fn number(value: Value) -> Result<Value, Error> {
    if value.is_none() || value.is_undefined() {
        return Ok(Value::from(0));
    }
    if value.kind() == minijinja::value::ValueKind::Bool {
        return Ok(Value::from(i64::from(value.is_true())));
    }
    if value.is_number() {
        return Ok(value);
    }
    let Some(text) = value.as_str() else {
        return Err(invalid(format!("`{value}` is not a number")));
    };
    let text = text.trim();
    if text.is_empty() {
        return Ok(Value::from(0));
    }
    let parsed: f64 = text.parse().map_err(|_| invalid(format!("`{text}` is not a number")))?;
    Ok(integral(parsed))
}

/// A whole float as an integer (JavaScript has one number type, so `6 / 2` is `3`), within the
/// range where a float holds every integer.
fn integral(value: f64) -> Value {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if value.fract() == 0.0 && value.abs() < EXACT { Value::from(value as i64) } else { Value::from(value) }
}

/// The number as text with `digits` decimals, as JavaScript's `toFixed`: a tie rounds away from
/// zero.
fn fixed(value: f64, digits: Option<u32>) -> Result<String, Error> {
    let digits = digits.unwrap_or(0);
    if digits > 100 {
        return Err(invalid("fixed: at most 100 digits"));
    }
    if !value.is_finite() {
        return Ok(if value.is_nan() {
            "NaN".into()
        } else if value > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        });
    }
    let digits = digits as usize;
    // the exact decimal expansion decides whether it is a tie (`…5000…`) that formatting would
    // round to even
    let long = format!("{:.*}", digits + 24, value.abs());
    let tail = &long[long.len() - 24..];
    let tie = tail.starts_with('5') && tail[1..].bytes().all(|b| b == b'0');
    let magnitude = if tie {
        let scale = 10f64.powi(digits as i32);
        ((value.abs() * scale).trunc() + 1.0) / scale
    } else {
        value.abs()
    };
    let text = format!("{magnitude:.digits$}");
    Ok(if value < 0.0 { format!("-{text}") } else { text })
}

/// An instant from ISO 8601 text (with or without an offset or a time: without an offset it is
/// read in `zone`, else UTC) or from milliseconds since 1970.
fn instant(value: &Value, zone: Option<chrono_tz::Tz>) -> Result<DateTime<Utc>, Error> {
    if value.is_number() {
        let millis = f64::try_from(value.clone()).map_err(|err| invalid(err.to_string()))?;
        return DateTime::from_timestamp_millis(millis as i64)
            .ok_or_else(|| invalid(format!("`{value}` is out of range")));
    }
    let Some(text) = value.as_str().map(str::trim) else {
        return Err(invalid(format!("`{value}` is not a date")));
    };
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    let local = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .or_else(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)));
    let Some(local) = local else {
        return Err(invalid(format!("`{text}` is not a date (ISO 8601 text or milliseconds since 1970)")));
    };
    match zone {
        Some(zone) => zone
            .from_local_datetime(&local)
            .earliest()
            .map(|at| at.with_timezone(&Utc))
            .ok_or_else(|| invalid(format!("`{text}` does not exist in {zone}"))),
        None => Ok(local.and_utc()),
    }
}

fn zone(name: Option<&str>) -> Result<Option<chrono_tz::Tz>, Error> {
    name.map(|name| name.parse::<chrono_tz::Tz>().map_err(|_| invalid(format!("`{name}` is not a time zone"))))
        .transpose()
}

/// A date written with a strftime `format` (`%Y-%m-%d`), in time zone `tz` (UTC by default).
fn format_date(value: Value, format: &str, tz: Option<&str>) -> Result<String, Error> {
    let zone = zone(tz)?;
    let at = instant(&value, zone)?;
    let mut out = String::new();
    let written = match zone {
        Some(zone) => write!(out, "{}", at.with_timezone(&zone).format(format)),
        None => write!(out, "{}", at.format(format)),
    };
    written.map_err(|_| invalid(format!("`{format}` is not a date format")))?;
    Ok(out)
}

/// A date moved by `years`, `months`, `weeks`, `days`, `hours`, `minutes`, `seconds` and
/// `milliseconds` (each may be negative), as ISO 8601 text in UTC.
fn shift_date(value: Value, kwargs: Kwargs) -> Result<String, Error> {
    let mut at = instant(&value, None)?;
    let amount = |name: &str| -> Result<i64, Error> { Ok(kwargs.get::<Option<i64>>(name)?.unwrap_or(0)) };
    let out_of_range = || invalid("the date is out of range");
    let months = amount("years")?.checked_mul(12).and_then(|m| m.checked_add(amount("months").ok()?));
    let months = months.ok_or_else(out_of_range)?;
    let by = Months::new(u32::try_from(months.unsigned_abs()).map_err(|_| out_of_range())?);
    at = if months >= 0 { at.checked_add_months(by) } else { at.checked_sub_months(by) }.ok_or_else(out_of_range)?;
    for (name, unit) in [
        ("weeks", TimeDelta::try_weeks(1)),
        ("days", TimeDelta::try_days(1)),
        ("hours", TimeDelta::try_hours(1)),
        ("minutes", TimeDelta::try_minutes(1)),
        ("seconds", TimeDelta::try_seconds(1)),
        ("milliseconds", TimeDelta::try_milliseconds(1)),
    ] {
        let count = amount(name)?;
        if count == 0 {
            continue;
        }
        let delta = unit.and_then(|unit| unit.checked_mul(i32::try_from(count).ok()?)).ok_or_else(out_of_range)?;
        at = at.checked_add_signed(delta).ok_or_else(out_of_range)?;
    }
    kwargs.assert_all_used()?;
    Ok(at.format(ISO_UTC).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(expression: &str) -> Result<serde_json::Value, String> {
        let mut env = Environment::new();
        register(&mut env);
        let value = env.compile_expression(expression).and_then(|e| e.eval(())).map_err(|e| e.to_string())?;
        serde_json::to_value(&value).map_err(|e| e.to_string())
    }

    #[track_caller]
    fn ok(expression: &str) -> serde_json::Value {
        eval(expression).unwrap_or_else(|err| panic!("{expression}: {err}"))
    }

    #[test]
    fn json_both_ways() {
        assert_eq!(ok(r#"{"b": [1, "<x>"]}|json_stringify"#), serde_json::json!(r#"{"b":[1,"<x>"]}"#));
        assert_eq!(ok(r#"'{"a": [1, 2.5]}'|json_parse"#), serde_json::json!({ "a": [1, 2.5] }));
        assert!(eval("'{nope'|json_parse").unwrap_err().contains("is not JSON"));
    }

    #[test]
    fn numbers_as_javascript_has_them() {
        assert_eq!(ok("' 42 '|number"), serde_json::json!(42));
        assert_eq!(ok("'4.5'|number"), serde_json::json!(4.5));
        assert_eq!(ok("''|number"), serde_json::json!(0));
        assert_eq!(ok("true|number"), serde_json::json!(1));
        assert!(eval("'12px'|number").unwrap_err().contains("not a number"));
        assert_eq!(ok("(6 / 2)|floor"), serde_json::json!(3));
        assert_eq!(ok("(2.5 + 0.5)|floor"), serde_json::json!(3));
        assert_eq!(ok("(-2.5)|ceil"), serde_json::json!(-2));
        for (value, digits, text) in [
            (1.005, 2, "1.00"),
            (0.125, 2, "0.13"),
            (2.5, 0, "3"),
            (-1.5, 0, "-2"),
            (1234.5678, 2, "1234.57"),
            (-0.001, 2, "-0.00"),
        ] {
            assert_eq!(ok(&format!("{value}|fixed({digits})")), serde_json::json!(text), "{value} {digits}");
        }
        assert_eq!(ok("3|fixed"), serde_json::json!("3"));
    }

    #[test]
    fn dates() {
        let at = "'2026-03-07T21:05:09.250Z'";
        assert_eq!(ok(&format!("{at}|format_date('%Y-%m-%d %H:%M')")), serde_json::json!("2026-03-07 21:05"));
        assert_eq!(ok(&format!("{at}|format_date('%d %b %Y', 'Asia/Tokyo')")), serde_json::json!("08 Mar 2026"));
        assert_eq!(ok(&format!("{at}|format_date('%s%3f')|int")), serde_json::json!(1_772_917_509_250_i64));
        assert_eq!(ok("'2026-01-31'|format_date('%A')"), serde_json::json!("Saturday"));
        assert_eq!(ok("1700000000000|format_date('%Y')"), serde_json::json!("2023"));
        assert_eq!(ok(&format!("{at}|shift_date(days=-7, hours=1)")), serde_json::json!("2026-02-28T22:05:09.250Z"));
        assert_eq!(ok("'2026-01-31'|shift_date(months=1)"), serde_json::json!("2026-02-28T00:00:00.000Z"));
        assert!(eval("'soon'|format_date('%Y')").unwrap_err().contains("is not a date"));
        assert!(eval(&format!("{at}|format_date('%Y', 'Mars/Base')")).unwrap_err().contains("not a time zone"));
        assert!(eval(&format!("{at}|format_date('%Q')")).unwrap_err().contains("not a date format"));
        assert!(eval(&format!("{at}|shift_date(fortnights=1)")).is_err());
        assert!(eval(&format!("{at}|shift_date(years=9999999999)")).unwrap_err().contains("out of range"));
        assert!(now_text().ends_with('Z'));
    }
}
