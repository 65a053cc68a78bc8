//! Times as the dashboard reads and shows them: RFC 3339 text from the API to Unix milliseconds,
//! UTC calendar days, and short human durations. Pure arithmetic (no clock is read here: the
//! caller passes "now"), so it behaves the same natively and in the browser.

/// Milliseconds in one day.
pub const DAY_MS: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let month = i64::from(month);
    let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (inverse of [`days_from_civil`]).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Unix milliseconds of an RFC 3339 time (`2026-11-25T21:41:23.288557Z`, `…+01:00`); `None` when
/// the text is not one.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let text = text.trim();
    let bytes = text.as_bytes();
    if bytes.len() < 20 || bytes[4] != b'-' || bytes[7] != b'-' || !matches!(bytes[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        if part.chars().all(|c| c.is_ascii_digit()) { part.parse().ok() } else { None }
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if bytes[13] != b':' || bytes[16] != b':' {
        return None;
    }
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &text[19..];
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.chars().take_while(char::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let padded = format!("{:0<3}", &fraction[..digits.min(3)]);
        millis = padded.parse().ok()?;
        rest = &fraction[digits..];
    }
    let offset_minutes = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && (rest.starts_with('+') || rest.starts_with('-')) && rest.get(3..4) == Some(":") => {
            let hours: i64 = rest.get(1..3)?.parse().ok()?;
            let minutes: i64 = rest.get(4..6)?.parse().ok()?;
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            sign * (hours * 60 + minutes)
        }
        _ => return None,
    };
    let days = days_from_civil(year, month as u32, day as u32);
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_minutes * 60;
    Some(seconds * 1_000 + millis)
}

/// The UTC day of an instant as `2026-11-25`.
pub fn day_key(ms: i64) -> String {
    let (year, month, day) = civil_from_days(ms.div_euclid(DAY_MS));
    format!("{year:04}-{month:02}-{day:02}")
}

/// An instant as `2026-11-25 21:41:23` (UTC).
pub fn format_datetime(ms: i64) -> String {
    let seconds = ms.div_euclid(1_000).rem_euclid(86_400);
    format!("{} {:02}:{:02}:{:02}", day_key(ms), seconds / 3_600, seconds / 60 % 60, seconds % 60)
}

/// An instant as RFC 3339 in UTC, second precision (for query parameters).
pub fn to_rfc3339(ms: i64) -> String {
    format_datetime(ms).replacen(' ', "T", 1) + "Z"
}

/// The first instant of the UTC month holding `ms`.
pub fn month_start(ms: i64) -> i64 {
    let (year, month, _) = civil_from_days(ms.div_euclid(DAY_MS));
    days_from_civil(year, month, 1) * DAY_MS
}

/// The first instant of the UTC day holding `ms`.
pub fn day_start(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS) * DAY_MS
}

/// Every UTC day from the one holding `from` to the one holding `to`, inclusive, as day keys.
/// At most `max` days (the latest ones) so a silly range cannot build a huge list.
pub fn days_between(from: i64, to: i64, max: usize) -> Vec<String> {
    let (first, last) = (from.div_euclid(DAY_MS), to.div_euclid(DAY_MS));
    if last < first {
        return Vec::new();
    }
    let count = ((last - first + 1) as u64).min(max as u64) as i64;
    (last - count + 1..=last).map(|day| day_key(day * DAY_MS)).collect()
}

/// A duration, short: `850 ms`, `12.3 s`, `4m 05s`, `2h 03m`, `3d 04h`.
pub fn format_duration(ms: i64) -> String {
    let ms = ms.max(0);
    match ms {
        0..1_000 => format!("{ms} ms"),
        1_000..60_000 => format!("{}.{} s", ms / 1_000, ms % 1_000 / 100),
        60_000..3_600_000 => format!("{}m {:02}s", ms / 60_000, ms / 1_000 % 60),
        3_600_000..DAY_MS => format!("{}h {:02}m", ms / 3_600_000, ms / 60_000 % 60),
        _ => format!("{}d {:02}h", ms / DAY_MS, ms / 3_600_000 % 24),
    }
}

/// How long ago `then` was, from `now`: `just now`, `5 min ago`, `3 h ago`, `2 d ago`.
pub fn ago(now: i64, then: i64) -> String {
    let elapsed = (now - then).max(0) / 1_000;
    match elapsed {
        0..45 => "just now".into(),
        45..3_600 => format!("{} min ago", (elapsed / 60).max(1)),
        3_600..86_400 => format!("{} h ago", elapsed / 3_600),
        _ => format!("{} d ago", elapsed / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days_roundtrip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        for days in [-1_000, -1, 0, 59, 60, 11_016, 11_017, 20_000, 20_782, 100_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
    }

    #[test]
    fn parses_the_api_timestamps() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:01.5Z"), Some(1_500));
        let ms = parse_rfc3339("2026-11-25T21:41:23.288557Z").unwrap();
        assert_eq!(ms % 1_000, 288);
        assert_eq!(format_datetime(ms), "2026-11-25 21:41:23");
        assert_eq!(parse_rfc3339("2026-11-25T22:41:23+01:00"), parse_rfc3339("2026-11-25T21:41:23Z"));
        assert_eq!(parse_rfc3339("2026-11-25T20:41:23-01:00"), parse_rfc3339("2026-11-25T21:41:23Z"));
    }

    #[test]
    fn refuses_what_is_not_a_time() {
        for text in [
            "",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-11-25T21:41:23",
            "2026-11-25T21:41:23.Z",
            "2026-11-25T2x:41:23Z",
            "2026-11-25T21:41:23+0100",
            "２０２６-11-25T21:41:23Z",
        ] {
            assert_eq!(parse_rfc3339(text), None, "{text}");
        }
    }

    #[test]
    fn months_and_days() {
        let ms = parse_rfc3339("2026-11-25T21:41:23Z").unwrap();
        assert_eq!(to_rfc3339(month_start(ms)), "2026-11-01T00:00:00Z");
        assert_eq!(to_rfc3339(day_start(ms)), "2026-11-25T00:00:00Z");
        let march = parse_rfc3339("2024-03-01T00:00:00Z").unwrap();
        assert_eq!(days_between(march - DAY_MS, march, 100), vec!["2024-02-29", "2024-03-01"]);
        assert_eq!(days_between(march, march - DAY_MS, 100), Vec::<String>::new());
        assert_eq!(days_between(0, 40 * DAY_MS, 3), vec!["1970-02-08", "1970-02-09", "1970-02-10"]);
    }

    #[test]
    fn durations_and_ages_read_short() {
        assert_eq!(format_duration(-5), "0 ms");
        assert_eq!(format_duration(850), "850 ms");
        assert_eq!(format_duration(12_345), "12.3 s");
        assert_eq!(format_duration(245_000), "4m 05s");
        assert_eq!(format_duration(7_380_000), "2h 03m");
        assert_eq!(format_duration(3 * DAY_MS + 4 * 3_600_000), "3d 04h");
        assert_eq!(ago(10_000, 9_000), "just now");
        assert_eq!(ago(600_000, 0), "10 min ago");
        assert_eq!(ago(4 * 3_600_000, 0), "4 h ago");
        assert_eq!(ago(3 * DAY_MS, 0), "3 d ago");
    }
}
