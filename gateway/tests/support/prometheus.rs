//! A small strict parser of the Prometheus text exposition format (version 0.0.4), for tests that
//! read `/metrics`: `# HELP` and `# TYPE` lines, samples with escaped label values, histogram
//! families. Anything malformed is an error naming the line, never skipped.

use std::collections::BTreeMap;

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A metric family: its type, help and samples (a histogram's `_bucket`, `_sum`, `_count`).
#[derive(Debug, Clone, Default)]
pub struct Family {
    pub kind: Option<String>,
    pub help: Option<String>,
    pub samples: Vec<Sample>,
}

/// A whole exposition, families by name.
#[derive(Debug, Default)]
pub struct Exposition {
    pub families: BTreeMap<String, Family>,
}

impl Exposition {
    pub fn family(&self, name: &str) -> &Family {
        self.families.get(name).unwrap_or_else(|| panic!("no metric family {name}"))
    }

    /// The value of the sample `name` whose labels are exactly `labels`.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let wanted: BTreeMap<String, String> = labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        self.families
            .values()
            .flat_map(|family| &family.samples)
            .find(|sample| sample.name == name && sample.labels == wanted)
            .map(|sample| sample.value)
    }
}

/// Parses `text`, checking names, escapes, types, duplicate series and histogram consistency.
pub fn parse(text: &str) -> Result<Exposition, String> {
    let mut exposition = Exposition::default();
    let mut seen = std::collections::BTreeSet::new();
    for (number, line) in text.lines().enumerate() {
        let at = |why: &str| format!("line {}: {why}: {line:?}", number + 1);
        if line.trim().is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            check_metric_name(name).map_err(|e| at(&e))?;
            let family = exposition.families.entry(name.to_owned()).or_default();
            if family.help.replace(unescape(help, false).map_err(|e| at(&e))?).is_some() {
                return Err(at("second HELP"));
            }
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').ok_or_else(|| at("TYPE without a type"))?;
            check_metric_name(name).map_err(|e| at(&e))?;
            if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                return Err(at("unknown type"));
            }
            let family = exposition.families.entry(name.to_owned()).or_default();
            if !family.samples.is_empty() {
                return Err(at("TYPE after the family's samples"));
            }
            if family.kind.replace(kind.to_owned()).is_some() {
                return Err(at("second TYPE"));
            }
        } else if line.starts_with('#') {
            continue;
        } else {
            let sample = parse_sample(line).map_err(|e| at(&e))?;
            if !seen.insert((sample.name.clone(), sample.labels.clone())) {
                return Err(at("duplicate series"));
            }
            let family = family_of(&exposition, &sample.name);
            exposition.families.entry(family).or_default().samples.push(sample);
        }
    }
    for (name, family) in &exposition.families {
        if family.kind.as_deref() == Some("histogram") {
            check_histogram(name, family)?;
        }
    }
    Ok(exposition)
}

/// The family a sample belongs to: its own name, or a histogram/summary it is a part of.
fn family_of(exposition: &Exposition, sample: &str) -> String {
    if exposition.families.get(sample).is_some_and(|f| f.kind.is_some()) {
        return sample.to_owned();
    }
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = sample.strip_suffix(suffix)
            && let Some(family) = exposition.families.get(base)
            && matches!(family.kind.as_deref(), Some("histogram" | "summary"))
        {
            return base.to_owned();
        }
    }
    sample.to_owned()
}

fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line.find(['{', ' ']).ok_or("sample without a value")?;
    let name = &line[..name_end];
    check_metric_name(name)?;
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(after) = rest.strip_prefix('{') {
        let mut chars = after.char_indices().peekable();
        let mut consumed = None;
        loop {
            while chars.peek().is_some_and(|(_, c)| *c == ',' || *c == ' ') {
                chars.next();
            }
            match chars.peek() {
                Some((i, '}')) => {
                    consumed = Some(i + 1);
                    break;
                }
                None => break,
                Some(_) => {}
            }
            let mut key = String::new();
            for (_, c) in chars.by_ref() {
                if c == '=' {
                    break;
                }
                key.push(c);
            }
            check_label_name(&key)?;
            if chars.next().map(|(_, c)| c) != Some('"') {
                return Err(format!("label {key} value is not quoted"));
            }
            let mut raw = String::new();
            let mut closed = false;
            while let Some((_, c)) = chars.next() {
                match c {
                    '\\' => {
                        raw.push('\\');
                        raw.push(chars.next().ok_or("dangling escape")?.1);
                    }
                    '"' => {
                        closed = true;
                        break;
                    }
                    '\n' => return Err("raw newline in a label value".into()),
                    c => raw.push(c),
                }
            }
            if !closed {
                return Err(format!("label {key} value is not closed"));
            }
            if labels.insert(key.clone(), unescape(&raw, true)?).is_some() {
                return Err(format!("label {key} twice"));
            }
            match chars.peek() {
                Some((_, ',' | '}')) => {}
                _ => return Err("labels must be separated by commas".into()),
            }
        }
        rest = &after[consumed.ok_or("labels not closed")?..];
    }
    let mut fields = rest.split(' ').filter(|f| !f.is_empty());
    let value = parse_value(fields.next().ok_or("sample without a value")?)?;
    if let Some(timestamp) = fields.next() {
        timestamp.parse::<i64>().map_err(|_| format!("bad timestamp {timestamp}"))?;
    }
    if fields.next().is_some() {
        return Err("trailing text after the sample".into());
    }
    if !rest.starts_with(' ') {
        return Err("no space before the value".into());
    }
    Ok(Sample { name: name.to_owned(), labels, value })
}

