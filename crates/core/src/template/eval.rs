//! Tree-walking evaluator. Values borrowed from the data are passed around as
//! `Cow::Borrowed`, so large fields such as `.Body` are never copied until printed.

// `dot` is passed as `&Cow` on purpose: cloning a borrowed `Cow` is a pointer copy, which keeps
// values borrowed from the data when they become a new dot or a variable.
#![allow(clippy::ptr_arg)]

use std::borrow::Cow;

use super::parser::{Arg, ArgKind, Command, ControlKind, Node, Pipeline, Span};
use super::{MAX_OUTPUT_BYTES, MAX_RANGE_ITERATIONS, TemplateError, Value, funcs, gofmt, timefmt};

type Result<T> = std::result::Result<T, TemplateError>;

pub(crate) fn render(src: &str, nodes: &[Node], data: &Value) -> Result<String> {
    let mut ex = Exec {
        src,
        vars: vec![("$", Cow::Borrowed(data))],
        out: String::new(),
        iterations: 0,
    };
    let dot = Cow::Borrowed(data);
    ex.walk(nodes, &dot)?;
    Ok(ex.out)
}

enum Flow {
    Normal,
    Break,
    Continue,
}

struct Exec<'t, 'd> {
    src: &'t str,
    vars: Vec<(&'t str, Cow<'d, Value>)>,
    out: String,
    iterations: u64,
}

impl<'t, 'd> Exec<'t, 'd> {
    fn err(&self, span: Span, msg: impl Into<String>) -> TemplateError {
        TemplateError::render_at(self.src, span, msg)
    }

    fn check_output(&self, span: Span) -> Result<()> {
        if self.out.len() > MAX_OUTPUT_BYTES {
            return Err(self.err(span, format!("output exceeds {MAX_OUTPUT_BYTES} bytes")));
        }
        Ok(())
    }

    fn walk(&mut self, nodes: &'t [Node], dot: &Cow<'d, Value>) -> Result<Flow> {
        for node in nodes {
            match node {
                Node::Text { text, span } => {
                    self.out.push_str(text);
                    self.check_output(*span)?;
                }
                Node::Action(pipe) => {
                    let v = self.eval_pipeline(pipe, dot)?;
                    if pipe.decl.is_empty() {
                        gofmt::write_value(&mut self.out, &v);
                        self.check_output(pipe.span)?;
                    } else {
                        self.declare(pipe, &pipe.decl, v);
                    }
                }
                Node::Control {
                    kind: ControlKind::Range,
                    pipe,
                    body,
                    else_body,
                } => self.walk_range(pipe, body, else_body.as_deref(), dot)?,
                Node::Control {
                    kind,
                    pipe,
                    body,
                    else_body,
                } => {
                    let mark = self.vars.len();
                    let v = self.eval_pipeline(pipe, dot)?;
                    if !pipe.decl.is_empty() {
                        self.declare(pipe, &pipe.decl, v.clone());
                    }
                    let flow = if v.is_truthy() {
                        if *kind == ControlKind::With {
                            self.walk(body, &v)?
                        } else {
                            self.walk(body, dot)?
                        }
                    } else if let Some(else_body) = else_body {
                        self.walk(else_body, dot)?
                    } else {
                        Flow::Normal
                    };
                    self.vars.truncate(mark);
                    if !matches!(flow, Flow::Normal) {
                        return Ok(flow);
                    }
                }
                Node::Break => return Ok(Flow::Break),
                Node::Continue => return Ok(Flow::Continue),
            }
        }
        Ok(Flow::Normal)
    }

    /// Pushes (`:=`) or assigns (`=`) a variable.
    fn declare(&mut self, pipe: &Pipeline, names: &'t [String], v: Cow<'d, Value>) {
        if let Some(name) = names.first() {
            self.set_var(pipe.is_assign, name, v);
        }
    }

