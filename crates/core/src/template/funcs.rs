//! Template functions: Go builtins and the supported sprig subset.

use super::gofmt::{go_quote, sprint, sprintf, sprintln, write_value};
use super::{MAX_OUTPUT_BYTES, Value};
use std::borrow::Cow;

/// Every function name the parser accepts. `and` and `or` are evaluated lazily by the
/// evaluator; the rest go through [`call`].
const FUNCS: &[&str] = &[
    // Go builtins
    "and",
    "or",
    "not",
    "len",
    "index",
    "slice",
    "print",
    "printf",
    "println",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge", // sprig
    "upper",
    "lower",
    "trim",
    "trimAll",
    "trimPrefix",
    "trimSuffix",
    "join",
    "splitList",
    "quote",
    "squote",
    "b64enc",
    "b64dec",
    "default",
    "empty",
    "replace",
    "contains",
    "hasPrefix",
    "hasSuffix",
    "toString",
    "cat",
    "list",
];

pub(crate) fn is_known(name: &str) -> bool {
    FUNCS.contains(&name)
}

type Args<'d> = Vec<Cow<'d, Value>>;

enum FnError {
    /// Argument count or type problem (reported as is, like Go).
    Usage(String),
    /// Failure inside the function (reported as `error calling NAME: ...`).
    Call(String),
}

type FnResult<'d> = Result<Cow<'d, Value>, FnError>;

fn owned<'d>(v: Value) -> FnResult<'d> {
    Ok(Cow::Owned(v))
}

fn fail<T>(msg: impl Into<String>) -> Result<T, FnError> {
    Err(FnError::Call(msg.into()))
}

/// Calls function `name` with evaluated arguments (the piped value, if any, last).
pub(crate) fn call<'d>(name: &str, args: Args<'d>) -> Result<Cow<'d, Value>, String> {
    let result = dispatch(name, args).map_err(|e| match e {
        FnError::Usage(m) => m,
        FnError::Call(m) => format!("error calling {name}: {m}"),
    })?;
    if let Value::Str(s) = result.as_ref()
        && s.len() > MAX_OUTPUT_BYTES
    {
        return Err(format!(
            "error calling {name}: result exceeds {MAX_OUTPUT_BYTES} bytes"
        ));
    }
    Ok(result)
}

fn take<'d, const N: usize>(name: &str, args: Args<'d>) -> Result<[Cow<'d, Value>; N], FnError> {
    let got = args.len();
    args.try_into().map_err(|_| {
        FnError::Usage(format!(
            "wrong number of args for {name}: want {N} got {got}"
        ))
    })
}

fn at_least(name: &str, args: &Args<'_>, n: usize) -> Result<(), FnError> {
    if args.len() < n {
        return Err(FnError::Usage(format!(
            "wrong number of args for {name}: want at least {n} got {}",
            args.len()
        )));
    }
    Ok(())
}

fn as_str(v: &Value) -> Result<&str, FnError> {
    match v {
        Value::Str(s) => Ok(s),
        other => Err(FnError::Usage(format!(
            "wrong type for value; expected string; got {}",
            other.type_name()
        ))),
    }
}

