//! Go's `text/template` as Helm runs it (`missingkey=zero`): one [`Set`] of named templates,
//! texts added in Helm's parse order, `define`s replacing earlier ones of the same name unless
//! their body is empty, executed with a [`Value`] as data.

mod builtins;
mod exec;
mod lex;
mod parse;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::value::Value;
use parse::{Arg, Node, Pipe};

/// A parse or execution error, in Go's words (`template: NAME:LINE: ...`,
/// `template: NAME:LINE:COL: executing "NAME" at <NODE>: ...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    Parse(String),
    Exec(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Parse(m) | Error::Exec(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

/// What a function is called with besides its arguments: the set (for `include`-like functions).
pub struct Call<'a> {
    pub set: &'a Set,
    pub(crate) depth: usize,
}

impl Call<'_> {
    /// Runs template `name` with `data` into a string (Helm's `include`).
    pub fn execute(&self, name: &str, data: &Value) -> Result<String, String> {
        exec::run(self.set, name, data, self.depth + 1).map_err(|e| e.to_string())
    }

    /// Runs template `name` of another set (Helm's `tpl`: a copy with the text added), nested
    /// in this call's depth and budget.
    pub fn execute_in(&self, set: &Set, name: &str, data: &Value) -> Result<String, String> {
        exec::run(set, name, data, self.depth + 1).map_err(|e| e.to_string())
    }
}

/// A template function: its arguments evaluated, its result or an error message (reported as
/// `error calling NAME: MESSAGE`).
pub type Func = Arc<dyn Fn(&Call<'_>, Vec<Value>) -> Result<Value, String> + Send + Sync>;

/// Named templates and the functions they may call.
#[derive(Clone)]
pub struct Set {
    templates: HashMap<String, Arc<Vec<Node>>>,
    funcs: HashMap<String, Func>,
}

impl Default for Set {
    fn default() -> Set {
        Set::new()
    }
}

impl Set {
    /// A set with Go's builtin functions.
    pub fn new() -> Set {
        Set { templates: HashMap::new(), funcs: builtins::all() }
    }

    /// Adds (or replaces) a function.
    pub fn func(&mut self, name: &str, func: Func) {
        self.funcs.insert(name.to_owned(), func);
    }

    /// Parses `src` as template `name`; its `define`s join the set (a later definition replaces
    /// an earlier one, unless its body is only whitespace and comments).
    pub fn add(&mut self, name: &str, src: &str) -> Result<(), Error> {
        let parsed = on_big_stack(|| parse::parse(name, src))?;
        self.check_functions(name, &parsed.root)?;
        for (_, body) in &parsed.defines {
            self.check_functions(name, body)?;
        }
        self.insert(name, parsed.root);
        for (define, body) in parsed.defines {
            self.insert(&define, body);
        }
        Ok(())
    }

    fn insert(&mut self, name: &str, body: Vec<Node>) {
        let empty = body.iter().all(|n| matches!(n, Node::Text(t) if t.trim().is_empty()));
        if empty && self.templates.contains_key(name) {
            return;
        }
        self.templates.insert(name.to_owned(), Arc::new(body));
    }

    pub fn has(&self, name: &str) -> bool {
        self.templates.contains_key(name)
    }

    /// Runs template `name` with `data`.
    pub fn execute(&self, name: &str, data: &Value) -> Result<String, Error> {
        on_big_stack(|| {
            exec::reset_budget();
            exec::run(self, name, data, 0)
        })
    }

    pub(crate) fn tree(&self, name: &str) -> Option<Arc<Vec<Node>>> {
        self.templates.get(name).cloned()
    }

    pub(crate) fn function(&self, name: &str) -> Option<&Func> {
        self.funcs.get(name)
    }

    /// Go refuses, at parse time, a call of a function the set does not have.
    fn check_functions(&self, name: &str, nodes: &[Node]) -> Result<(), Error> {
        fn pipe_fns<'p>(pipe: &'p Pipe, out: &mut Vec<(&'p str, usize)>) {
            for cmd in &pipe.cmds {
                for arg in &cmd.args {
                    arg_fns(arg, cmd.at.line, out);
                }
            }
        }
        fn arg_fns<'p>(arg: &'p Arg, line: usize, out: &mut Vec<(&'p str, usize)>) {
            match arg {
                Arg::Function(f) => out.push((f, line)),
                Arg::Pipe(p) => pipe_fns(p, out),
                Arg::Chain(base, _) => arg_fns(base, line, out),
                _ => {}
            }
        }
        fn walk<'p>(nodes: &'p [Node], out: &mut Vec<(&'p str, usize)>) {
            for node in nodes {
                match node {
                    Node::Action(p) => pipe_fns(p, out),
                    Node::If(b) | Node::Range(b) | Node::With(b) => {
                        pipe_fns(&b.pipe, out);
                        walk(&b.list, out);
                        if let Some(e) = &b.else_list {
                            walk(e, out);
                        }
                    }
                    Node::Template { pipe: Some(p), .. } => pipe_fns(p, out),
                    _ => {}
                }
            }
        }
        let mut used = Vec::new();
        walk(nodes, &mut used);
        match used.into_iter().find(|(f, _)| !self.funcs.contains_key(*f) && !matches!(*f, "and" | "or")) {
            Some((f, line)) => Err(Error::Parse(format!("template: {name}:{line}: function \"{f}\" not defined"))),
            None => Ok(()),
        }
    }
}

/// Stack for parsing and executing: templates nest (parentheses, control structures,
/// `template` calls) as deep as the limits allow, on any caller's thread.
const STACK: usize = 256 << 20;

/// Runs `work` on a thread of its own with a [`STACK`]-sized stack (only touched pages are
/// used); a panic there is an error here.
fn on_big_stack<T: Send>(work: impl FnOnce() -> Result<T, Error> + Send) -> Result<T, Error> {
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new().name("template".into()).stack_size(STACK).spawn_scoped(scope, work);
        match thread {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|_| Err(Error::Exec("rendering template failed: the renderer panicked".into()))),
            Err(e) => Err(Error::Exec(format!("rendering template failed: cannot start the renderer: {e}"))),
        }
    })
}

#[cfg(test)]
mod tests;
