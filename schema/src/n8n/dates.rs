//! n8n's dates are Luxon `DateTime`s; ours are ISO 8601 text that the engine's `format_date` and
//! `shift_date` filters read. This turns Luxon's format tokens (`yyyy-MM-dd HH:mm`) into the
//! strftime patterns `format_date` takes, and names Luxon's duration units as `shift_date`'s.

/// The strftime pattern for a Luxon `toFormat` pattern, or `None` when it uses a token with no
/// equivalent (quarters, locale-dependent macros beyond the common ones).
pub(super) fn strftime(luxon: &str) -> Option<String> {
    let chars: Vec<char> = luxon.chars().collect();
    let mut out = String::with_capacity(luxon.len() * 2);
    let mut at = 0;
    while at < chars.len() {
        let c = chars[at];
        if c == '\'' {
            // quoted literal text; `''` is a quote
            at += 1;
            if chars.get(at) == Some(&'\'') {
                out.push('\'');
                at += 1;
                continue;
            }
            loop {
                let next = *chars.get(at)?;
                at += 1;
                if next == '\'' {
                    break;
                }
                literal(&mut out, next);
            }
            continue;
        }
        if !c.is_ascii_alphabetic() {
            literal(&mut out, c);
            at += 1;
            continue;
        }
        let run = chars[at..].iter().take_while(|&&x| x == c).count();
        at += run;
        out.push_str(token(c, run)?);
    }
    Some(out)
}

fn literal(out: &mut String, c: char) {
    if c == '%' {
        out.push_str("%%");
    } else {
        out.push(c);
    }
}

/// One Luxon token: a letter repeated `run` times.
fn token(letter: char, run: usize) -> Option<&'static str> {
    Some(match (letter, run) {
        ('y', 1 | 4) => "%Y",
        ('y', 2) => "%y",
        ('M' | 'L', 1) => "%-m",
        ('M' | 'L', 2) => "%m",
        ('M' | 'L', 3) => "%b",
        ('M' | 'L', 4) => "%B",
        ('d', 1) => "%-d",
        ('d', 2) => "%d",
        ('H', 1) => "%-H",
        ('H', 2) => "%H",
        ('h', 1) => "%-I",
        ('h', 2) => "%I",
        ('m', 1) => "%-M",
        ('m', 2) => "%M",
        ('s', 1) => "%-S",
        ('s', 2) => "%S",
        ('S', 3) => "%3f",
        ('a', 1) => "%p",
        ('E' | 'c', 1) => "%u",
        ('E' | 'c', 3) => "%a",
        ('E' | 'c', 4) => "%A",
        ('Z', 2) => "%:z",
        ('Z', 3) => "%z",
        ('o', 1) => "%-j",
        ('o', 3) => "%j",
        ('W', 1) => "%-V",
        ('W', 2) => "%V",
        ('k', 4) => "%G",
        // the macro formats as n8n's default locale (en-US) writes them
        ('D', 1) => "%-m/%-d/%Y",
        ('D', 2) => "%b %-d, %Y",
        ('D', 3) => "%B %-d, %Y",
        ('t', 1) => "%-I:%M %p",
        ('T', 1) => "%H:%M",
        _ => return None,
    })
}

/// `shift_date`'s argument for a Luxon duration unit (`days`, `day`), and how many of it one of
/// Luxon's is (a quarter is three months).
pub(super) fn unit(luxon: &str) -> Option<(&'static str, i64)> {
    Some(match luxon.trim_end_matches('s') {
        "year" => ("years", 1),
        "quarter" => ("months", 3),
        "month" => ("months", 1),
        "week" => ("weeks", 1),
        "day" => ("days", 1),
        "hour" => ("hours", 1),
        "minute" => ("minutes", 1),
        "second" => ("seconds", 1),
        "millisecond" => ("milliseconds", 1),
        _ => return None,
    })
}

/// The strftime pattern of Luxon's `startOf(unit)`, without the offset.
pub(super) fn start_of(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "year" => "%Y-01-01T00:00:00.000",
        "month" => "%Y-%m-01T00:00:00.000",
        "day" => "%Y-%m-%dT00:00:00.000",
        "hour" => "%Y-%m-%dT%H:00:00.000",
        "minute" => "%Y-%m-%dT%H:%M:00.000",
        _ => return None,
    })
}

/// The strftime pattern of a Luxon property read as a number (`month` is 1 to 12, `weekday` 1 is
/// Monday).
pub(super) fn property(name: &str) -> Option<&'static str> {
    Some(match name {
        "year" => "%Y",
        "month" => "%m",
        "day" => "%d",
        "hour" => "%H",
        "minute" => "%M",
        "second" => "%S",
        "millisecond" => "%3f",
        "weekday" => "%u",
        "ordinal" => "%j",
        "weekNumber" => "%V",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luxon_patterns() {
        assert_eq!(strftime("yyyy-MM-dd HH:mm:ss").as_deref(), Some("%Y-%m-%d %H:%M:%S"));
        assert_eq!(strftime("dd LLL yyyy").as_deref(), Some("%d %b %Y"));
        assert_eq!(strftime("EEEE, MMMM d 'at' h:mm a").as_deref(), Some("%A, %B %-d at %-I:%M %p"));
        assert_eq!(strftime("'at' HH'h' 100%").as_deref(), Some("at %Hh 100%%"));
        assert_eq!(strftime("h''mm").as_deref(), Some("%-I'%M"));
        assert_eq!(strftime("DD").as_deref(), Some("%b %-d, %Y"));
        assert_eq!(strftime("yyyy-'Q'q"), None);
        assert_eq!(strftime("'open"), None);
        assert_eq!(unit("days"), Some(("days", 1)));
        assert_eq!(unit("quarter"), Some(("months", 3)));
        assert_eq!(unit("fortnight"), None);
    }
}
