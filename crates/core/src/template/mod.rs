//! A small, safe interpreter for the subset of Go's `text/template` (plus a few
//! [sprig](https://masterminds.github.io/sprig/) functions) that Outpost's
//! webhook configuration uses:
//!
//! * `DESTINATIONS_WEBHOOK_SIGNATURE_CONTENT_TEMPLATE` (default `{{.Body}}`),
//! * `DESTINATIONS_WEBHOOK_SIGNATURE_HEADER_TEMPLATE` (default `v0={{.Signatures | join ","}}`),
//! * `DESTINATIONS_WEBHOOK_SIGNING_SECRET_TEMPLATE` (default `whsec_{{.RandomHex}}`).
//!
//! # Supported syntax
//!
//! * text and actions `{{ ... }}`, whitespace trimming `{{- ` / ` -}}`, comments `{{/* ... */}}`;
//! * operands: `.`, `.Field.Chain`, `$`, `$var.Field`, `(pipeline).Field`, string literals
//!   (`"..."` with Go escapes, raw `` `...` ``), character constants (`'a'`), integers
//!   (decimal, `0x`, `0o`, `0b`, legacy octal), `true` / `false`;
//! * pipelines `a | b c` (the piped value becomes the last argument), variable declarations
//!   `{{$x := pipeline}}` and assignments `{{$x = pipeline}}`;
//! * `{{if}}` / `{{else if}}` / `{{else}}` / `{{end}}`, `{{with}}` / `{{else with}}`,
//!   `{{range}}` (lists, maps in key order, and integers) with `$i, $v :=`, `{{else}}`,
//!   `{{break}}` and `{{continue}}`;
//! * Go builtins: `and`, `or` (short-circuit), `not`, `len`, `index`, `slice`, `print`, `printf`,
//!   `println`, `eq`, `ne`, `lt`, `le`, `gt`, `ge`;
//! * sprig: `upper`, `lower`, `trim`, `trimAll`, `trimPrefix`, `trimSuffix`, `join`, `splitList`,
//!   `quote`, `squote`, `b64enc`, `b64dec`, `default`, `empty`, `replace`, `contains`,
//!   `hasPrefix`, `hasSuffix`, `toString`, `cat`, `list`;
//! * methods on [`TimeValue`]: `Unix`, `UnixMilli`, `UnixMicro`, `UnixNano`, `UTC`, `String`,
//!   `Format "<go layout>"`, `Year`, `YearDay`, `Day`, `Hour`, `Minute`, `Second`, `Nanosecond`.
//!
//! `define`, `template`, `block`, `nil`, floating-point constants and any unknown function are
//! rejected by [`Template::parse`] with an error naming the construct and its position.
//!
//! # Semantics
//!
//! [`Value::Map`] behaves like a Go *struct*: a missing field is a render error
//! (`can't evaluate field X in type ...`), as it is for Outpost's `SignaturePayload` /
//! `HeaderPayload`, rather than Go's `<no value>` for maps. Truthiness follows Go (empty string,
//! `0`, `false`, empty list/map are false; a time is always true). Values print like Go's
//! `fmt.Print` (`[a b]` for lists, `map[k:v]` for maps, `2024-06-01 08:23:36 +0000 UTC` for times).
//!
//! Rendering never panics; it is bounded by a nesting limit (parse time), a cap on the total
//! number of `range` iterations and a cap on the output size.

mod eval;
mod funcs;
mod gofmt;
mod lexer;
mod parser;
mod timefmt;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;

/// Maximum nesting of control structures and parentheses.
pub(crate) const MAX_DEPTH: usize = 100;
/// Maximum size of a rendered template or of any intermediate string, in bytes.
pub(crate) const MAX_OUTPUT_BYTES: usize = 64 << 20;
/// Maximum total number of `range` iterations in one render.
pub(crate) const MAX_RANGE_ITERATIONS: u64 = 1_000_000;

/// Template data model.
///
/// `Map` plays the role of a Go struct (fields are looked up by name, a missing field is an
/// error). Build data with the `From` conversions and [`Value::map`]:
///
/// ```text
/// let data = Value::map([("Body", Value::from("{}")), ("EventID", "evt_1".into())]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A string (Go `string`).
    Str(String),
    /// An integer (Go `int`).
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// A list (Go slice), e.g. `.Signatures`.
    List(Vec<Value>),
    /// Named fields (a Go struct); a missing field is a render error.
    Map(BTreeMap<String, Value>),
    /// An instant (Go `time.Time`), e.g. `.Timestamp`.
    Time(TimeValue),
}

