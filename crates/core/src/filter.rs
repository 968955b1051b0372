//! Destination event filters: Outpost's JSON match language.
//!
//! A destination may carry a `filter`, a JSON object stored verbatim at create/update time. During
//! publish fan-out every candidate destination that is enabled and subscribed to the event's topic
//! is additionally checked with [`matches`]; only destinations whose filter matches receive a
//! delivery. The document the filter is evaluated against is built by the caller as
//! `{"id", "topic", "time" (RFC3339, seconds), "metadata": {..}, "data": {..}}`.
//!
//! The language is the one of `hookdeck/simple-json-match`, as ported to Go in Outpost's
//! `internal/simplejsonmatch`. This module reproduces the Go port's observable behaviour,
//! including its quirks, so that filters behave identically after a migration:
//!
//! * An object schema is an implicit AND over its keys; nested objects recurse. A key missing from
//!   the document fails, unless its sub-schema is an object with `"$exist": false`.
//! * Primitive vs primitive is a loose equality: all numbers compare as `f64`, otherwise the JSON
//!   types must agree (`1` never equals `"1"`). A primitive schema against an array value matches
//!   when any element matches (recursively, so nested arrays are flattened).
//! * An array schema against an array value matches when every schema element matches some
//!   element of the value. An array schema never matches a non-array value.
//! * An object schema without operators against an array value matches when any element matches.
//! * Value operators: `$eq` / `$neq` (deep equality; loose for primitives), `$gt` `$gte` `$lt`
//!   `$lte` (string-string byte-wise or number-number, otherwise no match), `$in` / `$nin` (array
//!   operand: value is one of the elements; string operand: substring of a string value; array
//!   value: contains the operand; any other type combination is no match for **both** `$in` and
//!   `$nin`), `$startsWith` / `$endsWith` (string value; string operand or array of strings = any;
//!   a non-string array element reached before a match means no match), `$exist` (boolean). Several
//!   operators in one object are ANDed; non-operator keys next to operators are ignored. Applied to
//!   an array value, operators see the whole array.
//! * Logical keys: `$or` (array, any), `$and` (array, all), `$not` (any schema, negation). `$not`
//!   combined with sibling keys means `not(X) AND rest`.
//! * Any key starting with `$` that is not one of the above (for example `$ref`, `$regex`) is not
//!   an operator: it is looked up as an ordinary field name, which in practice means no match.
//!
//! Quirks preserved from upstream (deliberately, for compatibility):
//!
//! * `$and` and `$not` are only interpreted where the value being matched is an object (or at
//!   the top level of [`matches`]). Used as the sub-schema of a primitive field, e.g.
//!   `{"status": {"$not": "failed"}}`, they never match; write `{"$not": {"status": "failed"}}`
//!   instead. `$or` works at both levels.
//! * When a value-level object contains `$or`, its other keys (including operators such as
//!   `$exist`) are ignored.
//! * A missing key only passes with a literal `"$exist": false` in its sub-schema;
//!   `{"$not": {"$exist": true}}` on a missing key does not match.
//! * `$exist` on a present field with a non-boolean operand is no match.
//!
//! Differences from calling upstream's `simplejsonmatch.Match` directly: [`matches`] treats a
//! `null` or empty-object filter as "match everything", like Outpost's `models.MatchFilter` does
//! before delegating, and it bounds recursion (documents built in memory could be nested
//! arbitrarily deep); exceeding the bound is reported as no match instead of overflowing the stack.
//! Evaluation never panics: every type error is simply "no match".
//!
//! [`validate`] mirrors what upstream accepts at destination create/update time, which is any JSON
//! object (or `null` to clear the filter); malformed operators are not rejected there, they simply
//! never match. On top of that we reject filters nested deeper than [`MAX_FILTER_DEPTH`] as a
//! resource guard.

use std::cmp::Ordering;

use serde_json::{Map, Value};

/// Maximum nesting depth of objects/arrays accepted by [`validate`]. The filter object itself is
/// depth 1, so `{"data": {"a": 1}}` has depth 2.
pub const MAX_FILTER_DEPTH: usize = 16;

/// Bound on the evaluation recursion depth of [`matches`]. Recursion follows the filter's nesting
/// and, for arrays, the document's nesting; documents parsed by `serde_json` are at most 128 levels
/// deep, so this is only reached by pathological in-memory values.
const MAX_EVAL_DEPTH: usize = 512;

/// Value-level operators (upstream `operatorKeys`). `$or`, `$and` and `$not` are handled
/// structurally and are deliberately not part of this list.
const OPERATORS: [&str; 11] = [
    "$eq",
    "$neq",
    "$gt",
    "$gte",
    "$lt",
    "$lte",
    "$in",
    "$nin",
    "$startsWith",
    "$endsWith",
    "$exist",
];

const OP_OR: &str = "$or";
const OP_AND: &str = "$and";
const OP_NOT: &str = "$not";
const OP_EXIST: &str = "$exist";