fn len_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn dispatch<'d>(name: &str, args: Args<'d>) -> FnResult<'d> {
    match name {
        "and" | "or" => {
            // Normally evaluated lazily by the evaluator; this is the eager equivalent.
            at_least(name, &args, 1)?;
            let want = name == "or";
            let mut last = None;
            for a in args {
                if a.is_truthy() == want {
                    return Ok(a);
                }
                last = Some(a);
            }
            last.ok_or_else(|| FnError::Usage(format!("wrong number of args for {name}")))
        }
        "not" => {
            let [a] = take(name, args)?;
            owned(Value::Bool(!a.is_truthy()))
        }
        "len" => {
            let [a] = take(name, args)?;
            let n = match a.as_ref() {
                Value::Str(s) => s.len(),
                Value::List(l) => l.len(),
                Value::Map(m) => m.len(),
                other => return fail(format!("len of type {}", other.type_name())),
            };
            owned(Value::Int(len_i64(n)))
        }
        "index" => {
            at_least(name, &args, 1)?;
            let mut it = args.into_iter();
            let mut cur = it
                .next()
                .ok_or_else(|| FnError::Usage("wrong number of args for index".to_owned()))?;
            for key in it {
                cur = index_one(cur, &key)?;
            }
            Ok(cur)
        }
        "slice" => slice(args),
        "print" => owned(Value::Str(sprint(&args))),
        "println" => owned(Value::Str(sprintln(&args))),
        "printf" => {
            at_least(name, &args, 1)?;
            let format = as_str(&args[0])?;
            owned(Value::Str(sprintf(format, &args[1..])))
        }
        "eq" => {
            at_least(name, &args, 1)?;
            let (first, rest) = args.split_at(1);
            if rest.is_empty() {
                return fail("missing argument for comparison");
            }
            for b in rest {
                if eq_values(&first[0], b)? {
                    return owned(Value::Bool(true));
                }
            }
            owned(Value::Bool(false))
        }
        "ne" => {
            let [a, b] = take(name, args)?;
            owned(Value::Bool(!eq_values(&a, &b)?))
        }
        "lt" | "le" | "gt" | "ge" => {
            let [a, b] = take(name, args)?;
            let less = lt_values(&a, &b)?;
            let result = match name {
                "lt" => less,
                "ge" => !less,
                _ => {
                    let le = less || eq_values(&a, &b)?;
                    if name == "le" { le } else { !le }
                }
            };
            owned(Value::Bool(result))
        }
        "upper" | "lower" => {
            let [a] = take(name, args)?;
            let s = as_str(&a)?;
            owned(Value::Str(simple_case(s, name == "upper")))
        }
        "trim" => {
            let [a] = take(name, args)?;
            owned(Value::Str(as_str(&a)?.trim().to_owned()))
        }
        "trimAll" => {
            let [cutset, s] = take(name, args)?;
            let cutset = as_str(&cutset)?;
            owned(Value::Str(
                as_str(&s)?.trim_matches(|c| cutset.contains(c)).to_owned(),
            ))
        }
        "trimPrefix" | "trimSuffix" => {
            let [affix, s] = take(name, args)?;
            let (affix, s) = (as_str(&affix)?, as_str(&s)?);
            let r = if name == "trimPrefix" {
                s.strip_prefix(affix)
            } else {
                s.strip_suffix(affix)
            };
            owned(Value::Str(r.unwrap_or(s).to_owned()))
        }
        "join" => {
            let [sep, v] = take(name, args)?;
            let sep = as_str(&sep)?;
            let items = strslice(&v);
            let total = items
                .iter()
                .map(String::len)
                .sum::<usize>()
                .saturating_add(sep.len().saturating_mul(items.len()));
            if total > MAX_OUTPUT_BYTES {
                return fail(format!("result exceeds {MAX_OUTPUT_BYTES} bytes"));
            }
            owned(Value::Str(items.join(sep)))
        }
        "splitList" => {
            let [sep, s] = take(name, args)?;
            let (sep, s) = (as_str(&sep)?, as_str(&s)?);
            let parts: Vec<Value> = if sep.is_empty() {
                s.chars().map(|c| Value::Str(c.to_string())).collect()
            } else {
                s.split(sep).map(Value::from).collect()
            };
            owned(Value::List(parts))
        }
        "quote" => {
            let parts: Vec<String> = args.iter().map(|a| go_quote(&strval(a))).collect();
            owned(Value::Str(parts.join(" ")))
        }
        "squote" => {
            let parts: Vec<String> = args.iter().map(|a| format!("'{}'", strval(a))).collect();
            owned(Value::Str(parts.join(" ")))
        }
        "b64enc" => {
            let [a] = take(name, args)?;
            owned(Value::Str(b64_encode(as_str(&a)?.as_bytes())))
        }
        "b64dec" => {
            let [a] = take(name, args)?;
            let out = match b64_decode(as_str(&a)?) {
                Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Err(at) => format!("illegal base64 data at input byte {at}"),
            };
            owned(Value::Str(out))
        }
        "default" => {
            at_least(name, &args, 1)?;
            let mut it = args.into_iter();
            let def = it
                .next()
                .ok_or_else(|| FnError::Usage("wrong number of args for default".to_owned()))?;
            match it.next() {
                Some(given) if given.is_truthy() => Ok(given),
                _ => Ok(def),
            }
        }
        "empty" => {
            let [a] = take(name, args)?;
            owned(Value::Bool(!a.is_truthy()))
        }
        "replace" => {
            let [old, new, src] = take(name, args)?;
            let (old, new, src) = (as_str(&old)?, as_str(&new)?, as_str(&src)?);
            let count = if old.is_empty() {
                src.chars().count() + 1
            } else {
                src.matches(old).count()
            };
            let total = src.len().saturating_add(count.saturating_mul(new.len()));
            if total > MAX_OUTPUT_BYTES {
                return fail(format!("result exceeds {MAX_OUTPUT_BYTES} bytes"));
            }
            owned(Value::Str(src.replace(old, new)))
        }
        "contains" | "hasPrefix" | "hasSuffix" => {
            let [needle, s] = take(name, args)?;
            let (needle, s) = (as_str(&needle)?, as_str(&s)?);
            let r = match name {
                "contains" => s.contains(needle),
                "hasPrefix" => s.starts_with(needle),
                _ => s.ends_with(needle),
            };
            owned(Value::Bool(r))
        }
        "toString" => {
            let [a] = take(name, args)?;
            owned(Value::Str(strval(&a)))
        }
        "cat" => {
            let parts: Vec<String> = args.iter().map(|a| strval(a)).collect();
            owned(Value::Str(parts.join(" ")))
        }
        "list" => owned(Value::List(args.into_iter().map(Cow::into_owned).collect())),
        other => Err(FnError::Usage(format!("function {other:?} not defined"))),
    }
}

