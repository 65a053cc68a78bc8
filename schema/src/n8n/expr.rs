//! n8n expressions to AutomateOS expressions. n8n writes a parameter that holds expressions as a
//! string starting with `=`, with JavaScript inside `{{ … }}` blocks; ours are minijinja. What
//! real workflows use is translated:
//!
//! - data: `$json.x`, `$input.item.json.x`, `$input.first().json.x` → `input.x`;
//!   `$node["Name"].json.x`, `$('Name').item.json.x` (also `.first()`, `.last()`),
//!   `$items("Name")[0].json.x` → `steps.<id>.output.x`; `.all()` is a list of the one output a
//!   step has (`.length`, `[0].json.x`, `.map(i => i.json.x)`)
//! - operators with JavaScript's precedence: `===`/`!==` → `==`/`!=`, `&&`/`||`/`!` →
//!   `and`/`or`/`not` (which give a value, like JavaScript's), `+` beside text → `~`, ternaries →
//!   `a if c else b`, `a ?? b`, optional chaining (`a?.b` is null where `a` is missing), template
//!   literals
//! - methods: `.length`, `toLowerCase`, `toUpperCase`, `trim`, `toString`, `includes`,
//!   `startsWith`, `endsWith`, `split`, `join`, `replace`, `replaceAll`, `slice`, `substring`,
//!   `charAt`, `toFixed`, `map`/`filter` of a field (`x => x.a`, `x => x.a === 'v'`), and n8n's
//!   `first`, `last`, `sum`, `isEmpty`, `toTitleCase`
//! - functions: `JSON.stringify`/`JSON.parse`, `Math.round/floor/ceil/trunc/abs/min/max/pow`,
//!   `parseInt`, `parseFloat`, `Number`, `String`, `Boolean`, `Object.keys`
//! - dates (Luxon): `$now`, `$today`, `DateTime.now()/fromISO(…)`, `new Date(…)`, then `plus`,
//!   `minus`, `setZone`, `startOf`, `toFormat` (Luxon tokens, see `dates`), `toISO`,
//!   `toISODate`, `toMillis`, `toSeconds`, and `year`, `month`, `day`, `weekday`… in the
//!   workflow's time zone (`settings.timezone`, else UTC)
//!
//! Where an n8n node outputs the body of an HTTP response and ours outputs
//! `{status, headers, body}`, `.body` is inserted after the reference; behind an OpenAI step, the
//! reply's text (`message.content`, `text`, `choices[0].message.content`) is our `content`.
//! Anything else (`$execution`, `$vars`, regular expressions, functions with bodies, other
//! methods) is not translated: the caller keeps the text verbatim and reports it, and validation
//! refuses it on its node and field.

/// What a reference to another node's data becomes, supplied by the importer.
pub(super) trait Resolve {
    /// The base of `$json`: `input`, or `input.body` behind an HTTP request.
    fn input_base(&self) -> Base;
    /// The base of a named node's data: `steps.<id>.output` (plus `.body` for HTTP), or `None`
    /// when the workflow has no node of that name.
    fn step_base(&self, n8n_name: &str) -> Option<Base>;
    /// The time zone n8n showed the workflow's dates in (`settings.timezone`).
    fn timezone(&self) -> Option<&str> {
        None
    }
}

/// A reference's translation and the shape of the data it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Base {
    pub text: String,
    /// Paths (as tokens after the base) where n8n's node kept a field that ours names
    /// differently, and our name.
    pub aliases: &'static [(&'static [&'static str], &'static str)],
}

impl Base {
    pub fn plain(text: impl Into<String>) -> Self {
        Self { text: text.into(), aliases: &[] }
    }
}

/// Where n8n's OpenAI nodes give the reply's text; ours is `content`.
pub(super) const OPENAI_ALIASES: &[(&[&str], &str)] = &[
    (&[".", "message", ".", "content"], "content"),
    (&[".", "choices", "[", "0", "]", ".", "message", ".", "content"], "content"),
    (&[".", "choices", "[", "0", "]", ".", "text"], "content"),
    (&[".", "text"], "content"),
    // an AI Agent's or LLM chain's answer
    (&[".", "output"], "content"),
];

/// n8n's Schedule Trigger gives the time it fired as `timestamp`; ours is `fired_at`.
pub(super) const SCHEDULE_ALIASES: &[(&[&str], &str)] = &[(&[".", "timestamp"], "fired_at")];

/// The text of an n8n parameter (without the leading `=`) with every `{{ … }}` block translated;
/// a block that cannot be is kept as written. Returns the text and the blocks kept as written;
/// `None` when the blocks are not well formed (an unclosed `{{`).
pub(super) fn convert_template(text: &str, refs: &dyn Resolve) -> Option<(String, Vec<String>)> {
    let mut out = String::with_capacity(text.len());
    let mut kept = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let inner = &rest[open + 2..];
        let close = inner.find("}}")?;
        match convert_expression(&inner[..close], refs) {
            Some(expression) => {
                out.push_str("{{ ");
                out.push_str(&expression);
                out.push_str(" }}");
            }
            None => {
                let block = &rest[open..open + 2 + close + 2];
                out.push_str(block);
                kept.push(block.to_owned());
            }
        }
        rest = &inner[close + 2..];
    }
    if rest.contains("}}") {
        return None;
    }
    out.push_str(rest);
    Some((out, kept))
}

/// One JavaScript expression (the inside of a `{{ … }}` block) as a minijinja expression.
pub(super) fn convert_expression(js: &str, refs: &dyn Resolve) -> Option<String> {
    let tokens = tokenize(js)?;
    if tokens.is_empty() {
        return None;
    }
    let mut parser = Parser { tokens: &tokens, at: 0, refs, depth: 0 };
    let out = parser.expression()?;
    // a translation is a few times its source at most; anything more is refused, never built on
    (parser.at == tokens.len() && out.len() <= MAX_GROWTH * js.len() + 256 && nesting(&out) <= MAX_NESTING)
        .then_some(out)
}

/// One expression translated against a fixed workflow (nodes `Webhook`, an HTTP request `Fetch`
/// and an OpenAI step `Ask AI`), its dates in `Europe/Berlin` when `zoned`: for the fuzz entry
/// point, which checks that whatever the translator emits parses.
pub(crate) fn convert_for_fuzzing(js: &str, zoned: bool) -> Option<String> {
    struct Fixed(bool);
    impl Resolve for Fixed {
        fn input_base(&self) -> Base {
            Base::plain("input")
        }
        fn step_base(&self, n8n_name: &str) -> Option<Base> {
            match n8n_name {
                "Webhook" => Some(Base::plain("steps.webhook.output")),
                "Fetch" => Some(Base::plain("steps.fetch.output.body")),
                "Ask AI" => Some(Base { text: "steps.ask_ai.output".into(), aliases: OPENAI_ALIASES }),
                _ => None,
            }
        }
        fn timezone(&self) -> Option<&str> {
            self.0.then_some("Europe/Berlin")
        }
    }
    convert_expression(js, &Fixed(zoned))
}

