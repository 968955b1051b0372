//! Go-compatible value formatting: `fmt.Print` / `%v`, `fmt.Sprint`, `fmt.Sprintln`,
//! `fmt.Sprintf` and `strconv.Quote`.

use std::borrow::Cow;
use std::fmt::Write as _;

use super::Value;

/// Go's `fmt.Print` formatting of one value (`%v`).
pub(crate) fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::Str(s) => out.push_str(s),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::List(l) => {
            out.push('[');
            for (i, e) in l.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_value(out, e);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push_str("map[");
            for (i, (k, e)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                write_value(out, e);
            }
            out.push(']');
        }
        Value::Time(t) => {
            let _ = write!(out, "{t}");
        }
    }
}

/// Go's `fmt.Sprint`: spaces between operands when neither side is a string.
pub(crate) fn sprint(args: &[Cow<'_, Value>]) -> String {
    let mut out = String::new();
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = matches!(a.as_ref(), Value::Str(_));
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        write_value(&mut out, a);
        prev_string = is_string;
    }
    out
}

/// Go's `fmt.Sprintln`: spaces between all operands, newline at the end.
pub(crate) fn sprintln(args: &[Cow<'_, Value>]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_value(&mut out, a);
    }
    out.push('\n');
    out
}

/// Go's `fmt` limit on widths and precisions.
const MAX_WIDTH: usize = 1_000_000;

#[derive(Default, Clone, Copy)]
struct Spec {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

enum Num {
    Ok(usize),
    None,
    TooLarge,
}

fn parse_num(cs: &[char], i: &mut usize) -> Num {
    let mut n: usize = 0;
    let mut any = false;
    while let Some(d) = cs.get(*i).and_then(|c| c.to_digit(10)) {
        if n > MAX_WIDTH {
            return Num::TooLarge;
        }
        n = n * 10 + d as usize;
        any = true;
        *i += 1;
    }
    if !any {
        Num::None
    } else if n > MAX_WIDTH {
        Num::TooLarge
    } else {
        Num::Ok(n)
    }
}

/// Takes an int argument for a `*` width or precision.
fn star_arg(args: &[Cow<'_, Value>], argi: &mut usize) -> Option<i64> {
    let v = args.get(*argi)?;
    *argi += 1;
    match v.as_ref() {
        Value::Int(n) if n.unsigned_abs() <= MAX_WIDTH as u64 => Some(*n),
        _ => None,
    }
}

/// Go's `fmt.Sprintf` for the supported value types and verbs (`%v %s %d %q %x %X %t %c %b
/// %o %O %U %T %%`, flags `+ - # 0 space`, width and precision, `*`). Errors are rendered
/// inline like Go (`%!d(string=x)`, `%!s(MISSING)`, `%!(EXTRA ...)`).
pub(crate) fn sprintf(format: &str, args: &[Cow<'_, Value>]) -> String {
    let cs: Vec<char> = format.chars().collect();
    let mut out = String::new();
    let mut argi = 0usize;
    let mut i = 0usize;
    while let Some(&c) = cs.get(i) {
        i += 1;
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&f) = cs.get(i) {
            match f {
                '+' => spec.plus = true,
                '-' => {
                    spec.minus = true;
                    spec.zero = false;
                }
                '#' => spec.sharp = true,
                ' ' => spec.space = true,
                '0' => spec.zero = !spec.minus,
                _ => break,
            }
            i += 1;
        }
        if cs.get(i) == Some(&'*') {
            i += 1;
            match star_arg(args, &mut argi) {
                Some(n) => {
                    if n < 0 {
                        spec.minus = true;
                        spec.zero = false;
                    }
                    spec.width = usize::try_from(n.unsigned_abs()).ok();
                }
                None => out.push_str("%!(BADWIDTH)"),
            }
        } else {
            match parse_num(&cs, &mut i) {
                Num::Ok(n) => spec.width = Some(n),
                Num::None => {}
                Num::TooLarge => {
                    out.push_str("%!(NOVERB)");
                    break;
                }
            }
        }
        if cs.get(i) == Some(&'.') {
            i += 1;
            if cs.get(i) == Some(&'*') {
                i += 1;
                match star_arg(args, &mut argi) {
                    Some(n) if n >= 0 => spec.prec = usize::try_from(n).ok(),
                    _ => out.push_str("%!(BADPREC)"),
                }
            } else {
                match parse_num(&cs, &mut i) {
                    Num::Ok(n) => spec.prec = Some(n),
                    Num::None => spec.prec = Some(0),
                    Num::TooLarge => {
                        out.push_str("%!(NOVERB)");
                        break;
                    }
                }
            }
        }
        let Some(&verb) = cs.get(i) else {
            out.push_str("%!(NOVERB)");
            break;
        };
        i += 1;
        if verb == '%' {
            out.push('%');
            continue;
        }
        match args.get(argi) {
            Some(a) => {
                fmt_arg(&mut out, a, verb, &spec);
                argi += 1;
            }
            None => {
                let _ = write!(out, "%!{verb}(MISSING)");
            }
        }
    }
    if argi < args.len() {
        out.push_str("%!(EXTRA ");
        for (k, a) in args[argi..].iter().enumerate() {
            if k > 0 {
                out.push_str(", ");
            }
            out.push_str(a.type_name());
            out.push('=');
            write_value(&mut out, a);
        }
        out.push(')');
    }
    out
}

fn pad(out: &mut String, s: &str, spec: &Spec) {
    let n = s.chars().count();
    let fill = spec.width.unwrap_or(0).saturating_sub(n);
    if spec.minus {
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', fill));
    } else {
        out.extend(std::iter::repeat_n(if spec.zero { '0' } else { ' ' }, fill));
        out.push_str(s);
    }
}

fn truncate(s: &str, prec: Option<usize>) -> &str {
    match prec.and_then(|p| s.char_indices().nth(p)) {
        Some((at, _)) => &s[..at],
        None => s,
    }
}

fn hex_bytes(bytes: &[u8], upper: bool) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = if upper {
            write!(s, "{b:02X}")
        } else {
            write!(s, "{b:02x}")
        };
    }
    s
}

