//! n8n expressions to AutomateOS expressions. n8n writes a parameter that holds expressions as a
//! string starting with `=`, with JavaScript inside `{{ … }}` blocks; ours are minijinja. The
//! common data references and operators are translated:
//!
//! - `$json.x`, `$input.item.json.x`, `$input.first().json.x` → `input.x`
//! - `$node["Name"].json.x`, `$('Name').item.json.x` (also `.first()`, `.last()`),
//!   `$items("Name")[0].json.x` → `steps.<id>.output.x`
//! - `===`/`!==` → `==`/`!=`, `&&`/`||`/`!` → `and`/`or`/`not`, `null`/`undefined` → `none`
//! - `.length`, `.toLowerCase()`, `.toUpperCase()`, `.trim()`, `.toString()` → filters;
//!   `.includes(x)`, `.startsWith(x)`, `.endsWith(x)` → `in` and tests
//!
//! Where an n8n node outputs the body of an HTTP response and ours outputs
//! `{status, headers, body}`, `.body` is inserted after the reference; behind an OpenAI step, the
//! reply's text (`message.content`, `text`, `choices[0].message.content`) is our `content`.
//! Anything else (`$now`,
//! ternaries, template literals, other methods, arbitrary JavaScript) is not translated: the
//! caller keeps the text verbatim and reports it.

/// What a reference to another node's data becomes, supplied by the importer.
pub(super) trait Resolve {
    /// The base of `$json`: `input`, or `input.body` behind an HTTP request.
    fn input_base(&self) -> Base;
    /// The base of a named node's data: `steps.<id>.output` (plus `.body` for HTTP), or `None`
    /// when the workflow has no node of that name.
    fn step_base(&self, n8n_name: &str) -> Option<Base>;
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
    (parser.at == tokens.len()).then_some(out)
}

/// The expression as one operand: as it is when it is a single term (a reference, a literal,
/// already in parentheses), else in parentheses, so an operator next to it cannot split it.
pub(super) fn group(expression: &str) -> String {
    if !expression.chars().any(char::is_whitespace) || encloses(expression) {
        expression.to_owned()
    } else {
        format!("({expression})")
    }
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
}

const PUNCTS: [&str; 26] = [
    "===", "!==", "==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "+", "-", "*", "/", "%", "(", ")", "[", "]", ".",
    ",", "?", ":", "=", "`",
];

