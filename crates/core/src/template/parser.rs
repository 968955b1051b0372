//! Recursive-descent parser producing the template AST. Checks at parse time, like Go:
//! unknown functions, undefined variables, `{{break}}` outside `{{range}}`, unbalanced
//! `{{end}}`/`{{else}}`, and literal pipeline stages.

use super::lexer::{self, Tok, Token};
use super::{MAX_DEPTH, TemplateError, funcs};

/// Byte range in the source.
pub(crate) type Span = (usize, usize);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ControlKind {
    If,
    Range,
    With,
}

impl ControlKind {
    fn name(self) -> &'static str {
        match self {
            ControlKind::If => "if",
            ControlKind::Range => "range",
            ControlKind::With => "with",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Node {
    Text {
        text: String,
        span: Span,
    },
    Action(Pipeline),
    Control {
        kind: ControlKind,
        pipe: Pipeline,
        body: Vec<Node>,
        else_body: Option<Vec<Node>>,
    },
    Break,
    Continue,
}

#[derive(Debug, Clone)]
pub(crate) struct Pipeline {
    /// Declared or assigned variables (with `$`).
    pub decl: Vec<String>,
    pub is_assign: bool,
    pub cmds: Vec<Command>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub(crate) struct Command {
    /// Never empty.
    pub args: Vec<Arg>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub(crate) struct Arg {
    pub kind: ArgKind,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub(crate) enum ArgKind {
    Dot,
    /// `.A.B.C`
    Field(Vec<String>),
    /// `$x.A.B` (name includes `$`)
    Var(String, Vec<String>),
    Func(String),
    Str(String),
    Int(i64),
    Bool(bool),
    /// `(pipeline).A.B`
    Pipe(Box<Pipeline>, Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Action,
    Control(ControlKind),
    Paren,
}

impl Ctx {
    fn name(self) -> &'static str {
        match self {
            Ctx::Action => "command",
            Ctx::Control(k) => k.name(),
            Ctx::Paren => "parenthesized pipeline",
        }
    }
}

enum ElseKind {
    Plain,
    If,
    With,
}

enum Term {
    Eof,
    End(usize),
    Else(usize, ElseKind),
}

pub(crate) fn parse(src: &str) -> Result<Vec<Node>, TemplateError> {
    let toks = lexer::lex(src)?;
    let mut p = Parser {
        src,
        toks,
        i: 0,
        vars: vec!["$".to_owned()],
        range_depth: 0,
        depth: 0,
    };
    let (nodes, term) = p.parse_list()?;
    match term {
        Term::Eof => Ok(nodes),
        Term::End(at) => Err(p.err(at, "unexpected {{end}}")),
        Term::Else(at, _) => Err(p.err(at, "unexpected {{else}}")),
    }
}

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    i: usize,
    vars: Vec<String>,
    range_depth: usize,
    depth: usize,
}

impl Parser<'_> {
    fn err(&self, offset: usize, msg: impl Into<String>) -> TemplateError {
        TemplateError::parse_at(self.src, offset, msg)
    }

    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.i)
    }

    fn peek_tok(&self) -> &Tok {
        self.peek().map_or(&Tok::Eof, |t| &t.tok)
    }

    fn next(&mut self) -> Token {
        match self.toks.get(self.i) {
            Some(t) => {
                let t = t.clone();
                if self.i + 1 < self.toks.len() {
                    self.i += 1;
                }
                t
            }
            None => Token {
                tok: Tok::Eof,
                start: self.src.len(),
                end: self.src.len(),
                space_before: false,
            },
        }
    }

    /// End offset of the last consumed token.
    fn last_end(&self) -> usize {
        self.i
            .checked_sub(1)
            .and_then(|j| self.toks.get(j))
            .map_or(0, |t| t.end)
    }

    fn describe(&self, t: &Token) -> String {
        match &t.tok {
            Tok::Eof => "EOF".to_owned(),
            Tok::RightDelim => "\"}}\"".to_owned(),
            _ => format!("{:?}", self.src.get(t.start..t.end).unwrap_or_default()),
        }
    }

    fn enter(&mut self, at: usize) -> Result<(), TemplateError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err(at, format!("template nesting too deep (max {MAX_DEPTH})")));
        }
        Ok(())
    }

    fn expect_right_delim(&mut self, ctx: &str) -> Result<Token, TemplateError> {
        let t = self.next();
        match t.tok {
            Tok::RightDelim => Ok(t),
            Tok::RParen => Err(self.err(t.start, "unexpected right paren")),
            _ => Err(self.err(
                t.start,
                format!("unexpected {} in {ctx}", self.describe(&t)),
            )),
        }
    }

    fn parse_list(&mut self) -> Result<(Vec<Node>, Term), TemplateError> {
        let mut nodes = Vec::new();
        loop {
            let t = self.next();
            match t.tok {
                Tok::Text(text) => nodes.push(Node::Text {
                    text,
                    span: (t.start, t.end),
                }),
                Tok::Eof => return Ok((nodes, Term::Eof)),
                Tok::LeftDelim => {
                    let kw = match self.peek_tok() {
                        Tok::Ident(s) => Some(s.clone()),
                        _ => None,
                    };
                    match kw.as_deref() {
                        Some("end") => {
                            self.next();
                            self.expect_right_delim("end")?;
                            return Ok((nodes, Term::End(t.start)));
                        }
                        Some("else") => {
                            self.next();
                            let kind = match self.peek_tok() {
                                Tok::RightDelim => {
                                    self.next();
                                    ElseKind::Plain
                                }
                                Tok::Ident(s) if s == "if" => {
                                    self.next();
                                    ElseKind::If
                                }
                                Tok::Ident(s) if s == "with" => {
                                    self.next();
                                    ElseKind::With
                                }
                                _ => {
                                    let bad = self.next();
                                    return Err(self.err(
                                        bad.start,
                                        format!("unexpected {} in else", self.describe(&bad)),
                                    ));
                                }
                            };
                            return Ok((nodes, Term::Else(t.start, kind)));
                        }
                        Some(name @ ("if" | "range" | "with")) => {
                            let kind = match name {
                                "if" => ControlKind::If,
                                "range" => ControlKind::Range,
                                _ => ControlKind::With,
                            };
                            self.next();
                            nodes.push(self.parse_control(kind, t.start)?);
                        }
                        Some(name @ ("break" | "continue")) => {
                            let is_break = name == "break";
                            self.next();
                            if self.range_depth == 0 {
                                return Err(self.err(
                                    t.start,
                                    format!("{{{{{name}}}}} outside {{{{range}}}}"),
                                ));
                            }
                            self.expect_right_delim(name)?;
                            nodes.push(if is_break {
                                Node::Break
                            } else {
                                Node::Continue
                            });
                        }
                        Some(name @ ("define" | "template" | "block")) => {
                            return Err(
                                self.err(t.start, format!("{{{{{name}}}}} is not supported"))
                            );
                        }
                        _ => {
                            let pipe = self.parse_pipeline(Ctx::Action, t.start)?;
                            self.expect_right_delim("command")?;
                            nodes.push(Node::Action(pipe));
                        }
                    }
                }
                _ => {
                    return Err(self.err(t.start, format!("unexpected {}", self.describe(&t))));
                }
            }
        }
    }

    fn parse_control(&mut self, kind: ControlKind, start: usize) -> Result<Node, TemplateError> {
        self.enter(start)?;
        let mark = self.vars.len();
        let pipe = self.parse_pipeline(Ctx::Control(kind), start)?;
        self.expect_right_delim(kind.name())?;
        if kind == ControlKind::Range {
            self.range_depth += 1;
        }
        let body = self.parse_list();
        if kind == ControlKind::Range {
            self.range_depth -= 1;
        }
        let (body, term) = body?;
        let unclosed = |p: &Self| {
            p.err(
                start,
                format!("unclosed {{{{{}}}}}: missing {{{{end}}}}", kind.name()),
            )
        };
        let else_body = match term {
            Term::End(_) => None,
            Term::Eof => return Err(unclosed(self)),
            Term::Else(_, ElseKind::Plain) => {
                let (else_body, term) = self.parse_list()?;
                match term {
                    Term::End(_) => Some(else_body),
                    Term::Eof => return Err(unclosed(self)),
                    Term::Else(at, _) => {
                        return Err(self.err(at, "expected {{end}}; found {{else}}"));
                    }
                }
            }
            Term::Else(at, ElseKind::If) if kind == ControlKind::If => {
                Some(vec![self.parse_control(ControlKind::If, at)?])
            }
            Term::Else(at, ElseKind::With) if kind == ControlKind::With => {
                Some(vec![self.parse_control(ControlKind::With, at)?])
            }
            Term::Else(at, ElseKind::If) => {
                return Err(self.err(at, "{{else if}} is only allowed inside {{if}}"));
            }
            Term::Else(at, ElseKind::With) => {
                return Err(self.err(at, "{{else with}} is only allowed inside {{with}}"));
            }
        };
        self.vars.truncate(mark);
        self.depth -= 1;
        Ok(Node::Control {
            kind,
            pipe,
            body,
            else_body,
        })
    }

    fn is_declared(&self, name: &str) -> bool {
        self.vars.iter().any(|v| v == name)
    }

    fn parse_pipeline(&mut self, ctx: Ctx, start: usize) -> Result<Pipeline, TemplateError> {
        let mut decl = Vec::new();
        let mut is_assign = false;
        if ctx != Ctx::Paren
            && let Tok::Var(first) = self.peek_tok().clone()
        {
            let after = self.toks.get(self.i + 1).map(|t| t.tok.clone());
            match after {
                Some(Tok::Declare | Tok::Assign) => {
                    self.next();
                    is_assign = matches!(self.next().tok, Tok::Assign);
                    decl.push(first);
                }
                Some(Tok::Comma) if ctx == Ctx::Control(ControlKind::Range) => {
                    self.next();
                    self.next();
                    let second = self.next();
                    let Tok::Var(second_name) = second.tok else {
                        return Err(self.err(
                            second.start,
                            format!(
                                "expected variable after comma in range, found {}",
                                self.describe(&second)
                            ),
                        ));
                    };
                    let op = self.next();
                    match op.tok {
                        Tok::Declare => {}
                        Tok::Assign => is_assign = true,
                        _ => {
                            return Err(self.err(
                                op.start,
                                format!(
                                    "expected := or = after range variables, found {}",
                                    self.describe(&op)
                                ),
                            ));
                        }
                    }
                    decl.push(first);
                    decl.push(second_name);
                }
                Some(Tok::Comma) => {
                    return Err(self.err(start, format!("too many declarations in {}", ctx.name())));
                }
                _ => {}
            }
            if is_assign && let Some(undefined) = decl.iter().find(|v| !self.is_declared(v)) {
                return Err(self.err(start, format!("undefined variable {undefined:?}")));
            }
        }
        // Like Go, declared variables are in scope from the start of their own pipeline
        // (evaluating one before it is set is a render error).
        if !is_assign {
            self.vars.extend(decl.iter().cloned());
        }
        let mut cmds: Vec<Command> = Vec::new();
        loop {
            let first = cmds.is_empty();
            let cmd = self.parse_command(ctx, first, start)?;
            if !first
                && let Some(a) = cmd.args.first()
                && matches!(
                    a.kind,
                    ArgKind::Dot | ArgKind::Str(_) | ArgKind::Int(_) | ArgKind::Bool(_)
                )
            {
                return Err(self.err(
                    a.span.0,
                    format!(
                        "non executable command in pipeline stage {}",
                        cmds.len() + 1
                    ),
                ));
            }
            cmds.push(cmd);
            if !matches!(self.peek_tok(), Tok::Pipe) {
                break;
            }
            self.next();
            // Like Go, a trailing `|` before the end of the pipeline is accepted.
            if matches!(self.peek_tok(), Tok::RightDelim | Tok::RParen) {
                break;
            }
        }
        Ok(Pipeline {
            decl,
            is_assign,
            cmds,
            span: (start, self.last_end()),
        })
    }

    fn parse_command(
        &mut self,
        ctx: Ctx,
        first: bool,
        start: usize,
    ) -> Result<Command, TemplateError> {
        let mut args: Vec<Arg> = Vec::new();
        while let Some(t) = self.peek() {
            if matches!(t.tok, Tok::RightDelim | Tok::RParen | Tok::Pipe | Tok::Eof) {
                break;
            }
            if !args.is_empty() && !t.space_before {
                return Err(self.err(
                    t.start,
                    format!("unexpected {} in operand", self.describe(t)),
                ));
            }
            let arg = self.parse_operand()?;
            args.push(arg);
        }
        let Some(first_arg) = args.first() else {
            let at = self.peek().map_or(start, |t| t.start);
            return Err(if first {
                self.err(at, format!("missing value for {}", ctx.name()))
            } else {
                self.err(at, "missing command after \"|\"")
            });
        };
        let span = (first_arg.span.0, self.last_end());
        Ok(Command { args, span })
    }

    fn parse_operand(&mut self) -> Result<Arg, TemplateError> {
        let t = self.next();
        let start = t.start;
        let mut kind = match t.tok {
            Tok::Ident(name) => match name.as_str() {
                "true" => ArgKind::Bool(true),
                "false" => ArgKind::Bool(false),
                "nil" => return Err(self.err(start, "nil is not supported")),
                "if" | "else" | "end" | "range" | "with" | "define" | "template" | "block"
                | "break" | "continue" => {
                    return Err(self.err(start, format!("unexpected keyword {name:?} in command")));
                }
                _ if funcs::is_known(&name) => ArgKind::Func(name),
                _ => return Err(self.err(start, format!("function {name:?} not defined"))),
            },
            Tok::Dot => ArgKind::Dot,
            Tok::Field(name) => ArgKind::Field(vec![name]),
            Tok::Var(name) => {
                if !self.is_declared(&name) {
                    return Err(self.err(start, format!("undefined variable {name:?}")));
                }
                ArgKind::Var(name, Vec::new())
            }
            Tok::Str(s) => ArgKind::Str(s),
            Tok::Char(c) => ArgKind::Int(c),
            Tok::Number(text) => ArgKind::Int(parse_number(&text).map_err(|m| self.err(start, m))?),
            Tok::LParen => {
                self.enter(start)?;
                let pipe = self.parse_pipeline(Ctx::Paren, start)?;
                let close = self.next();
                match close.tok {
                    Tok::RParen => {}
                    Tok::RightDelim | Tok::Eof => {
                        return Err(self.err(start, "unclosed left paren"));
                    }
                    _ => {
                        return Err(self.err(
                            close.start,
                            format!(
                                "unexpected {} in parenthesized pipeline",
                                self.describe(&close)
                            ),
                        ));
                    }
                }
                self.depth -= 1;
                ArgKind::Pipe(Box::new(pipe), Vec::new())
            }
            Tok::RParen => return Err(self.err(start, "unexpected right paren")),
            _ => {
                return Err(self.err(
                    start,
                    format!("unexpected {} in command", self.describe(&t)),
                ));
            }
        };
        while let Some(next) = self.peek()
            && let Tok::Field(name) = &next.tok
            && !next.space_before
        {
            let (name, at) = (name.clone(), next.start);
            self.next();
            match &mut kind {
                ArgKind::Field(chain) | ArgKind::Var(_, chain) | ArgKind::Pipe(_, chain) => {
                    chain.push(name);
                }
                _ => {
                    return Err(self.err(at, format!("unexpected .{name} after term")));
                }
            }
        }
        Ok(Arg {
            kind,
            span: (start, self.last_end()),
        })
    }
}

/// Parses a Go integer literal (decimal, `0x`, `0o`, `0b`, legacy octal, `_` separators).
fn parse_number(text: &str) -> Result<i64, String> {
    let (neg, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let cleaned: String = body.chars().filter(|&c| c != '_').collect();
    let lower = cleaned.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') && lower.bytes().all(|b| b.is_ascii_digit())
    {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_alphanumeric())
        && let Ok(mag) = u128::from_str_radix(digits, radix)
    {
        let overflow = || format!("integer constant {text} overflows int64");
        let mag = i128::try_from(mag).map_err(|_| overflow())?;
        let v = if neg { -mag } else { mag };
        return i64::try_from(v).map_err(|_| overflow());
    }
    let looks_float = radix == 10
        && !digits.is_empty()
        && (digits.contains('.') || digits.contains('e') || digits.ends_with('i'))
        && digits.starts_with(|c: char| c.is_ascii_digit() || c == '.');
    if looks_float || (radix == 16 && digits.contains('p')) {
        Err(format!(
            "floating-point/complex constant {text} is not supported"
        ))
    } else {
        Err(format!("bad number syntax: {text:?}"))
    }
}
