//! Executing a template: Go's `text/template` evaluation rules with `missingkey=zero`.

use super::parse::{Arg, At, Branch, Command, Node, Pipe};
use super::{Call, Error, Set};
use crate::gofmt;
use crate::value::Value;

/// What one render may do: steps (nodes walked, loop turns) and bytes of output. A hostile
/// chart (`range 100000000000`) ends with an error instead of taking the server's CPU or memory.
const MAX_STEPS: u64 = 50_000_000;
const MAX_OUTPUT: usize = 64 << 20;

thread_local! {
    static STEPS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Starts a render's step budget (on the thread that runs it).
pub(crate) fn reset_budget() {
    STEPS.with(|s| s.set(0));
}

fn spend() -> bool {
    STEPS.with(|s| {
        s.set(s.get() + 1);
        s.get() <= MAX_STEPS
    })
}

/// Nested template calls allowed (Go allows 100,000, more than a native stack holds; Helm's
/// `include` stops at about 1,000).
const MAX_DEPTH: usize = 1_000;

enum Flow {
    Normal,
    Break,
    Continue,
}

struct Exec<'s> {
    set: &'s Set,
    name: String,
    out: String,
    vars: Vec<(String, Value)>,
    depth: usize,
}

/// Runs template `name` of `set` with `data`; `depth` counts the calls around this one.
pub(crate) fn run(set: &Set, name: &str, data: &Value, depth: usize) -> Result<String, Error> {
    if depth > MAX_DEPTH {
        return Err(Error::Exec(format!("template: {name}: exceeded maximum template depth ({MAX_DEPTH})")));
    }
    let Some(tree) = set.tree(name) else {
        return Err(Error::Exec(format!("template: no template {name:?} associated with template \"gotpl\"")));
    };
    let mut exec =
        Exec { set, name: name.to_owned(), out: String::new(), vars: vec![("$".into(), data.clone())], depth };
    exec.walk(data, &tree)?;
    Ok(exec.out)
}

/// A node as Go prints it in errors (`<.Values.a.b>`).
fn arg_text(arg: &Arg) -> String {
    match arg {
        Arg::Field(chain) => chain.iter().map(|f| format!(".{f}")).collect(),
        Arg::Variable(name, chain) => format!("{name}{}", chain.iter().map(|f| format!(".{f}")).collect::<String>()),
        Arg::Dot => ".".into(),
        Arg::Nil => "nil".into(),
        Arg::Bool(b) => b.to_string(),
        Arg::Int(i) => i.to_string(),
        Arg::Float(f) => gofmt::float(*f),
        Arg::String(s) => gofmt::quote(s),
        Arg::Function(f) => f.clone(),
        Arg::Pipe(p) => format!("({})", pipe_text(p)),
        Arg::Chain(base, chain) => {
            format!("{}{}", arg_text(base), chain.iter().map(|f| format!(".{f}")).collect::<String>())
        }
    }
}

fn command_text(cmd: &Command) -> String {
    cmd.args.iter().map(arg_text).collect::<Vec<_>>().join(" ")
}

fn pipe_text(pipe: &Pipe) -> String {
    pipe.cmds.iter().map(command_text).collect::<Vec<_>>().join(" | ")
}

