//! Money as the dashboard shows it. The server counts in micros (millionths of a currency unit)
//! and prices are set in micros, so amounts are shown exactly: a run that cost three tenths of a
//! cent reads `$0.003`, never `$0.00`, and every total agrees with its parts to the micro. Amounts
//! typed by a person are parsed without floating point.

/// Micros in one currency unit.
pub const MICROS_PER_UNIT: i64 = 1_000_000;

/// Why a typed amount was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("enter an amount")]
    Empty,
    #[error("{text:?} is not an amount")]
    NotANumber { text: String },
    #[error("amounts have at most six decimal places")]
    TooPrecise,
    #[error("the amount must be more than zero")]
    NotPositive,
    #[error("the amount is too large")]
    TooLarge,
}

/// Micros shown exactly, with at least two decimals: `3_000` is `$0.003`, `1_500_000` is `$1.50`,
/// `-1` is `-$0.000001`.
pub fn format_micros(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let micros = micros.unsigned_abs();
    let unit = MICROS_PER_UNIT.unsigned_abs();
    let mut fraction = format!("{:06}", micros % unit);
    while fraction.len() > 2 && fraction.ends_with('0') {
        fraction.pop();
    }
    format!("{sign}${}.{fraction}", group_thousands(micros / unit))
}

/// `1234567` as `1,234,567`.
pub fn group_thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A positive amount typed by a person (`12`, `12.5`, `$1,000.25`) in micros, exactly.
pub fn parse_amount(text: &str) -> Result<i64, AmountError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(AmountError::Empty);
    }
    let cleaned: String = trimmed.trim_start_matches('$').chars().filter(|c| *c != ',').collect();
    let bad = || AmountError::NotANumber { text: trimmed.to_owned() };
    if cleaned.starts_with('-') {
        return Err(AmountError::NotPositive);
    }
    let (whole, fraction) = cleaned.split_once('.').unwrap_or((cleaned.as_str(), ""));
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return Err(bad());
    }
    if fraction.len() > 6 {
        return Err(AmountError::TooPrecise);
    }
    let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| AmountError::TooLarge)? };
    let padded = format!("{fraction:0<6}");
    let fraction: i64 = padded.parse().map_err(|_| bad())?;
    let micros =
        whole.checked_mul(MICROS_PER_UNIT).and_then(|w| w.checked_add(fraction)).ok_or(AmountError::TooLarge)?;
    if micros <= 0 {
        return Err(AmountError::NotPositive);
    }
    Ok(micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_shown_to_the_micro() {
        assert_eq!(format_micros(200), "$0.0002");
        assert_eq!(format_micros(1_000), "$0.001");
        assert_eq!(format_micros(3_000), "$0.003", "a few steps' cost is not $0.00");
        assert_eq!(format_micros(1_500_000), "$1.50");
        assert_eq!(format_micros(100_000), "$0.10");
        assert_eq!(format_micros(0), "$0.00");
        assert_eq!(format_micros(-1), "-$0.000001");
        assert_eq!(format_micros(-50_000), "-$0.05");
        assert_eq!(format_micros(1_234_567), "$1.234567");
        assert_eq!(format_micros(1_234_567_890_000), "$1,234,567.89");
    }

    #[test]
    fn groups_thousands() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1_000), "1,000");
        assert_eq!(group_thousands(12_345_678), "12,345,678");
    }

    #[test]
    fn parses_typed_amounts_exactly() {
        assert_eq!(parse_amount("12"), Ok(12_000_000));
        assert_eq!(parse_amount(" $12.5 "), Ok(12_500_000));
        assert_eq!(parse_amount("0.01"), Ok(10_000));
        assert_eq!(parse_amount(".5"), Ok(500_000));
        assert_eq!(parse_amount("1,000.25"), Ok(1_000_250_000));
        assert_eq!(parse_amount("0.000001"), Ok(1));
        assert_eq!(parse_amount("0.29"), Ok(290_000), "no binary floating point on the way");
    }

    #[test]
    fn refuses_bad_amounts() {
        assert_eq!(parse_amount(""), Err(AmountError::Empty));
        assert_eq!(parse_amount("0"), Err(AmountError::NotPositive));
        assert_eq!(parse_amount("-3"), Err(AmountError::NotPositive));
        assert_eq!(parse_amount("1.0000001"), Err(AmountError::TooPrecise));
        assert!(matches!(parse_amount("abc"), Err(AmountError::NotANumber { .. })));
        assert!(matches!(parse_amount("1.2.3"), Err(AmountError::NotANumber { .. })));
        assert!(matches!(parse_amount("."), Err(AmountError::NotANumber { .. })));
        assert_eq!(parse_amount("99999999999999999999"), Err(AmountError::TooLarge));
        assert_eq!(parse_amount("9223372036855"), Err(AmountError::TooLarge));
    }
}
