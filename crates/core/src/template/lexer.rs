//! Tokenizer: splits the source into text and action tokens, applying `{{- ` / ` -}}` trimming
//! and dropping comments.

use super::TemplateError;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Text(String),
    LeftDelim,
    RightDelim,
    Dot,
    /// `.Name` (without the dot).
    Field(String),
    /// `$` or `$name` (with the dollar).
    Var(String),
    Ident(String),
    Str(String),
    Char(i64),
    Number(String),
    Pipe,
    LParen,
    RParen,
    Declare,
    Assign,
    Comma,
    Eof,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
    /// Whether whitespace separates this token from the previous one inside an action.
    pub space_before: bool,
}

/// Go's `isSpace` for trimming and separating: space, tab, CR, LF.
pub(crate) fn is_go_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

pub(crate) fn lex(src: &str) -> Result<Vec<Token>, TemplateError> {
    let mut lx = Lexer {
        src,
        pos: 0,
        toks: Vec::new(),
        trim_next: false,
    };
    lx.run()?;
    Ok(lx.toks)
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    toks: Vec<Token>,
    /// The previous action ended with ` -}}`: trim leading whitespace of the next text.
    trim_next: bool,
}

impl Lexer<'_> {
    fn err(&self, offset: usize, msg: impl Into<String>) -> TemplateError {
        TemplateError::parse_at(self.src, offset, msg)
    }

    fn rest(&self) -> &str {
        self.src.get(self.pos..).unwrap_or_default()
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn peek2(&self) -> Option<char> {
        self.rest().chars().nth(1)
    }

    fn push(&mut self, tok: Tok, start: usize, space_before: bool) {
        self.toks.push(Token {
            tok,
            start,
            end: self.pos,
            space_before,
        });
    }

    fn run(&mut self) -> Result<(), TemplateError> {
        loop {
            let text_start = self.pos;
            let found = self.rest().find("{{").map(|i| self.pos + i);
            let text_end = found.unwrap_or(self.src.len());
            let mut text = self.src.get(text_start..text_end).unwrap_or_default();
            if self.trim_next {
                text = text.trim_start_matches(is_go_space);
            }
            let after_delim = self.src.get(text_end + 2..).unwrap_or_default();
            let left_trim = found.is_some() && has_left_trim(after_delim);
            if left_trim {
                text = text.trim_end_matches(is_go_space);
            }
            if !text.is_empty() {
                self.toks.push(Token {
                    tok: Tok::Text(text.to_owned()),
                    start: text_start,
                    end: text_end,
                    space_before: false,
                });
            }
            let Some(delim_start) = found else {
                self.pos = self.src.len();
                self.push(Tok::Eof, self.src.len(), false);
                return Ok(());
            };
            self.trim_next = false;
            // Skip "{{" and, for a left trim marker, the '-' (the space after it is lexed as
            // whitespace so that `{{- -}}` still sees its right trim marker).
            self.pos = delim_start + if left_trim { 3 } else { 2 };
            let comment_at = self.pos + usize::from(left_trim);
            if self
                .src
                .get(comment_at..)
                .is_some_and(|r| r.starts_with("/*"))
            {
                self.lex_comment(delim_start, comment_at)?;
                continue;
            }
            self.push(Tok::LeftDelim, delim_start, false);
            self.lex_action(delim_start)?;
        }
    }

    fn lex_comment(&mut self, delim_start: usize, comment_at: usize) -> Result<(), TemplateError> {
        let body = comment_at + 2;
        let Some(close) = self
            .src
            .get(body..)
            .and_then(|r| r.find("*/"))
            .map(|i| body + i + 2)
        else {
            return Err(self.err(delim_start, "unclosed comment"));
        };
        let rest = self.src.get(close..).unwrap_or_default();
        if rest.starts_with("}}") {
            self.pos = close + 2;
        } else if has_right_trim(rest) {
            self.pos = close + 4;
            self.trim_next = true;
        } else {
            return Err(self.err(delim_start, "comment ends before closing delimiter"));
        }
        Ok(())
    }

    fn lex_action(&mut self, delim_start: usize) -> Result<(), TemplateError> {
        let mut space = false;
        loop {
            let Some(c) = self.peek() else {
                return Err(self.err(delim_start, "unclosed action"));
            };
            let start = self.pos;
            if is_go_space(c) {
                while let Some(c) = self.peek()
                    && is_go_space(c)
                {
                    self.pos += 1;
                }
                if self.rest().starts_with("-}}") {
                    self.pos += 3;
                    self.push(Tok::RightDelim, start, true);
                    self.trim_next = true;
                    return Ok(());
                }
                space = true;
                continue;
            }
            if self.rest().starts_with("}}") {
                self.pos += 2;
                self.push(Tok::RightDelim, start, space);
                return Ok(());
            }
            let tok = match c {
                '|' => self.single(Tok::Pipe),
                '(' => self.single(Tok::LParen),
                ')' => self.single(Tok::RParen),
                ',' => self.single(Tok::Comma),
                '=' => self.single(Tok::Assign),
                ':' => {
                    if self.peek2() == Some('=') {
                        self.pos += 2;
                        Tok::Declare
                    } else {
                        return Err(self.err(start, "expected :="));
                    }
                }
                '"' => self.lex_quote()?,
                '`' => self.lex_raw()?,
                '\'' => self.lex_char()?,
                '$' => {
                    self.pos += 1;
                    let name = self.take_alnum();
                    self.check_terminator()?;
                    Tok::Var(format!("${name}"))
                }
                '.' => match self.peek2() {
                    Some(d) if d.is_ascii_digit() => self.lex_number(),
                    Some(a) if is_alnum(a) => {
                        self.pos += 1;
                        let name = self.take_alnum();
                        self.check_terminator()?;
                        Tok::Field(name)
                    }
                    _ => {
                        self.pos += 1;
                        self.check_terminator()?;
                        Tok::Dot
                    }
                },
                '+' | '-' | '0'..='9' => self.lex_number(),
                c if c == '_' || c.is_alphabetic() => {
                    let name = self.take_alnum();
                    self.check_terminator()?;
                    Tok::Ident(name)
                }
                c => {
                    return Err(self.err(start, format!("unexpected character {c:?} in action")));
                }
            };
            self.push(tok, start, space);
            space = false;
        }
    }

    fn single(&mut self, tok: Tok) -> Tok {
        self.pos += 1;
        tok
    }

    fn take_alnum(&mut self) -> String {
        let start = self.pos;
        while let Some(c) = self.peek()
            && is_alnum(c)
        {
            self.pos += c.len_utf8();
        }
        self.src.get(start..self.pos).unwrap_or_default().to_owned()
    }

    /// After a word, Go requires a space, `.`, `,`, `|`, `:`, `(`, `)` or the closing delimiter.
    fn check_terminator(&self) -> Result<(), TemplateError> {
        match self.peek() {
            None => Ok(()),
            Some(c) if is_go_space(c) || ".,|:()".contains(c) => Ok(()),
            Some(_) if self.rest().starts_with("}}") => Ok(()),
            Some(c) => Err(self.err(self.pos, format!("bad character {c:?}"))),
        }
    }

    fn lex_number(&mut self) -> Tok {
        let start = self.pos;
        if let Some('+' | '-') = self.peek() {
            self.pos += 1;
        }
        let mut prev = ' ';
        while let Some(c) = self.peek() {
            let hex = {
                let t = self.src.get(start..self.pos).unwrap_or_default();
                let t = t.trim_start_matches(['+', '-']);
                t.starts_with("0x") || t.starts_with("0X")
            };
            let exp_sign = matches!(c, '+' | '-')
                && ((!hex && matches!(prev, 'e' | 'E')) || (hex && matches!(prev, 'p' | 'P')));
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' || exp_sign {
                self.pos += 1;
                prev = c;
            } else {
                break;
            }
        }
        Tok::Number(self.src.get(start..self.pos).unwrap_or_default().to_owned())
    }

    fn lex_quote(&mut self) -> Result<Tok, TemplateError> {
        let start = self.pos;
        self.pos += 1;
        loop {
            match self.peek() {
                None | Some('\n') => return Err(self.err(start, "unterminated quoted string")),
                Some('\\') => {
                    self.pos += 1;
                    match self.peek() {
                        None | Some('\n') => {
                            return Err(self.err(start, "unterminated quoted string"));
                        }
                        Some(c) => self.pos += c.len_utf8(),
                    }
                }
                Some('"') => {
                    self.pos += 1;
                    break;
                }
                Some(c) => self.pos += c.len_utf8(),
            }
        }
        let inner = self.src.get(start + 1..self.pos - 1).unwrap_or_default();
        let s = unquote(inner, '"').map_err(|m| self.err(start, m))?;
        Ok(Tok::Str(s))
    }

    fn lex_raw(&mut self) -> Result<Tok, TemplateError> {
        let start = self.pos;
        let body = start + 1;
        let Some(end) = self.src.get(body..).and_then(|r| r.find('`')) else {
            return Err(self.err(start, "unterminated raw quoted string"));
        };
        let s = self
            .src
            .get(body..body + end)
            .unwrap_or_default()
            .replace('\r', "");
        self.pos = body + end + 1;
        Ok(Tok::Str(s))
    }

    fn lex_char(&mut self) -> Result<Tok, TemplateError> {
        let start = self.pos;
        self.pos += 1;
        loop {
            match self.peek() {
                None | Some('\n') => {
                    return Err(self.err(start, "unterminated character constant"));
                }
                Some('\\') => {
                    self.pos += 1;
                    match self.peek() {
                        None | Some('\n') => {
                            return Err(self.err(start, "unterminated character constant"));
                        }
                        Some(c) => self.pos += c.len_utf8(),
                    }
                }
                Some('\'') => {
                    self.pos += 1;
                    break;
                }
                Some(c) => self.pos += c.len_utf8(),
            }
        }
        let inner = self.src.get(start + 1..self.pos - 1).unwrap_or_default();
        let value = unquote_char(inner).map_err(|m| self.err(start, m))?;
        Ok(Tok::Char(value))
    }
}