fn fmt_arg(out: &mut String, v: &Value, verb: char, spec: &Spec) {
    if verb == 'T' {
        pad(out, v.type_name(), spec);
        return;
    }
    match v {
        Value::Str(s) => match verb {
            's' | 'v' => pad(out, truncate(s, spec.prec), spec),
            'q' => pad(out, &go_quote(truncate(s, spec.prec)), spec),
            'x' | 'X' => {
                let bytes = s.as_bytes();
                let bytes = match spec.prec {
                    Some(p) if p < bytes.len() => &bytes[..p],
                    _ => bytes,
                };
                pad(out, &hex_bytes(bytes, verb == 'X'), spec);
            }
            _ => bad_verb(out, v, verb),
        },
        Value::Int(n) => match verb {
            'd' | 'v' => fmt_int(out, *n, 10, false, verb, spec),
            'b' => fmt_int(out, *n, 2, false, verb, spec),
            'o' | 'O' => fmt_int(out, *n, 8, false, verb, spec),
            'x' => fmt_int(out, *n, 16, false, verb, spec),
            'X' => fmt_int(out, *n, 16, true, verb, spec),
            'c' => {
                let c = u32::try_from(*n)
                    .ok()
                    .and_then(char::from_u32)
                    .unwrap_or('\u{FFFD}');
                pad(out, c.encode_utf8(&mut [0u8; 4]), spec);
            }
            'q' => {
                let c = u32::try_from(*n)
                    .ok()
                    .and_then(char::from_u32)
                    .unwrap_or('\u{FFFD}');
                pad(out, &go_quote_rune(c), spec);
            }
            'U' => pad(out, &format!("U+{n:04X}"), spec),
            _ => bad_verb(out, v, verb),
        },
        Value::Bool(b) => match verb {
            't' | 'v' => pad(out, if *b { "true" } else { "false" }, spec),
            _ => bad_verb(out, v, verb),
        },
        Value::List(l) => {
            out.push('[');
            for (i, e) in l.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                fmt_arg(out, e, verb, spec);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push_str("map[");
            for (i, (k, e)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                fmt_arg(out, &Value::Str(k.clone()), verb, spec);
                out.push(':');
                fmt_arg(out, e, verb, spec);
            }
            out.push(']');
        }
        Value::Time(t) => match verb {
            'v' | 's' | 'q' | 'x' | 'X' => fmt_arg(out, &Value::Str(t.to_string()), verb, spec),
            _ => bad_verb(out, v, verb),
        },
    }
}