/// Returns true when `doc` satisfies `filter`. An empty or null filter matches everything.
pub fn matches(filter: &Value, doc: &Value) -> bool {
    match filter {
        Value::Null => true,
        Value::Object(map) if map.is_empty() => true,
        _ => {
            let mut matcher = Matcher::default();
            let matched = matcher.schema(doc, filter);
            matched && !matcher.aborted
        }
    }
}

/// Checks that a filter is well-formed: a JSON object (or `null`) nested at most
/// [`MAX_FILTER_DEPTH`] levels deep; returns a human-readable error message otherwise.
///
/// Upstream Outpost accepts any JSON object as a filter at destination create/update time (it is
/// unmarshalled into a `map[string]any` and never inspected), so operator names and operand shapes
/// are deliberately *not* checked: an unknown operator or a non-array `$or` is valid and simply
/// does not match (see the module docs). Only anything that is neither an object nor `null`, and
/// objects nested deeper than [`MAX_FILTER_DEPTH`] (our addition, to bound evaluation cost), are
/// rejected.
pub fn validate(filter: &Value) -> Result<(), String> {
    match filter {
        Value::Null => Ok(()),
        Value::Object(_) => {
            if exceeds_depth(filter, MAX_FILTER_DEPTH) {
                Err(format!(
                    "filter is nested too deeply (maximum depth is {MAX_FILTER_DEPTH})"
                ))
            } else {
                Ok(())
            }
        }
        other => Err(format!(
            "filter must be a JSON object or null, got {}",
            json_type_name(other)
        )),
    }
}

/// True when `value` has more than `budget` levels of nested containers.
fn exceeds_depth(value: &Value, budget: usize) -> bool {
    match value {
        Value::Object(map) => budget == 0 || map.values().any(|v| exceeds_depth(v, budget - 1)),
        Value::Array(items) => budget == 0 || items.iter().any(|v| exceeds_depth(v, budget - 1)),
        _ => false,
    }
}

fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Evaluation state: a recursion guard. Once `aborted` is set every call returns false and
/// [`matches`] reports no match regardless of intermediate negations.
#[derive(Default)]
struct Matcher {
    depth: usize,
    aborted: bool,
}

impl Matcher {
    fn enter(&mut self) -> bool {
        if self.aborted {
            return false;
        }
        if self.depth >= MAX_EVAL_DEPTH {
            self.aborted = true;
            return false;
        }
        self.depth += 1;
        true
    }

    /// Upstream `matchJSONToSchema`: whole-document matching, where `$not`, `$or`, `$and` and
    /// missing keys are interpreted.
    fn schema(&mut self, input: &Value, schema: &Value) -> bool {
        if !self.enter() {
            return false;
        }
        let matched = self.schema_inner(input, schema);
        self.depth -= 1;
        matched
    }

    fn schema_inner(&mut self, input: &Value, schema: &Value) -> bool {
        if let Value::Object(map) = schema
            && let Some(negated) = map.get(OP_NOT)
        {
            let inner = self.schema(input, negated);
            if map.len() == 1 {
                return !inner;
            }
            if inner {
                return false;
            }
            // Otherwise the remaining keys decide.
        }

        let (Value::Object(fields), Value::Object(map)) = (input, schema) else {
            return self.value(input, schema);
        };

        for (key, sub) in map {
            let ok = match (key.as_str(), sub) {
                (OP_NOT, _) => true,
                (OP_OR, Value::Array(alternatives)) => {
                    alternatives.iter().any(|alt| self.schema(input, alt))
                }
                (OP_AND, Value::Array(conjuncts)) => {
                    conjuncts.iter().all(|conj| self.schema(input, conj))
                }
                _ => match fields.get(key) {
                    Some(field) => self.value(field, sub),
                    None => is_exist_false(sub),
                },
            };
            if !ok {
                return false;
            }
        }
        true
    }

    /// Upstream `recursivelyMatchValue` (with its inverted result flipped back): matches one value
    /// against a sub-schema, interpreting primitives, arrays and value-level operators.
    fn value(&mut self, input: &Value, schema: &Value) -> bool {
        if !self.enter() {
            return false;
        }
        let matched = self.value_inner(input, schema);
        self.depth -= 1;
        matched
    }

    fn value_inner(&mut self, input: &Value, schema: &Value) -> bool {
        if is_primitive(schema) {
            return match input {
                Value::Array(items) => items.iter().any(|item| self.value(item, schema)),
                Value::Object(_) => false,
                _ => loose_eq(input, schema),
            };
        }

        if let Value::Array(items) = input {
            return match schema {
                Value::Array(wanted) => wanted
                    .iter()
                    .all(|want| items.iter().any(|item| self.value(item, want))),
                Value::Object(map) if has_operator(map) => apply_operators(map, input),
                _ => items.iter().any(|item| self.value(item, schema)),
            };
        }

        // `input` is a primitive or an object; an array schema never matches those.
        let Value::Object(map) = schema else {
            return false;
        };
        if let Some(Value::Array(alternatives)) = map.get(OP_OR) {
            return alternatives.iter().any(|alt| self.schema(input, alt));
        }
        if has_operator(map) {
            return apply_operators(map, input);
        }
        if is_primitive(input) {
            return false;
        }
        self.schema(input, schema)
    }
}