/// The expression as one operand: as it is when it is a single term (a reference, a literal,
/// already in parentheses), else in parentheses, so an operator next to it cannot split it.
pub(super) fn group(expression: &str) -> String {
    if !expression.chars().any(char::is_whitespace) || encloses(expression) || is_string_literal(expression) {
        expression.to_owned()
    } else {
        format!("({expression})")
    }
}

/// Whether the text is one string literal as [`string_literal`] writes it.
fn is_string_literal(text: &str) -> bool {
    let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) else { return false };
    let mut escaped = false;
    for c in inner.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return false,
            _ => {}
        }
    }
    !escaped
}

/// Whether the text is one parenthesised group: its first `(` closes at its last character.
fn encloses(text: &str) -> bool {
    if !text.starts_with('(') {
        return false;
    }
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (at, c) in text.char_indices() {
        if let Some(open) = quote {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                _ if c == open => quote = None,
                _ => {}
            }
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '(' => depth += 1,
            ')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return at == text.len() - 1;
                }
            }
            _ => {}
        }
    }
    false
}

/// A minijinja string literal of the text.
pub(super) fn string_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            other => out.push(other),
        }
    }
    out.push('"');
    out
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Num(String),
    Punct(&'static str),
    /// A template literal: its text and its `${…}` parts.
    Template(Vec<Part>),
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Code(Vec<Token>),
}

/// Longest first, so `===` is not read as `==` and `=`.
const PUNCTS: &[&str] = &[
    "===", "!==", "==", "!=", "<=", ">=", "&&", "||", "??", "?.", "=>", "<", ">", "!", "+", "-", "*", "/", "%", "(",
    ")", "[", "]", "{", "}", ".", ",", "?", ":", "=",
];

fn tokenize(js: &str) -> Option<Vec<Token>> {
    let chars: Vec<char> = js.chars().collect();
    tokenize_chars(&chars, 0)
}

fn unescape(c: char) -> char {
    match c {
        'n' => '\n',
        't' => '\t',
        'r' => '\r',
        other => other,
    }
}

fn tokenize_chars(chars: &[char], depth: usize) -> Option<Vec<Token>> {
    if depth > MAX_DEPTH {
        return None;
    }
    let mut tokens = Vec::new();
    let mut at = 0;
    while at < chars.len() {
        let c = chars[at];
        if c.is_whitespace() {
            at += 1;
        } else if c == '\'' || c == '"' {
            let mut text = String::new();
            at += 1;
            loop {
                let next = *chars.get(at)?;
                at += 1;
                match next {
                    '\\' => {
                        text.push(unescape(*chars.get(at)?));
                        at += 1;
                    }
                    quote if quote == c => break,
                    other => text.push(other),
                }
            }
            tokens.push(Token::Str(text));
        } else if c == '`' {
            let (parts, next) = template_literal(chars, at + 1, depth)?;
            tokens.push(Token::Template(parts));
            at = next;
        } else if c.is_ascii_digit() {
            let start = at;
            while at < chars.len() && (chars[at].is_ascii_digit() || chars[at] == '.') {
                at += 1;
            }
            let text: String = chars[start..at].iter().collect();
            if text.matches('.').count() > 1 || text.ends_with('.') {
                return None;
            }
            // an integer past i64 is a float in JavaScript and no integer minijinja reads
            if !text.contains('.') && text.parse::<i64>().is_err() {
                return None;
            }
            tokens.push(Token::Num(text));
        } else if c.is_ascii_alphabetic() || c == '_' || c == '$' {
            let start = at;
            while at < chars.len() && (chars[at].is_ascii_alphanumeric() || chars[at] == '_' || chars[at] == '$') {
                at += 1;
            }
            tokens.push(Token::Ident(chars[start..at].iter().collect()));
        } else {
            let rest: String = chars[at..chars.len().min(at + 3)].iter().collect();
            let punct = PUNCTS.iter().find(|p| rest.starts_with(**p))?;
            at += punct.chars().count();
            tokens.push(Token::Punct(punct));
        }
    }
    Some(tokens)
}

/// A template literal whose text starts at `at` (after the backtick): its parts, and where the
/// text after its closing backtick starts.
fn template_literal(chars: &[char], mut at: usize, depth: usize) -> Option<(Vec<Part>, usize)> {
    let mut parts = Vec::new();
    let mut text = String::new();
    loop {
        match *chars.get(at)? {
            '`' => break,
            '\\' => {
                text.push(unescape(*chars.get(at + 1)?));
                at += 2;
            }
            '$' if chars.get(at + 1) == Some(&'{') => {
                let start = at + 2;
                let end = closing_brace(chars, start)?;
                if !text.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut text)));
                }
                parts.push(Part::Code(tokenize_chars(&chars[start..end], depth + 1)?));
                at = end + 1;
            }
            other => {
                text.push(other);
                at += 1;
            }
        }
    }
    if !text.is_empty() {
        parts.push(Part::Text(text));
    }
    Some((parts, at + 1))
}