fn bad_verb(out: &mut String, v: &Value, verb: char) {
    let _ = write!(out, "%!{verb}({}=", v.type_name());
    write_value(out, v);
    out.push(')');
}

fn fmt_int(out: &mut String, n: i64, base: u32, upper: bool, verb: char, spec: &Spec) {
    let mag = n.unsigned_abs();
    let mut digits = match base {
        2 => format!("{mag:b}"),
        8 => format!("{mag:o}"),
        16 if upper => format!("{mag:X}"),
        16 => format!("{mag:x}"),
        _ => format!("{mag}"),
    };
    if let Some(p) = spec.prec {
        if p == 0 && mag == 0 {
            digits.clear();
        } else if digits.len() < p {
            digits.insert_str(0, &"0".repeat(p - digits.len()));
        }
    }
    let prefix = match (base, verb) {
        (8, 'O') => "0o",
        (16, _) if spec.sharp && upper => "0X",
        (16, _) if spec.sharp => "0x",
        (8, _) if spec.sharp && !digits.starts_with('0') => "0",
        (2, _) if spec.sharp => "0b",
        _ => "",
    };
    let sign = if n < 0 {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    let body_len = sign.len() + prefix.len() + digits.len();
    let width = spec.width.unwrap_or(0);
    if spec.zero && !spec.minus && spec.prec.is_none() && width > body_len {
        out.push_str(sign);
        out.push_str(prefix);
        out.extend(std::iter::repeat_n('0', width - body_len));
        out.push_str(&digits);
    } else {
        let body = format!("{sign}{prefix}{digits}");
        let spaces = Spec {
            zero: false,
            ..*spec
        };
        pad(out, &body, &spaces);
    }
}

/// Approximation of Go's `strconv.IsPrint`.
fn is_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(c,
        '\u{AD}' | '\u{600}'..='\u{605}' | '\u{61C}' | '\u{6DD}' | '\u{70F}' | '\u{180E}'
        | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}'
        | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}' | '\u{E000}'..='\u{F8FF}'
        | '\u{F0000}'..='\u{10FFFF}')
}

fn push_escaped(out: &mut String, c: char, quote: char) {
    match c {
        '\x07' => out.push_str("\\a"),
        '\x08' => out.push_str("\\b"),
        '\x0c' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\x0b' => out.push_str("\\v"),
        '\\' => out.push_str("\\\\"),
        q if q == quote => {
            out.push('\\');
            out.push(q);
        }
        c if is_printable(c) => out.push(c),
        c if (c as u32) < 0x20 || c == '\x7f' => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if (c as u32) < 0x10000 => {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\U{:08x}", c as u32);
        }
    }
}

/// Go's `strconv.Quote` (`%q`).
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_escaped(&mut out, c, '"');
    }
    out.push('"');
    out
}

/// Go's `strconv.QuoteRune` (`%q` of an integer).
fn go_quote_rune(c: char) -> String {
    let mut out = String::from("'");
    push_escaped(&mut out, c, '\'');
    out.push('\'');
    out
}