fn parse_value(text: &str) -> Result<f64, String> {
    match text {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => text.parse::<f64>().map_err(|_| format!("bad value {text}")),
    }
}

/// Undoes `\\` and `\n` (and `\"` inside label values).
fn unescape(text: &str, quotes: bool) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if quotes => out.push('"'),
            other => return Err(format!("bad escape \\{other:?}")),
        }
    }
    Ok(out)
}

fn check_metric_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':');
    if first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
        Ok(())
    } else {
        Err(format!("bad metric name {name:?}"))
    }
}

fn check_label_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(())
    } else {
        Err(format!("bad label name {name:?}"))
    }
}

/// Each series of a histogram: buckets with `le`, cumulative, ending at `+Inf` equal to `_count`,
/// and a `_sum`.
fn check_histogram(name: &str, family: &Family) -> Result<(), String> {
    let mut series: BTreeMap<BTreeMap<String, String>, Vec<(f64, f64)>> = BTreeMap::new();
    for sample in family.samples.iter().filter(|s| s.name == format!("{name}_bucket")) {
        let mut labels = sample.labels.clone();
        let le = labels.remove("le").ok_or_else(|| format!("{name}: a bucket without le"))?;
        series.entry(labels).or_default().push((parse_value(&le)?, sample.value));
    }
    for (labels, mut buckets) in series {
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        if buckets.windows(2).any(|w| w[1].1 < w[0].1) {
            return Err(format!("{name}{labels:?}: buckets are not cumulative"));
        }
        let last = buckets.last().ok_or_else(|| format!("{name}: no buckets"))?;
        if last.0 != f64::INFINITY {
            return Err(format!("{name}{labels:?}: no +Inf bucket"));
        }
        let find = |suffix: &str| {
            family.samples.iter().find(|s| s.name == format!("{name}{suffix}") && s.labels == labels).map(|s| s.value)
        };
        if find("_count") != Some(last.1) {
            return Err(format!("{name}{labels:?}: _count differs from the +Inf bucket"));
        }
        if find("_sum").is_none() {
            return Err(format!("{name}{labels:?}: no _sum"));
        }
    }
    Ok(())
}

#[test]
fn the_parser_reads_the_format_and_refuses_what_is_malformed() {
    let text = "# HELP req_total Requests, \\\\ and \\n escaped\n# TYPE req_total counter\n\
                req_total{route=\"/a/{id}\",q=\"say \\\"hi\\\"\"} 3\nreq_total 1 1700000000000\n\
                # TYPE d histogram\nd_bucket{le=\"0.5\"} 1\nd_bucket{le=\"+Inf\"} 2\nd_sum 0.7\nd_count 2\n";
    let parsed = parse(text).unwrap();
    assert_eq!(parsed.family("req_total").help.as_deref(), Some("Requests, \\ and \n escaped"));
    assert_eq!(parsed.value("req_total", &[("route", "/a/{id}"), ("q", "say \"hi\"")]), Some(3.0));
    assert_eq!(parsed.value("d_count", &[]), Some(2.0));
    for bad in [
        "req_total{route=\"/a\"} x\n",
        "req_total{route=/a} 1\n",
        "req_total{route=\"/a\" 1\n",
        "1req 1\n",
        "req_total 1\nreq_total 2\n",
        "# TYPE d histogram\nd_bucket{le=\"+Inf\"} 2\nd_sum 1\nd_count 3\n",
        "# TYPE d gauge\n# TYPE d counter\n",
        "req_total{a=\"1\"b=\"2\"} 1\n",
        "req_total 1 2 3\n",
    ] {
        assert!(parse(bad).is_err(), "accepted {bad:?}");
    }
}