fn has_left_trim(after_delim: &str) -> bool {
    let mut it = after_delim.chars();
    it.next() == Some('-') && it.next().is_some_and(is_go_space)
}

fn has_right_trim(s: &str) -> bool {
    s.chars().next().is_some_and(is_go_space) && s.get(1..).is_some_and(|r| r.starts_with("-}}"))
}

/// One escape sequence or character, as a Unicode scalar or a raw byte.
enum Unit {
    Char(char),
    Byte(u8),
}

fn hex_digits(it: &mut std::str::Chars<'_>, n: usize) -> Result<u32, String> {
    let mut v: u32 = 0;
    for _ in 0..n {
        let d = it
            .next()
            .and_then(|c| c.to_digit(16))
            .ok_or_else(|| "invalid hex escape in literal".to_owned())?;
        v = v * 16 + d;
    }
    Ok(v)
}

/// Decodes the unit starting at `c` (already consumed from `it`). `quote` is the delimiter
/// that may be escaped (`"` in strings, `'` in character constants).
fn next_unit(c: char, it: &mut std::str::Chars<'_>, quote: char) -> Result<Unit, String> {
    if c != '\\' {
        return Ok(Unit::Char(c));
    }
    let e = it
        .next()
        .ok_or_else(|| "invalid escape at end of literal".to_owned())?;
    let unit = match e {
        'a' => Unit::Char('\x07'),
        'b' => Unit::Char('\x08'),
        'f' => Unit::Char('\x0c'),
        'n' => Unit::Char('\n'),
        'r' => Unit::Char('\r'),
        't' => Unit::Char('\t'),
        'v' => Unit::Char('\x0b'),
        '\\' => Unit::Char('\\'),
        q if q == quote => Unit::Char(q),
        'x' => Unit::Byte(u8::try_from(hex_digits(it, 2)?).map_err(|e| e.to_string())?),
        'u' | 'U' => {
            let n = if e == 'u' { 4 } else { 8 };
            let v = hex_digits(it, n)?;
            Unit::Char(
                char::from_u32(v)
                    .ok_or_else(|| format!("invalid Unicode code point \\{e}{v:x} in literal"))?,
            )
        }
        '0'..='7' => {
            let mut v = e.to_digit(8).unwrap_or(0);
            for _ in 0..2 {
                let d = it
                    .next()
                    .and_then(|c| c.to_digit(8))
                    .ok_or_else(|| "invalid octal escape in literal".to_owned())?;
                v = v * 8 + d;
            }
            Unit::Byte(u8::try_from(v).map_err(|_| "octal escape value > 255".to_owned())?)
        }
        other => return Err(format!("invalid escape sequence \\{other} in literal")),
    };
    Ok(unit)
}

/// Go's `strconv.Unquote` for the inside of an interpreted string literal.
fn unquote(inner: &str, quote: char) -> Result<String, String> {
    if !inner.contains('\\') {
        return Ok(inner.to_owned());
    }
    let mut bytes = Vec::with_capacity(inner.len());
    let mut it = inner.chars();
    while let Some(c) = it.next() {
        match next_unit(c, &mut it, quote)? {
            Unit::Char(ch) => {
                let mut buf = [0u8; 4];
                bytes.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            }
            Unit::Byte(b) => bytes.push(b),
        }
    }
    String::from_utf8(bytes).map_err(|_| "string literal is not valid UTF-8".to_owned())
}

fn unquote_char(inner: &str) -> Result<i64, String> {
    let mut it = inner.chars();
    let first = it
        .next()
        .ok_or_else(|| "empty character constant".to_owned())?;
    let value = match next_unit(first, &mut it, '\'')? {
        Unit::Char(c) => i64::from(u32::from(c)),
        Unit::Byte(b) => i64::from(b),
    };
    if it.next().is_some() {
        return Err(format!("invalid character constant '{inner}'"));
    }
    Ok(value)
}