/// Where the `}` closing a `${` is, its inside starting at `at`: strings and nested braces are
/// skipped.
fn closing_brace(chars: &[char], mut at: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    while let Some(&c) = chars.get(at) {
        match quote {
            Some(_) if c == '\\' => at += 1,
            Some(open) if c == open => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' | '`' => quote = Some(c),
                '{' => depth += 1,
                '}' if depth == 0 => return Some(at),
                '}' => depth -= 1,
                _ => {}
            },
        }
        at += 1;
    }
    None
}

/// Binary operators, what they become, and JavaScript's precedence (higher binds tighter;
/// minijinja's order is the same, except for `~`, which joins text and is grouped).
const BINARY: [(&str, &str, u8); 15] = [
    ("||", "or", 1),
    ("&&", "and", 2),
    ("===", "==", 3),
    ("==", "==", 3),
    ("!==", "!=", 3),
    ("!=", "!=", 3),
    ("<=", "<=", 4),
    (">=", ">=", 4),
    ("<", "<", 4),
    (">", ">", 4),
    ("+", "+", 5),
    ("-", "-", 5),
    ("*", "*", 6),
    ("/", "/", 6),
    ("%", "%", 6),
];

/// JavaScript comparisons inside a `filter(x => x.a === v)` as minijinja's tests.
const TESTS: [(&str, &str); 8] =
    [("===", "eq"), ("==", "eq"), ("!==", "ne"), ("!=", "ne"), (">", "gt"), (">=", "ge"), ("<", "lt"), ("<=", "le")];

/// Words minijinja reads as keywords, so they are written as `["word"]` after a dot.
const KEYWORDS: [&str; 13] =
    ["and", "or", "not", "in", "is", "if", "else", "true", "false", "none", "True", "False", "None"];

/// Nesting deeper than this is refused rather than risking the stack on hostile input.
const MAX_DEPTH: usize = 64;

/// How many times longer than its source a translation may be.
const MAX_GROWTH: usize = 16;

/// How deep a translation's brackets may nest: minijinja refuses deeper expressions (its parser
/// bounds its recursion), so a translation past this is refused here instead.
const MAX_NESTING: usize = 40;

/// The deepest nesting of `(`, `[` and `{` in an expression, outside its string literals.
fn nesting(expression: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut in_string = false;
    let mut escaped = false;
    for c in expression.chars() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '(' | '[' | '{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// An instant as ISO 8601 text in UTC, as Luxon writes one in the UTC zone.
const ISO_UTC: &str = "%Y-%m-%dT%H:%M:%S%.3fZ";
/// An instant as ISO 8601 text in a named zone.
const ISO_ZONED: &str = "%Y-%m-%dT%H:%M:%S%.3f%:z";

/// Whether an operand is certainly text, so a `+` beside it joins text (minijinja's `~`; its
/// `+` adds numbers only).
fn textual(expression: &str) -> bool {
    const TEXT_FILTERS: [&str; 6] = ["|lower", "|upper", "|trim", "|string", "|json_stringify", "|title"];
    const TEXT_CALLS: [&str; 4] = ["|fixed(", "|format_date(", "|join(", "|replace("];
    expression.starts_with('"')
        || expression.ends_with('"')
        || expression.starts_with("(\"")
        || TEXT_FILTERS.iter().any(|f| expression.ends_with(f))
        || (expression.ends_with(')') && TEXT_CALLS.iter().any(|f| expression.contains(f)))
}

/// The expression as the target of `.name` or `[i]`: in parentheses when it ends in a filter or
/// is not a single term.
fn operand(expression: &str) -> String {
    if expression.contains('|') && !encloses(expression) { format!("({expression})") } else { group(expression) }
}

/// A date being built from `$now`, `DateTime.fromISO(…)` and the like: an expression giving an
/// instant, and the zone it is shown in (none: UTC).
struct Date {
    value: String,
    zone: Option<String>,
    /// The value is already ISO 8601 text in UTC as Luxon writes it (the scope's `now`, a
    /// shifted date).
    utc_iso: bool,
}

impl Date {
    /// The scope's `now`, shown in `zone`.
    fn now(zone: Option<String>) -> Self {
        Self { value: "now".into(), zone, utc_iso: true }
    }

    /// The instant `value` reads as, shown in `zone`.
    fn of(value: &str, zone: Option<String>) -> Self {
        Self { value: value.to_owned(), zone, utc_iso: false }
    }

    fn formatted(&self, pattern: &str) -> String {
        match &self.zone {
            Some(zone) => {
                format!("{}|format_date({}, {})", group(&self.value), string_literal(pattern), string_literal(zone))
            }
            None => format!("{}|format_date({})", group(&self.value), string_literal(pattern)),
        }
    }

    fn iso(&self) -> String {
        match &self.zone {
            None if self.utc_iso => self.value.clone(),
            None => self.formatted(ISO_UTC),
            Some(_) => self.formatted(ISO_ZONED),
        }
    }

    fn utc(&self, pattern: &str) -> String {
        if self.utc_iso && pattern == ISO_UTC {
            return self.value.clone();
        }
        format!("{}|format_date({})", group(&self.value), string_literal(pattern))
    }

    fn start_of(&mut self, unit: &str) -> Option<()> {
        let offset = if self.zone.is_some() { "%:z" } else { "Z" };
        self.value = self.formatted(&format!("{}{offset}", super::dates::start_of(unit)?));
        self.utc_iso = self.zone.is_none();
        Some(())
    }
}

/// What follows a node reference: one item (`.item`, `.first()`) or all (`.all()`).
enum Selector {
    One,
    All,
}

/// A one-parameter arrow function reading a path of its parameter: `x => x.a.b`, `x => !x.a`,
/// `x => x.a === 'v'`.
struct Arrow {
    path: Vec<String>,
    negated: bool,
    comparison: Option<(&'static str, String)>,
}

impl Arrow {
    /// The path as minijinja's `attribute`, dropping `json.` where the items are n8n's.
    fn attribute(&self, items: bool) -> Option<String> {
        let path = if items {
            let (first, rest) = self.path.split_first()?;
            (first == "json").then_some(rest)?
        } else {
            &self.path[..]
        };
        (!path.is_empty() && path.iter().all(|p| !p.contains('.'))).then(|| string_literal(&path.join(".")))
    }

    fn apply(&self, target: &str, method: &str, items: bool) -> Option<String> {
        let attribute = self.attribute(items)?;
        Some(match (method, self.negated, &self.comparison) {
            ("map", false, None) => format!("{target}|map(attribute={attribute})|list"),
            ("filter", false, None) => format!("{target}|selectattr({attribute})|list"),
            ("filter", true, None) => format!("{target}|rejectattr({attribute})|list"),
            ("filter", false, Some((test, value))) => {
                format!("{target}|selectattr({attribute}, {}, {value})|list", string_literal(test))
            }
            _ => return None,
        })
    }
}

struct Parser<'a> {
    tokens: &'a [Token],
    at: usize,
    refs: &'a dyn Resolve,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn punct(&self, which: &str) -> bool {
        matches!(self.peek(), Some(Token::Punct(p)) if *p == which)
    }

    fn eat(&mut self, which: &str) -> Option<()> {
        self.punct(which).then(|| self.at += 1)
    }

    fn ident(&mut self) -> Option<String> {
        let Some(Token::Ident(name)) = self.peek().cloned() else { return None };
        self.at += 1;
        Some(name)
    }

    fn string(&mut self) -> Option<String> {
        let Some(Token::Str(text)) = self.peek().cloned() else { return None };
        self.at += 1;
        Some(text)
    }

    /// Runs `parse` one level deeper, refusing nesting beyond [`MAX_DEPTH`].
    fn nested(&mut self, parse: impl FnOnce(&mut Self) -> Option<String>) -> Option<String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let out = parse(self);
        self.depth -= 1;
        out
    }

    /// A whole expression: a conditional (`c ? a : b`) binds loosest.
    fn expression(&mut self) -> Option<String> {
        self.nested(|p| {
            let condition = p.coalesce()?;
            if p.eat("?").is_none() {
                return Some(condition);
            }
            let then = p.expression()?;
            p.eat(":")?;
            let otherwise = p.expression()?;
            Some(format!("({} if {} else {})", group(&then), group(&condition), group(&otherwise)))
        })
    }

    /// `a ?? b ?? c`: the first that is neither null nor undefined. Each operand is written once
    /// (a chain never doubles the text).
    fn coalesce(&mut self) -> Option<String> {
        let mut operands = vec![self.binary(1)?.0];
        while self.eat("??").is_some() {
            operands.push(self.binary(1)?.0);
        }
        if operands.len() == 1 {
            return operands.pop();
        }
        Some(format!("[{}]|reject(\"none\")|select(\"defined\")|first", operands.join(", ")))
    }

    /// Binary operators by precedence climbing; also says whether the result is text.
    fn binary(&mut self, min: u8) -> Option<(String, bool)> {
        let mut out = self.unary()?;
        let mut text = textual(&out);
        // `out` is a chain of `~` already: it goes on without another pair of parentheses
        let mut joined = false;
        while let Some(Token::Punct(p)) = self.peek() {
            let Some(&(_, op, precedence)) = BINARY.iter().find(|(js, _, _)| js == p) else { break };
            if precedence < min {
                break;
            }
            self.at += 1;
            let (right, right_text) = self.binary(precedence + 1)?;
            // JavaScript joins text and a number with `+`; minijinja does that with `~`, which
            // binds tighter than its `+`, so both sides are grouped
            if op == "+" && (text || right_text) {
                let left = if joined { out } else { group(&out) };
                out = format!("{left} ~ {}", group(&right));
                text = true;
                joined = true;
            } else {
                out = format!("{out} {op} {right}");
                text = false;
                joined = false;
            }
        }
        Some((out, text))
    }

    fn unary(&mut self) -> Option<String> {
        self.nested(|p| {
            if p.eat("!").is_some() {
                Some(format!("(not {})", p.unary()?))
            } else if p.eat("-").is_some() {
                Some(format!("-{}", p.unary()?))
            } else {
                p.postfix()
            }
        })
    }

    fn postfix(&mut self) -> Option<String> {
        let token = self.peek()?.clone();
        self.at += 1;
        let mut out = match token {
            Token::Str(text) => string_literal(&text),
            Token::Num(number) => number,
            Token::Template(parts) => self.template(&parts)?,
            Token::Punct("(") => {
                let inner = self.expression()?;
                self.eat(")")?;
                format!("({inner})")
            }
            Token::Punct("[") => format!("[{}]", self.list("]")?.join(", ")),
            Token::Punct(_) => return None,
            Token::Ident(name) => self.name(&name)?,
        };
        self.accessors(&mut out)?;
        Some(out)
    }

    /// Expressions separated by commas up to `close`, which is read too.
    fn list(&mut self, close: &str) -> Option<Vec<String>> {
        let mut items = Vec::new();
        if self.eat(close).is_some() {
            return Some(items);
        }
        loop {
            items.push(self.expression()?);
            if self.eat(close).is_some() {
                return Some(items);
            }
            self.eat(",")?;
        }
    }

    /// A call's arguments, `(` included.
    fn arguments(&mut self) -> Option<Vec<String>> {
        self.eat("(")?;
        self.list(")")
    }

    /// What a name at the start of a term reads.
    fn name(&mut self, name: &str) -> Option<String> {
        Some(match name {
            "true" | "false" => name.to_owned(),
            "null" | "undefined" => "none".to_owned(),
            "$json" => {
                let base = self.refs.input_base();
                self.base(base)
            }
            "$input" => {
                let selector = self.item_selector()?;
                self.reference(self.refs.input_base(), selector)?
            }
            "$node" => {
                let node = self.node_key()?;
                self.json_field()?;
                let base = self.refs.step_base(&node)?;
                self.base(base)
            }
            "$" => {
                let node = self.call_with_string()?;
                let selector = self.item_selector()?;
                self.reference(self.refs.step_base(&node)?, selector)?
            }
            "$items" => {
                let node = self.call_with_string()?;
                self.eat("[")?;
                let Some(Token::Num(_)) = self.peek() else { return None };
                self.at += 1;
                self.eat("]")?;
                self.json_field()?;
                let base = self.refs.step_base(&node)?;
                self.base(base)
            }
            "$now" => self.date(Date::now(self.zone()))?,
            "$today" => {
                let mut today = Date::now(self.zone());
                today.start_of("day")?;
                self.date(today)?
            }
            "DateTime" => {
                self.eat(".")?;
                let function = self.ident()?;
                let arguments = self.arguments()?;
                let date = match (function.as_str(), arguments.as_slice()) {
                    ("now" | "local", []) => Date::now(self.zone()),
                    ("utc", []) => Date::now(None),
                    ("fromISO" | "fromMillis" | "fromJSDate", [value]) => Date::of(value, self.zone()),
                    _ => return None,
                };
                self.date(date)?
            }
            "new" => {
                (self.ident()? == "Date").then_some(())?;
                let date = match self.arguments()?.as_slice() {
                    [] => Date::now(None),
                    [value] => Date::of(value, None),
                    _ => return None,
                };
                self.date(date)?
            }
            "Math" => self.math()?,
            "JSON" => {
                self.eat(".")?;
                let function = self.ident()?;
                let arguments = self.arguments()?;
                let [value] = arguments.as_slice() else { return None };
                match function.as_str() {
                    "stringify" => format!("{}|json_stringify", group(value)),
                    "parse" => format!("{}|json_parse", group(value)),
                    _ => return None,
                }
            }
            "parseInt" | "parseFloat" | "Number" | "String" | "Boolean" => {
                let arguments = self.arguments()?;
                let filter = match (name, arguments.as_slice()) {
                    ("parseInt", [_] | [_, _]) if arguments.get(1).is_none_or(|radix| radix == "10") => "int",
                    ("parseFloat" | "Number", [_]) => "number",
                    ("String", [_]) => "string",
                    ("Boolean", [_]) => "bool",
                    _ => return None,
                };
                format!("{}|{filter}", group(&arguments[0]))
            }
            "Object" => {
                self.eat(".")?;
                (self.ident()? == "keys").then_some(())?;
                let arguments = self.arguments()?;
                let [value] = arguments.as_slice() else { return None };
                format!("{}|list", group(value))
            }
            _ => return None,
        })
    }

    /// The zone n8n showed dates in: the workflow's, UTC when it has none.
    fn zone(&self) -> Option<String> {
        self.refs.timezone().filter(|zone| !zone.eq_ignore_ascii_case("utc")).map(str::to_owned)
    }

    /// The methods and properties read from a date, up to what gives text or a number.
    fn date(&mut self, mut date: Date) -> Option<String> {
        loop {
            let Some(Token::Ident(name)) = self.tokens.get(self.at + 1).cloned() else { return Some(date.iso()) };
            if !self.punct(".") {
                return Some(date.iso());
            }
            self.at += 2;
            if !self.punct("(") {
                return Some(format!("{}|int", date.formatted(super::dates::property(&name)?)));
            }
            match name.as_str() {
                "plus" | "minus" => {
                    self.eat("(")?;
                    let shift = self.duration(name == "minus")?;
                    date.value = format!("{}|shift_date({shift})", group(&date.value));
                    date.utc_iso = true;
                    continue;
                }
                "setZone" | "startOf" | "toFormat" => {
                    self.eat("(")?;
                    let text = self.string()?;
                    self.eat(")")?;
                    match name.as_str() {
                        "setZone" => date.zone = Some(text).filter(|zone| !zone.eq_ignore_ascii_case("utc")),
                        "startOf" => date.start_of(&text)?,
                        _ => return Some(date.formatted(&super::dates::strftime(&text)?)),
                    }
                    continue;
                }
                _ => {}
            }
            self.arguments()?.is_empty().then_some(())?;
            return Some(match name.as_str() {
                "toISO" | "toString" | "toJSON" => date.iso(),
                "toISOString" => date.utc(ISO_UTC),
                "toISODate" => date.formatted("%Y-%m-%d"),
                "toMillis" | "valueOf" | "getTime" => format!("{}|int", date.utc("%s%3f")),
                "toSeconds" | "toUnixInteger" => format!("{}|int", date.utc("%s")),
                _ => return None,
            });
        }
    }

    /// The arguments of `plus`/`minus` (`{ days: 7 }` or `(7, 'days')`, `(` read) as
    /// `shift_date`'s.
    fn duration(&mut self, minus: bool) -> Option<String> {
        let mut amounts: Vec<(&'static str, String)> = Vec::new();
        let mut add = |unit: &str, value: String| -> Option<()> {
            let (ours, times) = super::dates::unit(unit)?;
            let value = if times == 1 { value } else { format!("{} * {times}", group(&value)) };
            let value = if minus { format!("-({value})") } else { value };
            (!amounts.iter().any(|(unit, _)| *unit == ours)).then(|| amounts.push((ours, value)))
        };
        if self.eat("{").is_some() {
            while self.eat("}").is_none() {
                let key = match self.peek().cloned()? {
                    Token::Ident(key) | Token::Str(key) => key,
                    _ => return None,
                };
                self.at += 1;
                self.eat(":")?;
                add(&key, self.expression()?)?;
                if self.eat(",").is_none() {
                    self.eat("}")?;
                    break;
                }
            }
        } else {
            let value = self.expression()?;
            self.eat(",")?;
            add(&self.string()?, value)?;
        }
        self.eat(")")?;
        (!amounts.is_empty())
            .then(|| amounts.iter().map(|(unit, value)| format!("{unit}={value}")).collect::<Vec<_>>().join(", "))
    }

    /// `Math.round(x)` and its kin.
    fn math(&mut self) -> Option<String> {
        self.eat(".")?;
        let function = self.ident()?;
        let arguments = self.arguments()?;
        Some(match (function.as_str(), arguments.as_slice()) {
            // JavaScript rounds halves up (-2.5 to -2)
            ("round", [x]) => format!("({} + 0.5)|floor", group(x)),
            ("floor", [x]) => format!("{}|floor", group(x)),
            ("ceil", [x]) => format!("{}|ceil", group(x)),
            ("trunc", [x]) => format!("{}|int", group(x)),
            ("abs", [x]) => format!("{}|abs", group(x)),
            ("min", [_, ..]) => format!("[{}]|min", arguments.join(", ")),
            ("max", [_, ..]) => format!("[{}]|max", arguments.join(", ")),
            ("pow", [x, y]) => format!("{} ** {}", group(x), group(y)),
            _ => return None,
        })
    }

    /// A reference's data: one item's `.json` (then the base), or all items.
    fn reference(&mut self, base: Base, selector: Selector) -> Option<String> {
        match selector {
            Selector::One => {
                self.json_field()?;
                Some(self.base(base))
            }
            Selector::All => self.items(&base.text),
        }
    }

    /// What follows `.all()`: a step here has one output, so its items are a list of one.
    fn items(&mut self, base: &str) -> Option<String> {
        let list = format!("[{base}]");
        if self.eat("[").is_some() {
            let index = self.expression()?;
            self.eat("]")?;
            self.json_field()?;
            return Some(format!("{list}[{index}]"));
        }
        self.eat(".")?;
        let name = self.ident()?;
        match name.as_str() {
            "length" => Some(format!("{list}|length")),
            "map" | "filter" => {
                self.eat("(")?;
                let arrow = self.arrow()?;
                self.eat(")")?;
                arrow.apply(&list, &name, true)
            }
            _ => None,
        }
    }

    /// An arrow function reading its parameter (`x => x.a.b`, `(x) => !x.a`, `x => x.a > 1`).
    fn arrow(&mut self) -> Option<Arrow> {
        let parenthesised = self.eat("(").is_some();
        let parameter = self.ident()?;
        if parenthesised {
            self.eat(")")?;
        }
        self.eat("=>")?;
        let negated = self.eat("!").is_some();
        (self.ident()? == parameter).then_some(())?;
        let mut path = Vec::new();
        loop {
            if self.eat(".").is_some() {
                path.push(self.ident()?);
            } else if let (Some(Token::Punct("[")), Some(Token::Str(key)), Some(Token::Punct("]"))) =
                (self.tokens.get(self.at), self.tokens.get(self.at + 1), self.tokens.get(self.at + 2))
            {
                path.push(key.clone());
                self.at += 3;
            } else {
                break;
            }
        }
        let mut comparison = None;
        if !negated
            && let Some(Token::Punct(p)) = self.peek()
            && let Some(&(_, test)) = TESTS.iter().find(|(js, _)| js == p)
        {
            self.at += 1;
            comparison = Some((test, self.unary()?));
        }
        Some(Arrow { path, negated, comparison })
    }

    /// A template literal: its text and expressions joined.
    fn template(&mut self, parts: &[Part]) -> Option<String> {
        let mut pieces = Vec::with_capacity(parts.len());
        for part in parts {
            pieces.push(match part {
                Part::Text(text) => string_literal(text),
                Part::Code(tokens) => {
                    let mut inner = Parser { tokens, at: 0, refs: self.refs, depth: self.depth + 1 };
                    let expression = inner.expression()?;
                    (inner.at == tokens.len()).then_some(())?;
                    group(&expression)
                }
            });
        }
        Some(match (parts, pieces.as_slice()) {
            ([], _) => "\"\"".to_owned(),
            ([Part::Text(_)], [text]) => text.clone(),
            ([Part::Code(_)], [code]) => format!("{code}|string"),
            _ => format!("({})", pieces.join(" ~ ")),
        })
    }

    /// The base's text, and the field after it renamed when n8n names it differently.
    fn base(&mut self, base: Base) -> String {
        for (path, ours) in base.aliases {
            let matches = path.iter().enumerate().all(|(i, want)| match self.tokens.get(self.at + i) {
                Some(Token::Punct(p)) => p == want,
                Some(Token::Ident(name)) | Some(Token::Num(name)) => name == want,
                _ => false,
            });
            if matches {
                self.at += path.len();
                return format!("{}.{ours}", base.text);
            }
        }
        base.text
    }

    /// `.field`, `?.field`, `["field"]`, `[0]`, `[expr]` and the methods that have a translation.
    fn accessors(&mut self, out: &mut String) -> Option<()> {
        loop {
            let dotted = if self.eat("?.").is_some() {
                // optional chaining: a missing value reads as null instead of failing
                *out = format!("({}|default(none))", group(out));
                !self.punct("[")
            } else {
                self.eat(".").is_some()
            };
            if dotted {
                let name = self.ident()?;
                if self.punct("(") {
                    self.eat("(")?;
                    *out = self.method(out, &name)?;
                } else if name == "length" {
                    *out = format!("{}|length", group(out));
                } else if is_plain_name(&name) {
                    *out = format!("{}.{name}", operand(out));
                } else {
                    *out = format!("{}[{}]", operand(out), string_literal(&name));
                }
            } else if self.eat("[").is_some() {
                if let (Some(Token::Str(name)), Some(Token::Punct("]"))) =
                    (self.tokens.get(self.at), self.tokens.get(self.at + 1))
                    && is_plain_name(name)
                {
                    *out = format!("{}.{name}", operand(out));
                    self.at += 2;
                    continue;
                }
                let index = self.expression()?;
                self.eat("]")?;
                *out = format!("{}[{index}]", operand(out));
            } else {
                return Some(());
            }
        }
    }

    /// A method call whose `(` has been read.
    fn method(&mut self, target: &str, name: &str) -> Option<String> {
        let target = group(target);
        if name == "map" || name == "filter" {
            let arrow = self.arrow()?;
            self.eat(")")?;
            return arrow.apply(&target, name, false);
        }
        let arguments = self.list(")")?;
        Some(match (name, arguments.as_slice()) {
            ("toLowerCase", []) => format!("{target}|lower"),
            ("toUpperCase", []) => format!("{target}|upper"),
            ("trim", []) => format!("{target}|trim"),
            ("toString", []) => format!("{target}|string"),
            ("toTitleCase", []) => format!("{target}|title"),
            ("toFixed", []) => format!("{target}|fixed"),
            ("toFixed", [digits]) => format!("{target}|fixed({digits})"),
            ("includes", [x]) => format!("({x} in {target})"),
            ("startsWith", [x]) => format!("({target} is startingwith({x}))"),
            ("endsWith", [x]) => format!("({target} is endingwith({x}))"),
            ("split", [separator]) => format!("{target}|split({separator})|list"),
            ("join", []) => format!("{target}|join(\",\")"),
            ("join", [separator]) => format!("{target}|join({separator})"),
            // with text to find, JavaScript replaces the first occurrence only
            ("replace", [find, with]) => format!("{target}|replace({find}, {with}, 1)"),
            ("replaceAll", [find, with]) => format!("{target}|replace({find}, {with})"),
            ("slice" | "substring", [start]) => format!("{}[{start}:]", operand(&target)),
            ("slice" | "substring", [start, end]) => format!("{}[{start}:{end}]", operand(&target)),
            ("charAt", [at]) => format!("{}[{at}]", operand(&target)),
            ("first", []) => format!("{target}|first"),
            ("last", []) => format!("{target}|last"),
            ("reverse", []) => format!("{target}|reverse|list"),
            ("sort", []) => format!("{target}|sort"),
            ("sum", []) => format!("{target}|sum"),
            ("isEmpty", []) => format!("({target}|length == 0)"),
            _ => return None,
        })
    }

    /// `["Name"]` or `.Name` after `$node`.
    fn node_key(&mut self) -> Option<String> {
        if self.eat("[").is_some() {
            let name = self.string()?;
            self.eat("]")?;
            Some(name)
        } else {
            self.eat(".")?;
            self.ident()
        }
    }

    /// `("Name")`.
    fn call_with_string(&mut self) -> Option<String> {
        self.eat("(")?;
        let name = self.string()?;
        self.eat(")")?;
        Some(name)
    }

    /// `.item`, `.first()` or `.last()` (one step has one output, so they are all the same), or
    /// `.all()`.
    fn item_selector(&mut self) -> Option<Selector> {
        self.eat(".")?;
        match self.ident()?.as_str() {
            "item" => Some(Selector::One),
            "first" | "last" => {
                self.eat("(")?;
                self.eat(")")?;
                Some(Selector::One)
            }
            "all" => {
                self.eat("(")?;
                self.eat(")")?;
                Some(Selector::All)
            }
            _ => None,
        }
    }

    /// `.json`, the item's data.
    fn json_field(&mut self) -> Option<()> {
        self.eat(".")?;
        (self.ident()? == "json").then_some(())
    }
}

fn is_plain_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !KEYWORDS.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;

    impl Resolve for Fixed {
        fn input_base(&self) -> Base {
            Base::plain("input")
        }

        fn step_base(&self, n8n_name: &str) -> Option<Base> {
            match n8n_name {
                "Fetch Orders" => Some(Base::plain("steps.fetch_orders.output.body")),
                "Webhook" => Some(Base::plain("steps.webhook.output")),
                "Ask AI" => Some(Base { text: "steps.ask_ai.output".into(), aliases: OPENAI_ALIASES }),
                _ => None,
            }
        }
    }

    fn convert(js: &str) -> Option<String> {
        convert_expression(js, &Fixed)
    }

    #[test]
    fn references() {
        assert_eq!(convert(" $json.email ").as_deref(), Some("input.email"));
        assert_eq!(convert("$json[\"first name\"]").as_deref(), Some("input[\"first name\"]"));
        assert_eq!(convert("$json[\"invoices\"][0]['id']").as_deref(), Some("input.invoices[0].id"));
        assert_eq!(convert("$json.items[0].id").as_deref(), Some("input.items[0].id"));
        assert_eq!(convert("$input.first().json.id").as_deref(), Some("input.id"));
        assert_eq!(
            convert("$node[\"Fetch Orders\"].json.total").as_deref(),
            Some("steps.fetch_orders.output.body.total")
        );
        assert_eq!(convert("$('Webhook').item.json.body.name").as_deref(), Some("steps.webhook.output.body.name"));
        assert_eq!(convert("$items(\"Webhook\")[0].json.query.q").as_deref(), Some("steps.webhook.output.query.q"));
        assert_eq!(convert("$json.in").as_deref(), Some("input[\"in\"]"));
        assert_eq!(convert("$('Nobody').item.json.x"), None);
        assert_eq!(convert("$('Ask AI').item.json.message.content").as_deref(), Some("steps.ask_ai.output.content"));
        assert_eq!(convert("$node['Ask AI'].json.choices[0].text").as_deref(), Some("steps.ask_ai.output.content"));
        assert_eq!(convert("$('Ask AI').item.json.usage").as_deref(), Some("steps.ask_ai.output.usage"));
    }

    #[test]
    fn operators_and_methods() {
        assert_eq!(
            convert("$json.status === 'paid' && !$json.test").as_deref(),
            Some("input.status == \"paid\" and (not input.test)")
        );
        assert_eq!(convert("$json.total >= 100 || $json.vip").as_deref(), Some("input.total >= 100 or input.vip"));
        assert_eq!(convert("$json.name.toLowerCase()").as_deref(), Some("input.name|lower"));
        assert_eq!(convert("$json.tags.includes('urgent')").as_deref(), Some("(\"urgent\" in input.tags)"));
        assert_eq!(convert("$json.items.length").as_deref(), Some("input.items|length"));
        assert_eq!(convert("$json.a !== null").as_deref(), Some("input.a != none"));
        assert_eq!(convert("'Total: ' + $json.total").as_deref(), Some("\"Total: \" ~ input.total"));
        assert_eq!(convert("$json.a + 1").as_deref(), Some("input.a + 1"));
    }

    #[test]
    fn untranslatable_javascript() {
        for js in [
            "$execution.id",
            "$vars.region",
            "$json.a.map(x => { return x.id })",
            "$json.a.map(x => x.id * 2)",
            "$json.text.match(/[0-9]+/)",
            "Math.random()",
            "$input.all()",
            "$now.toFormat('yyyy Q')",
            "$now.toFormat($json.pattern)",
            "$now.plus({ fortnights: 1 })",
            "$now.plus({ days: 1, day: 2 })",
            "JSON.stringify($json, null, 2)",
            "parseInt($json.hex, 16)",
            "`${$json.a`",
            "",
            "'open",
            "$json.a = 1",
            "$json.a ? 1",
            "22222222222222222222222222222222",
        ] {
            assert_eq!(convert(js), None, "{js}");
        }
    }

    #[test]
    fn conditionals_defaults_and_text() {
        assert_eq!(convert("$json.vip ? 'gold' : 'basic'").as_deref(), Some("(\"gold\" if input.vip else \"basic\")"));
        assert_eq!(
            convert("$json.total > 100 && $json.paid ? 'ship' : $json.n > 1 ? 'wait' : 'drop'").as_deref(),
            Some("(\"ship\" if (input.total > 100 and input.paid) else (\"wait\" if (input.n > 1) else \"drop\"))")
        );
        assert_eq!(
            convert("$json.nick ?? 'anon'").as_deref(),
            Some("[input.nick, \"anon\"]|reject(\"none\")|select(\"defined\")|first")
        );
        // a chain stays linear in size (each operand written once)
        let chain = vec!["$json.a"; 40].join(" ?? ");
        assert!(convert(&chain).is_some_and(|out| out.len() < 10 * chain.len()));
        assert_eq!(convert("$json.nick || 'anon'").as_deref(), Some("input.nick or \"anon\""));
        assert_eq!(
            convert("$json.customer?.address?.city").as_deref(),
            Some("((input.customer|default(none)).address|default(none)).city")
        );
        assert_eq!(
            convert("`Hi ${$json.name}, ${$json.n + 1} new`").as_deref(),
            Some("(\"Hi \" ~ input.name ~ \", \" ~ (input.n + 1) ~ \" new\")")
        );
        assert_eq!(convert("`${$json.id}`").as_deref(), Some("input.id|string"));
        assert_eq!(convert("`plain`").as_deref(), Some("\"plain\""));
        assert_eq!(convert("`nested ${`in ${$json.a}`}`").as_deref(), Some("(\"nested \" ~ (\"in \" ~ input.a))"));
        // `+` joins text from left to right, as JavaScript does
        assert_eq!(convert("$json.a + $json.b + ' items'").as_deref(), Some("(input.a + input.b) ~ \" items\""));
        assert_eq!(convert("'n: ' + $json.a + $json.b").as_deref(), Some("\"n: \" ~ input.a ~ input.b"));
        // a long join stays flat, and nesting minijinja could not read is refused
        let long = vec!["$json.a"; 80].join(" + ' ' + ");
        assert!(convert(&long).is_some_and(|out| nesting(&out) < 3), "{long}");
        assert!(convert(&format!("$json{}", "?.b".repeat(20))).is_some());
        assert_eq!(convert(&format!("$json{}", "?.b".repeat(60))), None);
        assert_eq!(nesting("(a[\"(((\"] ~ {\"x\": (1)})"), 3);
        assert_eq!(convert("$json.a * 2 + 1 > 5 || $json.b").as_deref(), Some("input.a * 2 + 1 > 5 or input.b"));
    }

    #[test]
    fn functions_and_methods() {
        assert_eq!(convert("JSON.stringify($json.body)").as_deref(), Some("input.body|json_stringify"));
        assert_eq!(convert("JSON.parse($json.raw).id").as_deref(), Some("(input.raw|json_parse).id"));
        assert_eq!(convert("Math.round($json.price * 1.2)").as_deref(), Some("((input.price * 1.2) + 0.5)|floor"));
        assert_eq!(convert("Math.max($json.a, 10, $json.b)").as_deref(), Some("[input.a, 10, input.b]|max"));
        assert_eq!(convert("$json.total.toFixed(2) + ' EUR'").as_deref(), Some("input.total|fixed(2) ~ \" EUR\""));
        assert_eq!(convert("parseInt($json.qty, 10) + 1").as_deref(), Some("input.qty|int + 1"));
        assert_eq!(convert("Number($json.n)").as_deref(), Some("input.n|number"));
        assert_eq!(
            convert("$json.tags.split(',').join(' / ')").as_deref(),
            Some("input.tags|split(\",\")|list|join(\" / \")")
        );
        assert_eq!(convert("$json.name.trim().toUpperCase()").as_deref(), Some("input.name|trim|upper"));
        assert_eq!(convert("$json.s.replace('-', '+')").as_deref(), Some("input.s|replace(\"-\", \"+\", 1)"));
        assert_eq!(convert("$json.s.slice(0, 3)").as_deref(), Some("input.s[0:3]"));
        assert_eq!(convert("$json.s.trim().slice(-2)").as_deref(), Some("(input.s|trim)[-2:]"));
        assert_eq!(
            convert("$json.items.map(i => i.sku).join(', ')").as_deref(),
            Some("input.items|map(attribute=\"sku\")|list|join(\", \")")
        );
        assert_eq!(
            convert("$json.items.filter(i => i.qty > 1).length").as_deref(),
            Some("(input.items|selectattr(\"qty\", \"gt\", 1)|list)|length")
        );
        assert_eq!(
            convert("$json.items.filter((i) => !i.gift)").as_deref(),
            Some("input.items|rejectattr(\"gift\")|list")
        );
        assert_eq!(convert("Object.keys($json.meta).length").as_deref(), Some("input.meta|list|length"));
        assert_eq!(convert("$input.all().length").as_deref(), Some("[input]|length"));
        assert_eq!(convert("$input.all()[0].json.id").as_deref(), Some("[input][0].id"));
        assert_eq!(
            convert("$('Webhook').all().map(i => i.json.body.id)").as_deref(),
            Some("[steps.webhook.output]|map(attribute=\"body.id\")|list")
        );
    }

    struct Zoned;

    impl Resolve for Zoned {
        fn input_base(&self) -> Base {
            Base::plain("input")
        }

        fn step_base(&self, _: &str) -> Option<Base> {
            None
        }

        fn timezone(&self) -> Option<&str> {
            Some("Europe/Berlin")
        }
    }

    #[test]
    fn dates() {
        assert_eq!(convert("$now").as_deref(), Some("now"));
        assert_eq!(convert("$now.toISO()").as_deref(), Some("now"));
        assert_eq!(convert("$now.toFormat('yyyy-MM-dd')").as_deref(), Some("now|format_date(\"%Y-%m-%d\")"));
        assert_eq!(
            convert("$now.minus({ days: 7 }).toISODate()").as_deref(),
            Some("now|shift_date(days=-(7))|format_date(\"%Y-%m-%d\")")
        );
        assert_eq!(convert("$now.plus(2, 'quarters').toISO()").as_deref(), Some("now|shift_date(months=2 * 3)"));
        assert_eq!(
            convert("DateTime.fromISO($json.date).toFormat('dd LLL yyyy')").as_deref(),
            Some("input.date|format_date(\"%d %b %Y\")")
        );
        assert_eq!(convert("$today").as_deref(), Some("now|format_date(\"%Y-%m-%dT00:00:00.000Z\")"));
        assert_eq!(convert("$now.hour >= 17").as_deref(), Some("now|format_date(\"%H\")|int >= 17"));
        assert_eq!(convert("new Date().toISOString()").as_deref(), Some("now"));
        assert_eq!(convert("new Date($json.at).getTime()").as_deref(), Some("input.at|format_date(\"%s%3f\")|int"));
        let zoned = |js: &str| convert_expression(js, &Zoned);
        assert_eq!(zoned("$now.toFormat('HH:mm')").as_deref(), Some("now|format_date(\"%H:%M\", \"Europe/Berlin\")"));
        assert_eq!(zoned("$now.setZone('UTC').toFormat('HH:mm')").as_deref(), Some("now|format_date(\"%H:%M\")"));
        assert_eq!(zoned("$now").as_deref(), Some("now|format_date(\"%Y-%m-%dT%H:%M:%S%.3f%:z\", \"Europe/Berlin\")"));
    }

    /// Translations that need only minijinja's own filters, evaluated as JavaScript would.
    #[test]
    fn translations_evaluate_as_javascript_does() {
        let env = minijinja::Environment::new();
        let input = serde_json::json!({
            "name": " Ada ", "n": 0, "total": 12, "nick": null, "tags": "a,b,c", "vip": false,
            "customer": { "address": { "city": "Oslo" } }, "items": [ { "sku": "x", "qty": 2 }, { "sku": "y", "qty": 1 } ]
        });
        let ctx = minijinja::context! { input => minijinja::Value::from(minijinja::value::Serde(&input)) };
        for (js, want) in [
            ("$json.nick ?? 'anon'", serde_json::json!("anon")),
            ("$json.n ?? 5", serde_json::json!(0)),
            ("$json.n || 5", serde_json::json!(5)),
            ("$json.missing ?? 'none here'", serde_json::json!("none here")),
            ("$json.customer?.address?.city", serde_json::json!("Oslo")),
            ("$json.nobody?.address?.city ?? 'unknown'", serde_json::json!("unknown")),
            ("$json.vip ? 'gold' : 'basic'", serde_json::json!("basic")),
            ("`${$json.name.trim()} has ${$json.items.length} items`", serde_json::json!("Ada has 2 items")),
            ("$json.total + 1 + ' EUR'", serde_json::json!("13 EUR")),
            ("'EUR ' + $json.total + 1", serde_json::json!("EUR 121")),
            ("$json.tags.split(',').length", serde_json::json!(3)),
            ("$json.items.map(i => i.sku).join('|')", serde_json::json!("x|y")),
            ("$json.items.filter(i => i.qty > 1).length", serde_json::json!(1)),
            ("$input.all().map(i => i.json.total)", serde_json::json!([12])),
            ("Math.max($json.total, 20)", serde_json::json!(20)),
            ("$json.name.trim().slice(0, 2).toUpperCase()", serde_json::json!("AD")),
        ] {
            let expression = convert(js).unwrap_or_else(|| panic!("{js} has no translation"));
            let value = env.compile_expression(&expression).and_then(|e| e.eval(&ctx));
            let value = value.unwrap_or_else(|err| panic!("{js} → {expression}: {err}"));
            assert_eq!(serde_json::to_value(&value).unwrap(), want, "{js} → {expression}");
        }
    }

    #[test]
    fn grouping() {
        assert_eq!(group("input.a"), "input.a");
        assert_eq!(group("\"a b\""), "\"a b\"");
        assert_eq!(group("\"a\" ~ \"b\""), "(\"a\" ~ \"b\")");
        assert_eq!(group("\"a \\\" b\""), "\"a \\\" b\"");
        assert_eq!(group("(a or b)"), "(a or b)");
        assert_eq!(group("(a) or (b)"), "((a) or (b))");
        assert_eq!(group("(\")\" ~ b)"), "(\")\" ~ b)");
    }

    #[test]
    fn templates() {
        let text = |t: &str| convert_template(t, &Fixed);
        assert_eq!(
            text("Hi {{ $json.name }}, order {{$json.id}}"),
            Some(("Hi {{ input.name }}, order {{ input.id }}".to_owned(), vec![]))
        );
        assert_eq!(
            text("{{ $json.a }} in {{ $execution.id }}"),
            Some(("{{ input.a }} in {{ $execution.id }}".to_owned(), vec!["{{ $execution.id }}".to_owned()]))
        );
        assert_eq!(text("{{ $json.a"), None);
        assert_eq!(text("no expressions"), Some(("no expressions".to_owned(), vec![])));
    }

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        let js = format!("{}1{}", "(".repeat(10_000), ")".repeat(10_000));
        assert_eq!(convert(&js), None);
        let js = format!("{}1", "!".repeat(10_000));
        assert_eq!(convert(&js), None);
    }
}