    fn set_var(&mut self, assign: bool, name: &'t str, v: Cow<'d, Value>) {
        if assign && let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| *n == name) {
            slot.1 = v;
            return;
        }
        self.vars.push((name, v));
    }

    fn walk_range(
        &mut self,
        pipe: &'t Pipeline,
        body: &'t [Node],
        else_body: Option<&'t [Node]>,
        dot: &Cow<'d, Value>,
    ) -> Result<()> {
        let mark = self.vars.len();
        let v = self.eval_pipeline(pipe, dot)?;
        let items: Box<dyn Iterator<Item = (Value, Cow<'d, Value>)> + 'd> = match v {
            Cow::Borrowed(Value::List(l)) => Box::new(
                l.iter()
                    .enumerate()
                    .map(|(i, e)| (Value::Int(i as i64), Cow::Borrowed(e))),
            ),
            Cow::Owned(Value::List(l)) => Box::new(
                l.into_iter()
                    .enumerate()
                    .map(|(i, e)| (Value::Int(i as i64), Cow::Owned(e))),
            ),
            Cow::Borrowed(Value::Map(m)) => Box::new(
                m.iter()
                    .map(|(k, e)| (Value::Str(k.clone()), Cow::Borrowed(e))),
            ),
            Cow::Owned(Value::Map(m)) => {
                Box::new(m.into_iter().map(|(k, e)| (Value::Str(k), Cow::Owned(e))))
            }
            other => match other.as_ref() {
                Value::Int(n) => {
                    if pipe.decl.len() > 1 {
                        return Err(self.err(
                            pipe.span,
                            format!("can't use {n} to iterate over more than one variable"),
                        ));
                    }
                    Box::new((0..*n).map(|i| (Value::Int(i), Cow::Owned(Value::Int(i)))))
                }
                v => {
                    return Err(self.err(pipe.span, format!("range can't iterate over {v}")));
                }
            },
        };
        let mut ran = false;
        for (key, elem) in items {
            ran = true;
            self.iterations += 1;
            if self.iterations > MAX_RANGE_ITERATIONS {
                return Err(self.err(
                    pipe.span,
                    format!("range iteration limit ({MAX_RANGE_ITERATIONS}) exceeded"),
                ));
            }
            let iter_mark = self.vars.len();
            match pipe.decl.as_slice() {
                [] => {}
                [v] => self.set_var(pipe.is_assign, v, elem.clone()),
                [k, v, ..] => {
                    self.set_var(pipe.is_assign, k, Cow::Owned(key));
                    self.set_var(pipe.is_assign, v, elem.clone());
                }
            }
            let flow = self.walk(body, &elem)?;
            self.vars.truncate(iter_mark);
            if matches!(flow, Flow::Break) {
                break;
            }
        }
        if !ran && let Some(else_body) = else_body {
            // `break`/`continue` cannot appear in a range's else branch outside a nested range.
            self.walk(else_body, dot)?;
        }
        self.vars.truncate(mark);
        Ok(())
    }

    fn eval_pipeline(
        &mut self,
        pipe: &'t Pipeline,
        dot: &Cow<'d, Value>,
    ) -> Result<Cow<'d, Value>> {
        let mut value: Option<Cow<'d, Value>> = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(cmd, dot, value)?);
        }
        value.ok_or_else(|| self.err(pipe.span, "empty pipeline"))
    }

    fn lookup_var(&self, name: &str, span: Span) -> Result<Cow<'d, Value>> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| self.err(span, format!("undefined variable: {name}")))
    }

    fn eval_command(
        &mut self,
        cmd: &'t Command,
        dot: &Cow<'d, Value>,
        piped: Option<Cow<'d, Value>>,
    ) -> Result<Cow<'d, Value>> {
        let Some((first, rest)) = cmd.args.split_first() else {
            return Err(self.err(cmd.span, "empty command"));
        };
        let has_args = !rest.is_empty() || piped.is_some();
        let not_a_function = |ex: &Self| {
            let name = ex.src.get(first.span.0..first.span.1).unwrap_or_default();
            Err(ex.err(
                cmd.span,
                format!("can't give argument to non-function {name}"),
            ))
        };
        match &first.kind {
            ArgKind::Func(name) => self.call(name, rest, piped, dot, cmd.span),
            ArgKind::Field(chain) => {
                self.eval_chain(dot.clone(), chain, rest, piped, dot, first.span)
            }
            ArgKind::Var(name, chain) if !chain.is_empty() => {
                let recv = self.lookup_var(name, first.span)?;
                self.eval_chain(recv, chain, rest, piped, dot, first.span)
            }
            ArgKind::Pipe(pipe, chain) if !chain.is_empty() => {
                let recv = self.eval_pipeline(pipe, dot)?;
                self.eval_chain(recv, chain, rest, piped, dot, first.span)
            }
            _ if has_args => not_a_function(self),
            _ => self.eval_arg(first, dot),
        }
    }

    /// Evaluates `.A.B.C` on `recv`; the last element receives the command's arguments if it
    /// is a method.
    fn eval_chain(
        &mut self,
        recv: Cow<'d, Value>,
        chain: &'t [String],
        extra: &'t [Arg],
        mut piped: Option<Cow<'d, Value>>,
        dot: &Cow<'d, Value>,
        span: Span,
    ) -> Result<Cow<'d, Value>> {
        let mut cur = recv;
        for (i, name) in chain.iter().enumerate() {
            let last = i + 1 == chain.len();
            let has_args = last && (!extra.is_empty() || piped.is_some());
            cur = match cur {
                Cow::Borrowed(Value::Map(m)) if !has_args => match m.get(name) {
                    Some(v) => Cow::Borrowed(v),
                    None => return Err(self.no_field(span, name, "map[string]interface {}")),
                },
                Cow::Owned(Value::Map(mut m)) if !has_args => match m.remove(name) {
                    Some(v) => Cow::Owned(v),
                    None => return Err(self.no_field(span, name, "map[string]interface {}")),
                },
                other => match other.as_ref() {
                    Value::Map(m) if m.contains_key(name) => {
                        return Err(
                            self.err(span, format!("{name} is not a method but has arguments"))
                        );
                    }
                    Value::Time(t) => {
                        let t = *t;
                        let mut args = Vec::new();
                        if last {
                            for a in extra {
                                args.push(self.eval_arg(a, dot)?);
                            }
                            if let Some(p) = piped.take() {
                                args.push(p);
                            }
                        }
                        match timefmt::call_method(&t, name, &args) {
                            Ok(Some(v)) => Cow::Owned(v),
                            Ok(None) => return Err(self.no_field(span, name, "time.Time")),
                            Err(m) => return Err(self.err(span, m)),
                        }
                    }
                    v => return Err(self.no_field(span, name, v.type_name())),
                },
            };
        }
        Ok(cur)
    }

    fn no_field(&self, span: Span, name: &str, type_name: &str) -> TemplateError {
        self.err(
            span,
            format!("can't evaluate field {name} in type {type_name}"),
        )
    }

    fn eval_arg(&mut self, arg: &'t Arg, dot: &Cow<'d, Value>) -> Result<Cow<'d, Value>> {
        match &arg.kind {
            ArgKind::Dot => Ok(dot.clone()),
            ArgKind::Field(chain) => self.eval_chain(dot.clone(), chain, &[], None, dot, arg.span),
            ArgKind::Var(name, chain) => {
                let v = self.lookup_var(name, arg.span)?;
                if chain.is_empty() {
                    Ok(v)
                } else {
                    self.eval_chain(v, chain, &[], None, dot, arg.span)
                }
            }
            ArgKind::Pipe(pipe, chain) => {
                let v = self.eval_pipeline(pipe, dot)?;
                if chain.is_empty() {
                    Ok(v)
                } else {
                    self.eval_chain(v, chain, &[], None, dot, arg.span)
                }
            }
            ArgKind::Func(name) => self.call(name, &[], None, dot, arg.span),
            ArgKind::Str(s) => Ok(Cow::Owned(Value::Str(s.clone()))),
            ArgKind::Int(i) => Ok(Cow::Owned(Value::Int(*i))),
            ArgKind::Bool(b) => Ok(Cow::Owned(Value::Bool(*b))),
        }
    }

    fn call(
        &mut self,
        name: &str,
        args: &'t [Arg],
        piped: Option<Cow<'d, Value>>,
        dot: &Cow<'d, Value>,
        span: Span,
    ) -> Result<Cow<'d, Value>> {
        if name == "and" || name == "or" {
            // Short-circuit: return the first falsy (and) / truthy (or) argument, else the last.
            let stop_on = name == "or";
            let mut last = None;
            for a in args {
                let v = self.eval_arg(a, dot)?;
                if v.is_truthy() == stop_on {
                    return Ok(v);
                }
                last = Some(v);
            }
            return match piped.or(last) {
                Some(v) => Ok(v),
                None => Err(self.err(
                    span,
                    format!("wrong number of args for {name}: want at least 1 got 0"),
                )),
            };
        }
        let mut values = Vec::with_capacity(args.len() + 1);
        for a in args {
            values.push(self.eval_arg(a, dot)?);
        }
        if let Some(p) = piped {
            values.push(p);
        }
        funcs::call(name, values).map_err(|m| self.err(span, m))
    }
}