fn is_primitive(value: &Value) -> bool {
    !matches!(value, Value::Array(_) | Value::Object(_))
}

fn is_operator(key: &str) -> bool {
    OPERATORS.contains(&key)
}

fn has_operator(map: &Map<String, Value>) -> bool {
    map.keys().any(|key| is_operator(key))
}

fn is_exist_false(schema: &Value) -> bool {
    matches!(schema, Value::Object(map) if map.get(OP_EXIST) == Some(&Value::Bool(false)))
}

/// All operator keys of `map` must hold for `input`; other keys are ignored.
fn apply_operators(map: &Map<String, Value>, input: &Value) -> bool {
    map.iter()
        .filter(|(key, _)| is_operator(key))
        .all(|(key, operand)| apply_operator(key, input, operand) == Some(true))
}

/// Applies one value operator. `None` stands for upstream's "unsupported type" error, which the
/// callers treat exactly like `false`; it only matters for `$nin`, which must not turn an error
/// into a match.
fn apply_operator(op: &str, value: &Value, operand: &Value) -> Option<bool> {
    match op {
        "$eq" => Some(deep_eq(value, operand)),
        "$neq" => Some(!deep_eq(value, operand)),
        "$gt" => compare(value, operand).map(Ordering::is_gt),
        "$gte" => compare(value, operand).map(Ordering::is_ge),
        "$lt" => compare(value, operand).map(Ordering::is_lt),
        "$lte" => compare(value, operand).map(Ordering::is_le),
        "$in" => op_in(value, operand),
        "$nin" => op_in(value, operand).map(|found| !found),
        "$startsWith" => affix(value, operand, |s, p| s.starts_with(p)),
        "$endsWith" => affix(value, operand, |s, p| s.ends_with(p)),
        // Only reached for fields that exist (missing keys are handled by the caller).
        "$exist" => operand.as_bool(),
        _ => None,
    }
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
}

/// Upstream `compareEquality`: loose primitive equality. Numbers compare as `f64`; otherwise
/// both sides must have the same JSON type. Containers never compare equal here.
fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Number(_), Value::Number(_)) => match (number(a), number(b)) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        _ => false,
    }
}

/// `$eq`: loose equality for two primitives, otherwise equality of the Go `encoding/json`
/// serializations (numbers as float64, object keys sorted, so key order is irrelevant).
fn deep_eq(a: &Value, b: &Value) -> bool {
    if is_primitive(a) && is_primitive(b) {
        return loose_eq(a, b);
    }
    serialized_eq(a, b)
}

/// Structural equivalent of comparing Go `json.Marshal` outputs.
fn serialized_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => match (number(a), number(b)) {
            // Go prints -0 as "-0", so it differs from 0 once serialized.
            (Some(x), Some(y)) => x == y && x.is_sign_negative() == y.is_sign_negative(),
            _ => false,
        },
        (Value::Array(xs), Value::Array(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| serialized_eq(x, y))
        }
        (Value::Object(xs), Value::Object(ys)) => {
            xs.len() == ys.len()
                && xs
                    .iter()
                    .all(|(key, x)| ys.get(key).is_some_and(|y| serialized_eq(x, y)))
        }
        _ => loose_eq(a, b),
    }
}

/// Ordering for `$gt`/`$gte`/`$lt`/`$lte`: string-string (byte-wise) or number-number.
fn compare(value: &Value, operand: &Value) -> Option<Ordering> {
    match (value, operand) {
        (Value::String(x), Value::String(y)) => Some(x.as_str().cmp(y.as_str())),
        _ => number(value)?.partial_cmp(&number(operand)?),
    }
}

/// `$in`. With an array operand the value must be a primitive equal to one element. Otherwise a
/// string value must contain the (string) operand, or an array value must contain the operand.
fn op_in(value: &Value, operand: &Value) -> Option<bool> {
    if let Value::Array(candidates) = operand {
        if !is_primitive(value) {
            return None;
        }
        return Some(candidates.iter().any(|c| loose_eq(value, c)));
    }
    match (value, operand) {
        (Value::String(haystack), Value::String(needle)) => {
            Some(haystack.contains(needle.as_str()))
        }
        (Value::String(_), _) => None,
        (Value::Array(items), _) => Some(items.iter().any(|item| loose_eq(item, operand))),
        _ => None,
    }
}

/// `$startsWith` / `$endsWith`: the value must be a string; the operand a string or an array of
/// strings (any may match; like upstream, a non-string element reached before a match is an error).
fn affix(value: &Value, operand: &Value, test: fn(&str, &str) -> bool) -> Option<bool> {
    let Value::String(s) = value else {
        return None;
    };
    match operand {
        Value::String(p) => Some(test(s, p)),
        Value::Array(candidates) => {
            for candidate in candidates {
                let Value::String(p) = candidate else {
                    return None;
                };
                if test(s, p) {
                    return Some(true);
                }
            }
            Some(false)
        }
        _ => None,
    }
}

#[cfg(test)]
#[path = "filter_tests.rs"]
mod tests;