impl Value {
    /// Builds a [`Value::Map`] from `(name, value)` pairs.
    pub fn map<K, V, I>(pairs: I) -> Value
    where
        K: Into<String>,
        V: Into<Value>,
        I: IntoIterator<Item = (K, V)>,
    {
        Value::Map(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// Go truthiness: false for `""`, `0`, `false`, empty lists and maps; times are always true.
    pub fn is_truthy(&self) -> bool {
        match self {
            Value::Str(s) => !s.is_empty(),
            Value::Int(i) => *i != 0,
            Value::Bool(b) => *b,
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Time(_) => true,
        }
    }

    /// A Go-like type name used in error messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::Int(_) => "int",
            Value::Bool(_) => "bool",
            Value::List(l) if l.iter().all(|v| matches!(v, Value::Str(_))) => "[]string",
            Value::List(_) => "[]interface {}",
            Value::Map(_) => "map[string]interface {}",
            Value::Time(_) => "time.Time",
        }
    }
}

/// Formats like Go's `fmt.Print` / `%v`.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        gofmt::write_value(&mut s, self);
        f.write_str(&s)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<TimeValue> for Value {
    fn from(t: TimeValue) -> Self {
        Value::Time(t)
    }
}
impl From<Vec<Value>> for Value {
    fn from(l: Vec<Value>) -> Self {
        Value::List(l)
    }
}
impl From<Vec<String>> for Value {
    fn from(l: Vec<String>) -> Self {
        Value::List(l.into_iter().map(Value::Str).collect())
    }
}
impl From<&[&str]> for Value {
    fn from(l: &[&str]) -> Self {
        Value::List(l.iter().map(|s| Value::from(*s)).collect())
    }
}
impl From<BTreeMap<String, Value>> for Value {
    fn from(m: BTreeMap<String, Value>) -> Self {
        Value::Map(m)
    }
}

/// An instant in time, always rendered in UTC (like a Go `time.Time` in `time.UTC`).
///
/// Template methods: `.Unix`, `.UnixMilli`, `.UnixMicro`, `.UnixNano`, `.UTC`, `.String`,
/// `.Format "2006-01-02T15:04:05Z07:00"`, `.Year`, `.YearDay`, `.Day`, `.Hour`, `.Minute`,
/// `.Second`, `.Nanosecond`. Printed directly it renders like Go's `time.Time.String()`,
/// e.g. `2024-06-01 08:23:36 +0000 UTC` (fractional seconds only when non-zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeValue {
    /// Nanoseconds since 1970-01-01T00:00:00Z.
    pub unix_nanos: i128,
}

/// Errors from [`Template::parse`] and [`Template::render`].
///
/// `line` and `col` are 1-based (the column counts characters); `context` is the source text
/// of the operand or command being evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The template source is invalid or uses an unsupported construct.
    #[error("template: {line}:{col}: {message}")]
    Parse {
        /// 1-based line of the offending construct.
        line: usize,
        /// 1-based column (in characters).
        col: usize,
        /// What is wrong, e.g. `function "foo" not defined`.
        message: String,
    },
    /// Rendering failed, e.g. a missing field or an out-of-range index.
    #[error("template: {line}:{col}: executing at <{context}>: {message}")]
    Render {
        /// 1-based line of the failing operand or command.
        line: usize,
        /// 1-based column (in characters).
        col: usize,
        /// Source text of the failing operand or command, e.g. `.Signatures`.
        context: String,
        /// What went wrong, e.g. `can't evaluate field Signatures in type ...`.
        message: String,
    },
}

impl TemplateError {
    /// The message without position information.
    pub fn message(&self) -> &str {
        match self {
            TemplateError::Parse { message, .. } | TemplateError::Render { message, .. } => message,
        }
    }

    pub(crate) fn parse_at(src: &str, offset: usize, message: impl Into<String>) -> Self {
        let (line, col) = line_col(src, offset);
        TemplateError::Parse {
            line,
            col,
            message: message.into(),
        }
    }

    pub(crate) fn render_at(src: &str, span: (usize, usize), message: impl Into<String>) -> Self {
        let (line, col) = line_col(src, span.0);
        let context = src
            .get(span.0..span.1)
            .unwrap_or_default()
            .trim()
            .to_owned();
        TemplateError::Render {
            line,
            col,
            context,
            message: message.into(),
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let mut off = offset.min(src.len());
    while !src.is_char_boundary(off) {
        off -= 1;
    }
    let before = &src[..off];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

/// A parsed template. Cheap to share: rendering takes `&self`.
#[derive(Debug, Clone)]
pub struct Template {
    source: String,
    nodes: Vec<parser::Node>,
}

impl Template {
    /// Parses `src`. Unsupported syntax or an unknown function is an error naming the
    /// construct and its position.
    pub fn parse(src: &str) -> Result<Template, TemplateError> {
        let nodes = parser::parse(src)?;
        Ok(Template {
            source: src.to_owned(),
            nodes,
        })
    }

    /// Renders the template with `data` as `.` (and `$`).
    pub fn render(&self, data: &Value) -> Result<String, TemplateError> {
        eval::render(&self.source, &self.nodes, data)
    }

    /// The template source text.
    pub fn source(&self) -> &str {
        &self.source
    }
}

impl std::str::FromStr for Template {
    type Err = TemplateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Template::parse(s)
    }
}
