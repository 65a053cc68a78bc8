//! n8n schedules to cron expressions: the Schedule Trigger's `rule.interval` and the old Cron
//! node's `triggerTimes`. Days of the week are written as names (`MON`), because the scheduler's
//! cron reads numbers differently from the 0 = Sunday of standard cron.

use serde_json::{Map, Value};

const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// The cron expression of a Schedule Trigger's parameters, or why there is none.
pub(super) fn schedule_trigger_cron(parameters: &Map<String, Value>) -> Result<String, String> {
    let intervals = parameters
        .get("rule")
        .and_then(|rule| rule.get("interval"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_else(|| vec![Value::Object(Map::new())]);
    let [interval] = intervals.as_slice() else {
        return Err(format!("{} schedule rules; a schedule here has one cron expression", intervals.len()));
    };
    let empty = Map::new();
    let rule = interval.as_object().unwrap_or(&empty);
    let number = |key: &str, default: u64| rule.get(key).and_then(Value::as_u64).unwrap_or(default);
    let minute = number("triggerAtMinute", 0);
    let hour = number("triggerAtHour", 0);
    let field = rule.get("field").and_then(Value::as_str).unwrap_or("days");
    let cron = match field {
        "seconds" => format!("*/{} * * * * *", number("secondsInterval", 30)),
        "minutes" => every("*", number("minutesInterval", 5), "* * * *"),
        "hours" => format!("{minute} {}", every("*", number("hoursInterval", 1), "* * *")),
        "days" => match number("daysInterval", 1) {
            1 => format!("{minute} {hour} * * *"),
            n => return Err(format!("every {n} days has no exact cron expression")),
        },
        "weeks" => {
            let weeks = number("weeksInterval", 1);
            if weeks != 1 {
                return Err(format!("every {weeks} weeks has no cron expression"));
            }
            let days = match rule.get("triggerAtDay").and_then(Value::as_array) {
                Some(days) if !days.is_empty() => {
                    days.iter().map(|d| d.as_u64().and_then(day_name)).collect::<Option<Vec<_>>>()
                }
                _ => Some(vec!["SUN"]),
            };
            let days = days.ok_or_else(|| "a weekday that is not 0 to 6".to_owned())?;
            format!("{minute} {hour} * * {}", days.join(","))
        }
        "months" => {
            let day = number("triggerAtDayOfMonth", 1);
            format!("{minute} {hour} {day} {}", every("*", number("monthsInterval", 1), "*"))
        }
        "cronExpression" => {
            let expression = rule.get("expression").and_then(Value::as_str).unwrap_or_default();
            return custom(expression);
        }
        other => return Err(format!("schedule field {other} is not known")),
    };
    check(cron)
}

/// The cron expression of an old Cron node's parameters, or why there is none.
pub(super) fn cron_node_cron(parameters: &Map<String, Value>) -> Result<String, String> {
    let items = parameters
        .get("triggerTimes")
        .and_then(|times| times.get("item"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let [item] = items.as_slice() else {
        return Err(format!("{} trigger times; a schedule here has one cron expression", items.len()));
    };
    let empty = Map::new();
    let item = item.as_object().unwrap_or(&empty);
    let number = |key: &str, default: u64| item.get(key).and_then(Value::as_u64).unwrap_or(default);
    let minute = number("minute", 0);
    let hour = number("hour", 14);
    let mode = item.get("mode").and_then(Value::as_str).unwrap_or("everyDay");
    let cron = match mode {
        "everyMinute" => "* * * * *".to_owned(),
        "everyHour" => format!("{minute} * * * *"),
        "everyDay" => format!("{minute} {hour} * * *"),
        "everyWeek" => {
            let weekday = match item.get("weekday") {
                Some(Value::String(text)) => text.parse::<u64>().ok(),
                Some(other) => other.as_u64(),
                None => Some(1),
            };
            let day = weekday.and_then(day_name).ok_or_else(|| "a weekday that is not 0 to 6".to_owned())?;
            format!("{minute} {hour} * * {day}")
        }
        "everyMonth" => format!("{minute} {hour} {} * *", number("dayOfMonth", 1)),
        "everyX" => {
            let value = number("value", 2);
            match item.get("unit").and_then(Value::as_str).unwrap_or("hours") {
                "minutes" => every("*", value, "* * * *"),
                "hours" => format!("0 {}", every("*", value, "* * *")),
                other => return Err(format!("every {value} {other} has no cron expression")),
            }
        }
        "custom" => {
            let expression = item.get("cronExpression").and_then(Value::as_str).unwrap_or_default();
            return custom(expression);
        }
        other => return Err(format!("cron mode {other} is not known")),
    };
    check(cron)
}

/// `*/n` (or `*` for every one) followed by the remaining fields.
fn every(all: &str, n: u64, rest: &str) -> String {
    if n <= 1 { format!("{all} {rest}") } else { format!("*/{n} {rest}") }
}

fn day_name(day: u64) -> Option<&'static str> {
    DAYS.get(usize::try_from(day % 7).ok()?).copied().filter(|_| day <= 7)
}

/// A written cron expression, with the numbers of its day-of-week field turned into names.
fn custom(expression: &str) -> Result<String, String> {
    let mut fields: Vec<String> = expression.split_whitespace().map(str::to_owned).collect();
    if !(5..=6).contains(&fields.len()) {
        return Err(format!("cron expression {expression:?} does not have 5 or 6 fields"));
    }
    if let Some(last) = fields.last_mut() {
        *last = weekday_names(last).ok_or_else(|| format!("cron expression {expression:?} has an unknown weekday"))?;
    }
    check(fields.join(" "))
}

/// The day-of-week field with each day number 0..=7 written as a name; steps (`*/2`) stay.
fn weekday_names(field: &str) -> Option<String> {
    let mut out = String::new();
    let mut digits = String::new();
    let mut after_slash = false;
    for c in field.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        if !digits.is_empty() {
            if after_slash {
                out.push_str(&digits);
            } else {
                out.push_str(day_name(digits.parse().ok()?)?);
            }
            digits.clear();
        }
        after_slash = c == '/';
        if c != ' ' {
            out.push(c);
        }
    }
    Some(out)
}

/// Refuses out-of-range numbers that would make the expression fail in the scheduler.
fn check(cron: String) -> Result<String, String> {
    let fields: Vec<&str> = cron.split_whitespace().collect();
    let limits: &[u64] = if fields.len() == 6 { &[59, 59, 23, 31, 12] } else { &[59, 23, 31, 12] };
    for (field, limit) in fields.iter().zip(limits) {
        let too_big = field
            .split(|c: char| !c.is_ascii_digit())
            .filter(|n| !n.is_empty())
            .any(|n| n.parse::<u64>().map_or(true, |n| n > *limit));
        if too_big {
            return Err(format!("cron expression {cron:?} has a number out of range"));
        }
    }
    Ok(cron)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(interval: Value) -> Result<String, String> {
        let parameters = json!({"rule": {"interval": [interval]}});
        schedule_trigger_cron(parameters.as_object().unwrap())
    }

    #[test]
    fn schedule_trigger_rules() {
        assert_eq!(rule(json!({})).unwrap(), "0 0 * * *");
        assert_eq!(rule(json!({"field": "minutes", "minutesInterval": 15})).unwrap(), "*/15 * * * *");
        assert_eq!(rule(json!({"field": "hours", "hoursInterval": 2, "triggerAtMinute": 30})).unwrap(), "30 */2 * * *");
        assert_eq!(rule(json!({"field": "hours"})).unwrap(), "0 * * * *");
        assert_eq!(rule(json!({"field": "days", "triggerAtHour": 9})).unwrap(), "0 9 * * *");
        assert_eq!(
            rule(json!({"field": "weeks", "triggerAtDay": [1, 5], "triggerAtHour": 8})).unwrap(),
            "0 8 * * MON,FRI"
        );
        assert_eq!(rule(json!({"field": "months", "triggerAtDayOfMonth": 15})).unwrap(), "0 0 15 * *");
        assert_eq!(rule(json!({"field": "seconds", "secondsInterval": 10})).unwrap(), "*/10 * * * * *");
        assert_eq!(rule(json!({"field": "cronExpression", "expression": "0 9 * * 1-5"})).unwrap(), "0 9 * * MON-FRI");
        assert!(rule(json!({"field": "days", "daysInterval": 3})).is_err());
        assert!(rule(json!({"field": "weeks", "weeksInterval": 2})).is_err());
        assert!(rule(json!({"field": "days", "triggerAtHour": 25})).is_err());
        assert!(rule(json!({"field": "cronExpression", "expression": "every day"})).is_err());
        let two = json!({"rule": {"interval": [{}, {}]}});
        assert!(schedule_trigger_cron(two.as_object().unwrap()).is_err());
    }

    #[test]
    fn cron_node_modes() {
        let cron = |item: Value| cron_node_cron(json!({"triggerTimes": {"item": [item]}}).as_object().unwrap());
        assert_eq!(cron(json!({"mode": "everyMinute"})).unwrap(), "* * * * *");
        assert_eq!(cron(json!({"mode": "everyDay", "hour": 9, "minute": 30})).unwrap(), "30 9 * * *");
        assert_eq!(cron(json!({"mode": "everyWeek", "hour": 9, "weekday": "1"})).unwrap(), "0 9 * * MON");
        assert_eq!(cron(json!({"mode": "everyX", "value": 10, "unit": "minutes"})).unwrap(), "*/10 * * * *");
        assert_eq!(cron(json!({"mode": "custom", "cronExpression": "0 */5 * * * 0"})).unwrap(), "0 */5 * * * SUN");
        assert!(cron_node_cron(&Map::new()).is_err());
    }

    #[test]
    fn weekday_fields() {
        assert_eq!(weekday_names("*/2").as_deref(), Some("*/2"));
        assert_eq!(weekday_names("0,6").as_deref(), Some("SUN,SAT"));
        assert_eq!(weekday_names("MON-FRI").as_deref(), Some("MON-FRI"));
        assert_eq!(weekday_names("9"), None);
    }
}
