//! Expression syntax, shared by validation (every expression of a graph parses before it can be
//! published) and the engine (which evaluates them with the same minijinja): a string that is
//! exactly one `{{ … }}` is an expression of any value; any other string holding `{{` or `{%` is
//! a template rendered to text. Positions are lines and columns (in characters) within the
//! field's text. An expression reads only the names of the scope ([`SCOPE`]); any other name
//! (`Math`, `DateTime`, a typo) would be undefined at run time, so it is refused like a syntax
//! error.

use minijinja::Environment;

/// Where and why a field's text does not parse (or, from the engine, does not evaluate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub line: usize,
    pub column: usize,
    pub reason: String,
}

/// Whether `text` holds expression syntax at all; plain text is never parsed.
pub fn holds_expression(text: &str) -> bool {
    text.contains("{{") || text.contains("{%")
}

/// `Some((inner, offset of inner))` when `text` is exactly one `{{ … }}` and nothing else.
pub fn lone_expression(text: &str) -> Option<(&str, usize)> {
    let trimmed_start = text.len() - text.trim_start().len();
    let trimmed = text.trim();
    let inner = trimmed.strip_prefix("{{")?.strip_suffix("}}")?;
    if inner.contains("{{") || inner.contains("}}") {
        return None;
    }
    Some((inner, trimmed_start + 2))
}

/// The names an expression reads: the run's data (`trigger`, `steps`, `input`, `item` and
/// `index` in a for-each, `secrets`, `now`) and minijinja's global functions.
pub const SCOPE: [&str; 11] =
    ["trigger", "steps", "input", "item", "index", "secrets", "now", "range", "dict", "namespace", "debug"];

/// Checks that `text` parses as the engine will read it and reads only names of the [`SCOPE`]:
/// `Err` says where it does not.
pub fn check_syntax(text: &str) -> Result<(), Located> {
    if !holds_expression(text) {
        return Ok(());
    }
    // parsing needs no filters or functions: those are looked up when the expression runs
    let env = Environment::empty();
    let names = match lone_expression(text) {
        Some((inner, offset)) => {
            env.compile_expression(inner).map_err(|err| locate(&err, text, offset))?.undeclared_variables(false)
        }
        None => env.template_from_str(text).map_err(|err| locate(&err, text, 0))?.undeclared_variables(false),
    };
    let mut unknown: Vec<String> = names.into_iter().filter(|name| !SCOPE.contains(&name.as_str())).collect();
    unknown.sort_by_key(|name| name_at(text, name).unwrap_or(usize::MAX));
    match unknown.first() {
        None => Ok(()),
        Some(name) => {
            let at = name_at(text, name).unwrap_or(0);
            let (line, column) = line_column(text, at);
            Err(Located {
                line,
                column,
                reason: format!(
                    "unknown name `{name}`: expressions read trigger, steps, input, item, index, secrets and now"
                ),
            })
        }
    }
}

/// Where `name` first stands as a whole word (not after a `.`) in `text`.
fn name_at(text: &str, name: &str) -> Option<usize> {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(name).map(|(at, _)| at).find(|&at| {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        !before.is_some_and(|c| is_word(c) || c == '.') && !after.is_some_and(is_word)
    })
}

/// The line and column (1-based, in characters) of byte `at` in `text`.
fn line_column(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..floor_char_boundary(text, at.min(text.len()))];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, column)
}

/// A minijinja error as a line, column and reason within `text`; `offset` is where the parsed
/// part starts in it.
pub fn locate(err: &minijinja::Error, text: &str, offset: usize) -> Located {
    let start = err.range().map(|r| r.start + offset).unwrap_or(offset).min(text.len());
    let (line, column) = line_column(text, start);
    let reason = match err.detail() {
        Some(detail) => format!("{}: {detail}", err.kind()),
        None => err.kind().to_string(),
    };
    Located { line, column, reason }
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    while index > 0 && !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_engine_reads_parses_and_what_it_cannot_says_where() {
        for fine in [
            "plain text, no expression",
            "{{ trigger.body.name }}",
            "  {{ steps.fetch.output.items[0].id | default('none') }} ",
            "Hello {{ trigger.name | upper }}, you have {{ steps.count.output.n }} items",
            "{% if trigger.vip %}VIP{% else %}guest{% endif %}",
            "{{ trigger.tags | join(', ') }}",
            "{{ secrets.SLACK_TOKEN }}",
            "{{ trigger.x | nope }}",
            "{% for row in input.rows %}{{ loop.index }}: {{ row.name }}{% endfor %}",
            "{% set total = input.a + 1 %}{{ total }} {{ range(3)|list }} at {{ now }}",
            "{{ item.id ~ index }}",
        ] {
            assert_eq!(check_syntax(fine), Ok(()), "{fine}");
        }
        let err = check_syntax("{{ JSON.stringify($json.body) }}").unwrap_err();
        assert_eq!((err.line, err.column), (1, 19), "{err:?}");
        assert!(err.reason.contains("syntax error"), "{err:?}");
        let err = check_syntax("line one\nsecond {{ 1 + }} line").unwrap_err();
        assert_eq!(err.line, 2, "{err:?}");
        assert!(check_syntax("{% if x %}never closed").is_err());
        assert!(check_syntax("{{ “smart quotes” }}").is_err());
        assert_eq!(check_syntax("é {{ ü"), Err(check_syntax("é {{ ü").unwrap_err()), "no panic on multibyte text");
        // names the run does not have would be undefined at run time
        let err = check_syntax("{{ input.n }} and {{ Math.round(input.n) }}").unwrap_err();
        assert_eq!((err.line, err.column), (1, 22), "{err:?}");
        assert!(err.reason.starts_with("unknown name `Math`"), "{err:?}");
        let err = check_syntax("{{ trigger.body.x if tirgger else 1 }}").unwrap_err();
        assert!(err.reason.starts_with("unknown name `tirgger`"), "{err:?}");
        assert!(check_syntax("{{ DateTime.now() }}").is_err());
    }
}