fn tokenize(js: &str) -> Option<Vec<Token>> {
    let chars: Vec<char> = js.chars().collect();
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
                        let escaped = *chars.get(at)?;
                        at += 1;
                        text.push(match escaped {
                            'n' => '\n',
                            't' => '\t',
                            'r' => '\r',
                            other => other,
                        });
                    }
                    quote if quote == c => break,
                    other => text.push(other),
                }
            }
            tokens.push(Token::Str(text));
        } else if c.is_ascii_digit() {
            let start = at;
            while at < chars.len() && (chars[at].is_ascii_digit() || chars[at] == '.') {
                at += 1;
            }
            let text: String = chars[start..at].iter().collect();
            if text.matches('.').count() > 1 || text.ends_with('.') {
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

/// Binary operators and what they become.
const BINARY: [(&str, &str); 15] = [
    ("===", "=="),
    ("==", "=="),
    ("!==", "!="),
    ("!=", "!="),
    ("<=", "<="),
    (">=", ">="),
    ("<", "<"),
    (">", ">"),
    ("&&", "and"),
    ("||", "or"),
    ("+", "+"),
    ("-", "-"),
    ("*", "*"),
    ("/", "/"),
    ("%", "%"),
];

/// Words minijinja reads as keywords, so they are written as `["word"]` after a dot.
const KEYWORDS: [&str; 13] =
    ["and", "or", "not", "in", "is", "if", "else", "true", "false", "none", "True", "False", "None"];

/// Nesting deeper than this is refused rather than risking the stack on hostile input.
const MAX_DEPTH: usize = 64;

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

    fn expression(&mut self) -> Option<String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let mut out = self.unary()?;
        while let Some(Token::Punct(p)) = self.peek() {
            let Some((_, op)) = BINARY.iter().find(|(js, _)| js == p) else { break };
            self.at += 1;
            let right = self.unary()?;
            // JavaScript joins text and a number with `+`; minijinja does that with `~` (its `+` fails)
            let joins_text = *op == "+" && (out.ends_with('"') || right.starts_with('"'));
            let op = if joins_text { "~" } else { op };
            out = format!("{out} {op} {right}");
        }
        self.depth -= 1;
        Some(out)
    }

    fn unary(&mut self) -> Option<String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let out = if self.eat("!").is_some() {
            format!("(not {})", self.unary()?)
        } else if self.eat("-").is_some() {
            format!("-{}", self.unary()?)
        } else {
            self.postfix()?
        };
        self.depth -= 1;
        Some(out)
    }

    fn postfix(&mut self) -> Option<String> {
        let token = self.peek()?.clone();
        self.at += 1;
        let mut out = match token {
            Token::Str(text) => string_literal(&text),
            Token::Num(number) => number,
            Token::Punct("(") => {
                let inner = self.expression()?;
                self.eat(")")?;
                format!("({inner})")
            }
            Token::Punct(_) => return None,
            Token::Ident(name) => match name.as_str() {
                "true" | "false" => name,
                "null" | "undefined" => "none".to_owned(),
                "$json" => {
                    let base = self.refs.input_base();
                    self.base(base)
                }
                "$input" => {
                    self.item_selector()?;
                    self.json_field()?;
                    let base = self.refs.input_base();
                    self.base(base)
                }
                "$node" => {
                    let node = self.node_key()?;
                    self.json_field()?;
                    let base = self.refs.step_base(&node)?;
                    self.base(base)
                }
                "$" => {
                    let node = self.call_with_string()?;
                    self.item_selector()?;
                    self.json_field()?;
                    let base = self.refs.step_base(&node)?;
                    self.base(base)
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
                _ => return None,
            },
        };
        self.accessors(&mut out)?;
        Some(out)
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

    /// `.field`, `["field"]`, `[0]`, `[expr]` and the few methods that have a translation.
    fn accessors(&mut self, out: &mut String) -> Option<()> {
        loop {
            if self.eat(".").is_some() {
                let Some(Token::Ident(name)) = self.peek().cloned() else { return None };
                self.at += 1;
                if self.punct("(") {
                    self.eat("(")?;
                    *out = self.method(out, &name)?;
                } else if name == "length" {
                    *out = format!("{out}|length");
                } else if is_plain_name(&name) {
                    out.push('.');
                    out.push_str(&name);
                } else {
                    out.push('[');
                    out.push_str(&string_literal(&name));
                    out.push(']');
                }
            } else if self.eat("[").is_some() {
                if let (Some(Token::Str(name)), Some(Token::Punct("]"))) =
                    (self.tokens.get(self.at), self.tokens.get(self.at + 1))
                    && is_plain_name(name)
                {
                    out.push('.');
                    out.push_str(name);
                    self.at += 2;
                    continue;
                }
                let index = self.expression()?;
                self.eat("]")?;
                out.push('[');
                out.push_str(&index);
                out.push(']');
            } else {
                return Some(());
            }
        }
    }

    /// A method call whose `(` has been read.
    fn method(&mut self, target: &str, name: &str) -> Option<String> {
        let filter = match name {
            "toLowerCase" => Some("lower"),
            "toUpperCase" => Some("upper"),
            "trim" => Some("trim"),
            "toString" => Some("string"),
            _ => None,
        };
        if let Some(filter) = filter {
            self.eat(")")?;
            return Some(format!("{target}|{filter}"));
        }
        let argument = self.expression()?;
        self.eat(")")?;
        match name {
            "includes" => Some(format!("({argument} in {target})")),
            "startsWith" => Some(format!("({target} is startingwith({argument}))")),
            "endsWith" => Some(format!("({target} is endingwith({argument}))")),
            _ => None,
        }
    }

    /// `["Name"]` or `.Name` after `$node`.
    fn node_key(&mut self) -> Option<String> {
        if self.eat("[").is_some() {
            let Some(Token::Str(name)) = self.peek().cloned() else { return None };
            self.at += 1;
            self.eat("]")?;
            Some(name)
        } else {
            self.eat(".")?;
            let Some(Token::Ident(name)) = self.peek().cloned() else { return None };
            self.at += 1;
            Some(name)
        }
    }

    /// `("Name")`.
    fn call_with_string(&mut self) -> Option<String> {
        self.eat("(")?;
        let Some(Token::Str(name)) = self.peek().cloned() else { return None };
        self.at += 1;
        self.eat(")")?;
        Some(name)
    }

    /// `.item`, `.first()` or `.last()`: one step has one output, so they are all the same.
    fn item_selector(&mut self) -> Option<()> {
        self.eat(".")?;
        let Some(Token::Ident(name)) = self.peek().cloned() else { return None };
        self.at += 1;
        match name.as_str() {
            "item" => Some(()),
            "first" | "last" => {
                self.eat("(")?;
                self.eat(")")
            }
            _ => None,
        }
    }

    /// `.json`, the item's data.
    fn json_field(&mut self) -> Option<()> {
        self.eat(".")?;
        match self.peek() {
            Some(Token::Ident(name)) if name == "json" => {
                self.at += 1;
                Some(())
            }
            _ => None,
        }
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
            "$now.toISO()",
            "$json.a ? 1 : 2",
            "`${$json.a}`",
            "$json.a.map(x => x.id)",
            "new Date()",
            "$input.all()",
            "",
            "'open",
            "$json.a = 1",
        ] {
            assert_eq!(convert(js), None, "{js}");
        }
    }

    #[test]
    fn grouping() {
        assert_eq!(group("input.a"), "input.a");
        assert_eq!(group("\"a b\""), "(\"a b\")");
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
            text("{{ $json.a }} at {{ $now }}"),
            Some(("{{ input.a }} at {{ $now }}".to_owned(), vec!["{{ $now }}".to_owned()]))
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