/// Go's simple (one rune to one rune) case mapping, like `strings.ToUpper`.
fn simple_case(s: &str, upper: bool) -> String {
    s.chars()
        .map(|c| {
            let mut it: Box<dyn Iterator<Item = char>> = if upper {
                Box::new(c.to_uppercase())
            } else {
                Box::new(c.to_lowercase())
            };
            match (it.next(), it.next()) {
                (Some(m), None) => m,
                // Multi-rune full mappings: Go's simple mapping keeps the rune when
                // upper-casing (`ß`) and takes the base letter when lower-casing (`İ` -> `i`).
                (Some(m), Some(_)) if !upper => m,
                _ => c,
            }
        })
        .collect()
}

fn index_key(key: &Value, len: usize) -> Result<usize, FnError> {
    match key {
        Value::Int(i) => match usize::try_from(*i) {
            Ok(u) if u < len => Ok(u),
            _ => fail(format!("index out of range: {i}")),
        },
        other => fail(format!(
            "cannot index slice/array with type {}",
            other.type_name()
        )),
    }
}

fn map_key(key: &Value) -> Result<&str, FnError> {
    match key {
        Value::Str(s) => Ok(s),
        other => fail(format!(
            "value has type {}; should be string",
            other.type_name()
        )),
    }
}

fn index_one<'d>(item: Cow<'d, Value>, key: &Value) -> FnResult<'d> {
    let missing = |k: &str| fail(format!("map has no entry for key {k:?}"));
    match item {
        Cow::Borrowed(Value::List(l)) => {
            let i = index_key(key, l.len())?;
            l.get(i)
                .map(Cow::Borrowed)
                .ok_or_else(|| FnError::Call(format!("index out of range: {i}")))
        }
        Cow::Owned(Value::List(mut l)) => {
            let i = index_key(key, l.len())?;
            Ok(Cow::Owned(l.swap_remove(i)))
        }
        Cow::Borrowed(Value::Map(m)) => {
            let k = map_key(key)?;
            m.get(k).map(Cow::Borrowed).map_or_else(|| missing(k), Ok)
        }
        Cow::Owned(Value::Map(mut m)) => {
            let k = map_key(key)?;
            m.remove(k).map(Cow::Owned).map_or_else(|| missing(k), Ok)
        }
        other => match other.as_ref() {
            Value::Str(s) => {
                let i = index_key(key, s.len())?;
                let b = s.as_bytes().get(i).copied().unwrap_or(0);
                owned(Value::Int(i64::from(b)))
            }
            v => fail(format!("can't index item of type {}", v.type_name())),
        },
    }
}