impl Exec<'_> {
    fn fail(&self, at: At, node: &str, message: impl Into<String>) -> Error {
        Error::Exec(format!(
            "template: {}:{}:{}: executing \"{}\" at <{node}>: {}",
            self.name,
            at.line,
            at.col,
            self.name,
            message.into()
        ))
    }

    fn walk(&mut self, dot: &Value, nodes: &[Node]) -> Result<Flow, Error> {
        for node in nodes {
            if !spend() {
                return Err(Error::Exec(format!("template: {}: execution exceeded {MAX_STEPS} steps", self.name)));
            }
            if self.out.len() > MAX_OUTPUT {
                return Err(Error::Exec(format!("template: {}: output exceeds {} MiB", self.name, MAX_OUTPUT >> 20)));
            }
            match node {
                Node::Text(text) => self.out.push_str(text),
                Node::Action(pipe) => {
                    let value = self.pipe(dot, pipe)?;
                    if pipe.vars.is_empty() {
                        self.out.push_str(&gofmt::print_value(&value));
                    }
                }
                Node::If(branch) => {
                    let flow = self.conditional(dot, branch, false)?;
                    if !matches!(flow, Flow::Normal) {
                        return Ok(flow);
                    }
                }
                Node::With(branch) => {
                    let flow = self.conditional(dot, branch, true)?;
                    if !matches!(flow, Flow::Normal) {
                        return Ok(flow);
                    }
                }
                Node::Range(branch) => self.range(dot, branch)?,
                Node::Template { name, pipe, at } => {
                    let data = match pipe {
                        Some(p) => self.pipe(dot, p)?,
                        None => Value::Invalid,
                    };
                    if self.set.tree(name).is_none() {
                        return Err(self.fail(
                            *at,
                            &format!("template {}", gofmt::quote(name)),
                            format!("no such template {}", gofmt::quote(name)),
                        ));
                    }
                    let text = run(self.set, name, &data, self.depth + 1)?;
                    self.out.push_str(&text);
                }
                Node::Break(_) => return Ok(Flow::Break),
                Node::Continue(_) => return Ok(Flow::Continue),
            }
        }
        Ok(Flow::Normal)
    }

    /// `if` (dot unchanged) or `with` (dot becomes the value).
    fn conditional(&mut self, dot: &Value, branch: &Branch, with: bool) -> Result<Flow, Error> {
        let mark = self.vars.len();
        let value = self.pipe(dot, &branch.pipe)?;
        let flow = if value.truthy() {
            let inner = if with { value } else { dot.clone() };
            self.walk(&inner, &branch.list)?
        } else if let Some(else_list) = &branch.else_list {
            self.walk(dot, else_list)?
        } else {
            Flow::Normal
        };
        self.vars.truncate(mark);
        Ok(flow)
    }

    fn range(&mut self, dot: &Value, branch: &Branch) -> Result<(), Error> {
        let mark = self.vars.len();
        let value = self.pipe_value(dot, &branch.pipe)?;
        let items: Vec<(Value, Value)> = match &value {
            Value::List(items) => items.iter().enumerate().map(|(i, v)| (Value::Int(i as i64), v.clone())).collect(),
            Value::Map(map) => map.entries().into_iter().map(|(k, v)| (Value::String(k), v)).collect(),
            Value::Int(n) | Value::Int64(n) if *n > MAX_STEPS as i64 => {
                return Err(Error::Exec(format!("template: {}: range over {n} exceeds {MAX_STEPS} steps", self.name)));
            }
            Value::Int(n) | Value::Int64(n) => (0..*n).map(|i| (Value::Int(i), Value::Int(i))).collect(),
            Value::Invalid | Value::Nil => Vec::new(),
            Value::Object(object) if object.entries().is_some() => object.entries().unwrap_or_default(),
            other => {
                let text = gofmt::print_value(other);
                return Err(self.fail(
                    branch.pipe.at,
                    &pipe_text(&branch.pipe),
                    format!("range can't iterate over {text}"),
                ));
            }
        };
        if items.is_empty() {
            if let Some(else_list) = &branch.else_list {
                self.walk(dot, else_list)?;
            }
            self.vars.truncate(mark);
            return Ok(());
        }
        for (key, element) in items {
            if !spend() {
                return Err(Error::Exec(format!("template: {}: execution exceeded {MAX_STEPS} steps", self.name)));
            }
            match branch.pipe.vars.as_slice() {
                [one] => self.vars.push((one.clone(), element.clone())),
                [k, v] => {
                    self.vars.push((k.clone(), key));
                    self.vars.push((v.clone(), element.clone()));
                }
                _ => {}
            }
            let flow = self.walk(&element, &branch.list)?;
            self.vars.truncate(mark);
            if matches!(flow, Flow::Break) {
                break;
            }
        }
        Ok(())
    }

    /// A pipeline's value, with its variables declared or assigned.
    fn pipe(&mut self, dot: &Value, pipe: &Pipe) -> Result<Value, Error> {
        let value = self.pipe_value(dot, pipe)?;
        for name in &pipe.vars {
            if pipe.assign {
                if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
                    slot.1 = value.clone();
                }
            } else {
                self.vars.push((name.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    fn pipe_value(&mut self, dot: &Value, pipe: &Pipe) -> Result<Value, Error> {
        let mut value = None;
        for cmd in &pipe.cmds {
            value = Some(self.command(dot, cmd, value)?);
        }
        // A nil interface that leaves a pipeline is no value at all.
        Ok(match value.unwrap_or(Value::Invalid) {
            Value::Nil => Value::Invalid,
            other => other,
        })
    }

    fn command(&mut self, dot: &Value, cmd: &Command, last: Option<Value>) -> Result<Value, Error> {
        let first = &cmd.args[0];
        let rest = &cmd.args[1..];
        let has_arguments = !rest.is_empty() || last.is_some();
        let no_arguments = |this: &Self| -> Result<(), Error> {
            if has_arguments {
                return Err(this.fail(
                    cmd.at,
                    &command_text(cmd),
                    format!("can't give argument to non-function {}", arg_text(first)),
                ));
            }
            Ok(())
        };
        let (receiver, chain) = match first {
            Arg::Function(name) => return self.function(dot, cmd, name, rest, last),
            Arg::Field(chain) => (dot.clone(), chain),
            Arg::Variable(name, chain) => (self.variable(name), chain),
            Arg::Chain(base, chain) => (self.arg(dot, cmd, base)?, chain),
            other => {
                no_arguments(self)?;
                return self.arg(dot, cmd, other);
            }
        };
        // A method with arguments ends a chain (`.Capabilities.APIVersions.Has "v1"`).
        if has_arguments && let Some((method, path)) = chain.split_last() {
            if let Value::Object(object) = self.fields(cmd, receiver, path)? {
                let mut args = Vec::with_capacity(rest.len() + 1);
                for arg in rest {
                    args.push(self.arg(dot, cmd, arg)?);
                }
                args.extend(last);
                if let Some(result) = object.method(method, &args) {
                    return result
                        .map_err(|e| self.fail(cmd.at, &command_text(cmd), format!("error calling {method}: {e}")));
                }
            }
            return Err(self.fail(
                cmd.at,
                &command_text(cmd),
                format!("can't give argument to non-function {}", arg_text(first)),
            ));
        }
        no_arguments(self)?;
        self.fields(cmd, receiver, chain)
    }

    fn variable(&self, name: &str) -> Value {
        self.vars.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or(Value::Invalid)
    }

    /// `.a.b.c` from `receiver`: a missing key is nil (missingkey=zero); a field of nil is an
    /// error, a field of no value is no value.
    fn fields(&self, cmd: &Command, mut receiver: Value, chain: &[String]) -> Result<Value, Error> {
        for field in chain {
            receiver = match receiver {
                Value::Invalid => Value::Invalid,
                Value::Nil => {
                    return Err(self.fail(
                        cmd.at,
                        &command_text(cmd),
                        format!("nil pointer evaluating interface {{}}.{field}"),
                    ));
                }
                Value::Map(map) => map.get(field).unwrap_or(Value::Nil),
                Value::Object(object) => object.field(field).ok_or_else(|| {
                    self.fail(
                        cmd.at,
                        &command_text(cmd),
                        format!("can't evaluate field {field} in type {}", object.type_name()),
                    )
                })?,
                other => {
                    return Err(self.fail(
                        cmd.at,
                        &command_text(cmd),
                        format!("can't evaluate field {field} in type {}", other.type_name()),
                    ));
                }
            };
        }
        Ok(receiver)
    }

    /// An argument's value.
    fn arg(&mut self, dot: &Value, cmd: &Command, arg: &Arg) -> Result<Value, Error> {
        Ok(match arg {
            Arg::Dot => dot.clone(),
            Arg::Nil => Value::Nil,
            Arg::Bool(b) => Value::Bool(*b),
            Arg::Int(i) => Value::Int(*i),
            Arg::Float(f) => Value::Float(*f),
            Arg::String(s) => Value::String(s.clone()),
            Arg::Field(chain) => self.fields(cmd, dot.clone(), chain)?,
            Arg::Variable(name, chain) => {
                let value = self.variable(name);
                self.fields(cmd, value, chain)?
            }
            Arg::Chain(base, chain) => {
                let value = self.arg(dot, cmd, base)?;
                self.fields(cmd, value, chain)?
            }
            Arg::Pipe(pipe) => self.pipe_value(dot, pipe)?,
            Arg::Function(name) => self.function(dot, cmd, name, &[], None)?,
        })
    }

    fn function(
        &mut self,
        dot: &Value,
        cmd: &Command,
        name: &str,
        args: &[Arg],
        last: Option<Value>,
    ) -> Result<Value, Error> {
        // `and` and `or` stop at the deciding argument (Go ≥ 1.18) and return it.
        if name == "and" || name == "or" {
            let count = args.len() + usize::from(last.is_some());
            if count == 0 {
                return Err(self.fail(
                    cmd.at,
                    &command_text(cmd),
                    format!("wrong number of args for {name}: want at least 1 got 0"),
                ));
            }
            let mut value = Value::Invalid;
            for arg in args {
                value = self.arg(dot, cmd, arg)?;
                if value.truthy() == (name == "or") {
                    return Ok(value);
                }
            }
            if let Some(last) = last {
                value = last;
            }
            return Ok(value);
        }
        let Some(func) = self.set.function(name).cloned() else {
            return Err(self.fail(cmd.at, &command_text(cmd), format!("function {name:?} not defined")));
        };
        let mut values = Vec::with_capacity(args.len() + 1);
        for arg in args {
            values.push(self.arg(dot, cmd, arg)?);
        }
        values.extend(last);
        let call = Call { set: self.set, depth: self.depth };
        func(&call, values)
            .map_err(|message| self.fail(cmd.at, &command_text(cmd), format!("error calling {name}: {message}")))
    }
}