fn slice<'d>(args: Args<'d>) -> FnResult<'d> {
    at_least("slice", &args, 1)?;
    let mut it = args.into_iter();
    let item = it
        .next()
        .ok_or_else(|| FnError::Usage("wrong number of args for slice".to_owned()))?;
    let mut idx = Vec::new();
    for v in it {
        match v.as_ref() {
            Value::Int(i) => match usize::try_from(*i) {
                Ok(u) => idx.push(u),
                Err(_) => return fail(format!("index out of range: {i}")),
            },
            other => {
                return fail(format!(
                    "cannot index slice/array with type {}",
                    other.type_name()
                ));
            }
        }
    }
    if idx.len() > 3 {
        return fail(format!("too many slice indexes: {}", idx.len()));
    }
    let len = match item.as_ref() {
        Value::List(l) => l.len(),
        Value::Str(s) => {
            if idx.len() == 3 {
                return fail("cannot 3-index slice a string");
            }
            s.len()
        }
        other => return fail(format!("can't slice item of type {}", other.type_name())),
    };
    for &i in &idx {
        if i > len {
            return fail(format!("index out of range: {i}"));
        }
    }
    let i = idx.first().copied().unwrap_or(0);
    let j = idx.get(1).copied().unwrap_or(len);
    if i > j {
        return fail(format!("invalid slice index: {i} > {j}"));
    }
    if let Some(&k) = idx.get(2)
        && j > k
    {
        return fail(format!("invalid slice index: {j} > {k}"));
    }
    match item {
        Cow::Borrowed(Value::List(l)) => {
            owned(Value::List(l.get(i..j).unwrap_or_default().to_vec()))
        }
        Cow::Owned(Value::List(mut l)) => {
            l.truncate(j);
            l.drain(..i);
            owned(Value::List(l))
        }
        other => match other.as_ref() {
            Value::Str(s) => match s.get(i..j) {
                Some(sub) => owned(Value::Str(sub.to_owned())),
                None => fail(format!(
                    "slice [{i}:{j}] does not fall on UTF-8 character boundaries"
                )),
            },
            v => fail(format!("can't slice item of type {}", v.type_name())),
        },
    }
}

fn eq_values(a: &Value, b: &Value) -> Result<bool, FnError> {
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => Ok(x == y),
        (Value::Int(x), Value::Int(y)) => Ok(x == y),
        (Value::Bool(x), Value::Bool(y)) => Ok(x == y),
        (Value::Time(x), Value::Time(y)) => Ok(x == y),
        (Value::List(_), Value::List(_)) | (Value::Map(_), Value::Map(_)) => {
            fail(format!("non-comparable type {}", a.type_name()))
        }
        _ => fail("incompatible types for comparison"),
    }
}

fn lt_values(a: &Value, b: &Value) -> Result<bool, FnError> {
    let basic = |v: &Value| matches!(v, Value::Str(_) | Value::Int(_) | Value::Bool(_));
    if !basic(a) || !basic(b) {
        return fail("invalid type for comparison");
    }
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => Ok(x < y),
        (Value::Int(x), Value::Int(y)) => Ok(x < y),
        (Value::Bool(_), Value::Bool(_)) => fail("invalid type for comparison"),
        _ => fail("incompatible types for comparison"),
    }
}

/// sprig's `strval`: strings as is, everything else like `%v`.
fn strval(v: &Value) -> String {
    match v {
        Value::Str(s) => s.clone(),
        other => {
            let mut s = String::new();
            write_value(&mut s, other);
            s
        }
    }
}

/// sprig's `strslice`: lists element-wise, anything else as a one-element list.
fn strslice(v: &Value) -> Vec<String> {
    match v {
        Value::List(l) => l.iter().map(strval).collect(),
        other => vec![strval(other)],
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (Go's `base64.StdEncoding`).
pub(crate) fn b64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * k)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Strict standard base64 decoding (newlines ignored). `Err` holds the offending byte offset.
fn b64_decode(s: &str) -> Result<Vec<u8>, usize> {
    let input: Vec<(usize, u8)> = s
        .bytes()
        .enumerate()
        .filter(|&(_, b)| b != b'\r' && b != b'\n')
        .collect();
    let mut out = Vec::with_capacity(input.len() / 4 * 3);
    let chunks: Vec<&[(usize, u8)]> = input.chunks(4).collect();
    let count = chunks.len();
    for (ci, chunk) in chunks.into_iter().enumerate() {
        let mut n: u32 = 0;
        let mut data = 0usize;
        for (k, &(at, b)) in chunk.iter().enumerate() {
            if b == b'=' {
                // Padding: only in the last quantum, after at least two symbols, and complete.
                let rest_ok = chunk[k..].iter().all(|&(_, p)| p == b'=');
                if k < 2 || ci + 1 != count || chunk.len() != 4 || !rest_ok {
                    return Err(at);
                }
                break;
            }
            let Some(v) = B64.iter().position(|&x| x == b) else {
                return Err(at);
            };
            n |= (v as u32) << (18 - 6 * k);
            data += 1;
        }
        if data < 4 && (chunk.len() < 4 || data < 2) {
            // Incomplete quantum: Go reports the offset where it starts.
            return Err(chunk.first().map_or(s.len(), |&(at, _)| at));
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..data - 1]);
    }
    Ok(out)
}
