//! Go `text/template`'s parser: the tree of one template text, and the `define`d (and
//! `block`) templates it declares.

use super::Error;
use super::lex::{Item, Token};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Text(String),
    Action(Pipe),
    If(Branch),
    Range(Branch),
    With(Branch),
    Template { name: String, pipe: Option<Pipe>, at: At },
    Break(At),
    Continue(At),
}

/// Where a node is (for errors: `name:line:col`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct At {
    pub line: usize,
    pub col: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Branch {
    pub pipe: Pipe,
    pub list: Vec<Node>,
    pub else_list: Option<Vec<Node>>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pipe {
    pub at: At,
    /// Variables declared (`$x :=`, `$k, $v :=`) or assigned (`$x =`).
    pub vars: Vec<String>,
    pub assign: bool,
    pub cmds: Vec<Command>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Command {
    pub at: At,
    pub args: Vec<Arg>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    /// `.a.b`.
    Field(Vec<String>),
    /// `$x.a.b` (`$` alone: the data).
    Variable(String, Vec<String>),
    Dot,
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    /// A function name.
    Function(String),
    Pipe(Box<Pipe>),
    /// `(pipe).a.b`.
    Chain(Box<Arg>, Vec<String>),
}

/// One parsed text: its main tree and the templates it defines, in order.
pub(crate) struct Parsed {
    pub root: Vec<Node>,
    pub defines: Vec<(String, Vec<Node>)>,
}

struct Parser<'a> {
    name: &'a str,
    items: Vec<Item>,
    pos: usize,
    defines: Vec<(String, Vec<Node>)>,
    /// Variables visible, innermost last (scopes end at `end`).
    vars: Vec<String>,
    range_depth: usize,
    /// Nesting of parentheses and control structures (a hostile text cannot exhaust the stack).
    depth: usize,
}

/// Deeper nesting than this is refused.
const MAX_NESTING: usize = 500;

/// How a list ended.
enum ListEnd {
    Eof,
    End,
    Else,
}

impl<'a> Parser<'a> {
    fn fail(&self, at: At, message: impl Into<String>) -> Error {
        Error::Parse(format!("template: {}:{}: {}", self.name, at.line, message.into()))
    }

    fn at(&self) -> At {
        self.items.get(self.pos).map_or(At::default(), |i| At { line: i.line, col: i.col })
    }

    fn peek(&self) -> Option<&Token> {
        self.items.get(self.pos).map(|i| &i.token)
    }

    /// The next token that is not a space.
    fn peek_word(&mut self) -> Option<&Token> {
        while self.peek() == Some(&Token::Space) {
            self.pos += 1;
        }
        self.peek()
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.items.get(self.pos).map(|i| i.token.clone());
        self.pos += 1;
        token
    }

    fn next_word(&mut self) -> Option<Token> {
        self.peek_word();
        self.next()
    }

    fn expect_close(&mut self, context: &str) -> Result<(), Error> {
        let at = self.at();
        match self.next_word() {
            Some(Token::Close) => Ok(()),
            other => Err(self.fail(at, format!("unexpected {} in {context}", describe(other.as_ref())))),
        }
    }

    /// Nodes until `{{end}}`, `{{else}}` or the end of the text.
    fn list(&mut self) -> Result<(Vec<Node>, ListEnd), Error> {
        let mut nodes = Vec::new();
        while let Some(token) = self.peek().cloned() {
            match token {
                Token::Text(text) => {
                    self.pos += 1;
                    nodes.push(Node::Text(text));
                }
                Token::Open => {
                    let open_at = self.at();
                    self.pos += 1;
                    let keyword = match self.peek_word() {
                        Some(Token::Keyword(k)) => Some(*k),
                        _ => None,
                    };
                    match keyword {
                        Some("end") => {
                            self.pos += 1;
                            self.expect_close("end")?;
                            return Ok((nodes, ListEnd::End));
                        }
                        Some("else") => {
                            self.pos += 1;
                            return Ok((nodes, ListEnd::Else));
                        }
                        Some(k) => {
                            self.pos += 1;
                            if let Some(node) = self.keyword(k, open_at)? {
                                nodes.push(node);
                            }
                        }
                        None => {
                            let pipe = self.pipe("command", true)?;
                            nodes.push(Node::Action(pipe));
                        }
                    }
                }
                other => return Err(self.fail(self.at(), format!("unexpected {}", describe(Some(&other))))),
            }
        }
        Ok((nodes, ListEnd::Eof))
    }

    fn keyword(&mut self, keyword: &'static str, at: At) -> Result<Option<Node>, Error> {
        self.depth += 1;
        let node = self.keyword_inner(keyword, at);
        self.depth -= 1;
        node
    }

    fn nested(&self, at: At) -> Result<(), Error> {
        if self.depth > MAX_NESTING {
            return Err(self.fail(at, format!("nesting deeper than {MAX_NESTING} levels")));
        }
        Ok(())
    }

    fn keyword_inner(&mut self, keyword: &'static str, at: At) -> Result<Option<Node>, Error> {
        self.nested(at)?;
        match keyword {
            "if" => Ok(Some(Node::If(self.branch("if")?))),
            "with" => Ok(Some(Node::With(self.branch("with")?))),
            "range" => {
                self.range_depth += 1;
                let branch = self.branch("range");
                self.range_depth -= 1;
                Ok(Some(Node::Range(branch?)))
            }
            "break" | "continue" => {
                if self.range_depth == 0 {
                    return Err(self.fail(at, format!("{{{{{keyword}}}}} outside {{{{range}}}}")));
                }
                self.expect_close(keyword)?;
                Ok(Some(if keyword == "break" { Node::Break(at) } else { Node::Continue(at) }))
            }
            "template" => {
                let name = self.template_name("template clause")?;
                let pipe = if self.peek_word() == Some(&Token::Close) {
                    self.pos += 1;
                    None
                } else {
                    Some(self.pipe("template clause", false)?)
                };
                Ok(Some(Node::Template { name, pipe, at }))
            }
            "define" => {
                let name = self.template_name("define clause")?;
                self.expect_close("define clause")?;
                let saved = std::mem::take(&mut self.vars);
                self.vars.push("$".into());
                let (body, end) = self.list()?;
                self.vars = saved;
                if !matches!(end, ListEnd::End) {
                    return Err(self.fail(at, "unexpected EOF"));
                }
                self.defines.push((name, body));
                Ok(None)
            }
            "block" => {
                let name = self.template_name("block clause")?;
                let pipe = self.pipe("block clause", false)?;
                let saved = std::mem::take(&mut self.vars);
                self.vars.push("$".into());
                let (body, end) = self.list()?;
                self.vars = saved;
                if !matches!(end, ListEnd::End) {
                    return Err(self.fail(at, "unexpected EOF"));
                }
                self.defines.push((name.clone(), body));
                Ok(Some(Node::Template { name, pipe: Some(pipe), at }))
            }
            other => Err(self.fail(at, format!("unexpected <{other}> in command"))),
        }
    }

    fn template_name(&mut self, context: &str) -> Result<String, Error> {
        let at = self.at();
        match self.next_word() {
            Some(Token::String(name)) => Ok(name),
            other => Err(self.fail(at, format!("unexpected {} in {context}", describe(other.as_ref())))),
        }
    }

    /// `if`/`with`/`range` pipe, body, and `else` (with `else if` / `else with` chains).
    fn branch(&mut self, kind: &'static str) -> Result<Branch, Error> {
        let depth = self.vars.len();
        let pipe = self.pipe(kind, true)?;
        let (list, end) = self.list()?;
        let else_list = match end {
            ListEnd::Eof => return Err(self.fail(pipe.at, "unexpected EOF")),
            ListEnd::End => None,
            ListEnd::Else => {
                let chained = match self.peek_word() {
                    Some(Token::Keyword(k)) if (*k == "if" && kind != "range") || (*k == "with" && kind == "with") => {
                        Some(*k)
                    }
                    _ => None,
                };
                match chained {
                    // `{{else if x}}` is `{{else}}{{if x}}…{{end}}{{end}}` sharing the end.
                    Some(k) => {
                        let at = self.at();
                        self.pos += 1;
                        let inner = self.branch(k)?;
                        let _ = at;
                        Some(vec![if k == "if" { Node::If(inner) } else { Node::With(inner) }])
                    }
                    None => {
                        self.expect_close("else")?;
                        let (list, end) = self.list()?;
                        if !matches!(end, ListEnd::End) {
                            return Err(self.fail(pipe.at, "expected end; found else"));
                        }
                        Some(list)
                    }
                }
            }
        };
        self.vars.truncate(depth);
        Ok(Branch { pipe, list, else_list })
    }

    /// A pipeline up to `}}` (or `)` when `in_parens`... handled by `operand`).
    fn pipe(&mut self, context: &str, allow_decl: bool) -> Result<Pipe, Error> {
        let at = self.at();
        let mut vars = Vec::new();
        let mut assign = false;
        // `$x :=`, `$x =`, `$k, $v :=`.
        if allow_decl || context == "range" {
            let save = self.pos;
            if let Some(Token::Variable(first)) = self.peek_word().cloned() {
                self.pos += 1;
                match self.peek_word().cloned() {
                    Some(Token::Declare) => {
                        self.pos += 1;
                        vars.push(first);
                    }
                    Some(Token::Assign) => {
                        self.pos += 1;
                        vars.push(first);
                        assign = true;
                    }
                    Some(Token::Comma) if context == "range" => {
                        self.pos += 1;
                        match (self.next_word(), self.next_word()) {
                            (Some(Token::Variable(second)), Some(Token::Declare | Token::Assign)) => {
                                vars.push(first);
                                vars.push(second);
                            }
                            _ => return Err(self.fail(at, "range can only initialize variables")),
                        }
                    }
                    _ => self.pos = save,
                }
            }
        }
        if !assign {
            for var in &vars {
                self.vars.push(var.clone());
            }
        } else if let Some(missing) = vars.iter().find(|v| !self.vars.contains(v)) {
            return Err(self.fail(at, format!("undefined variable \"{missing}\"")));
        }
        let mut cmds = Vec::new();
        loop {
            let cmd_at = self.at();
            let mut args = Vec::new();
            loop {
                match self.peek_word() {
                    None => return Err(self.fail(at, format!("unclosed action in {context}"))),
                    Some(Token::Close) | Some(Token::RParen) | Some(Token::Pipe) => break,
                    Some(_) => {
                        let arg = self.operand()?;
                        args.push(arg);
                        // Arguments are separated by spaces.
                        if !matches!(self.peek(), Some(Token::Space | Token::Close | Token::RParen | Token::Pipe)) {
                            let next = self.peek().cloned();
                            return Err(
                                self.fail(self.at(), format!("unexpected {} in operand", describe(next.as_ref())))
                            );
                        }
                    }
                }
            }
            if args.is_empty() {
                return Err(self.fail(cmd_at, format!("missing value for {context}")));
            }
            cmds.push(Command { at: cmd_at, args });
            match self.peek_word() {
                Some(Token::Pipe) => {
                    self.pos += 1;
                }
                Some(Token::Close) => {
                    self.pos += 1;
                    break;
                }
                Some(Token::RParen) => break,
                _ => return Err(self.fail(at, format!("unclosed action in {context}"))),
            }
        }
        // Only the first command of a pipeline may be a non-function operand with arguments.
        for cmd in cmds.iter().skip(1) {
            if !matches!(cmd.args[0], Arg::Function(_) | Arg::Field(_) | Arg::Variable(..) | Arg::Chain(..)) {
                return Err(self.fail(cmd.at, "non executable command in pipeline stage 2"));
            }
        }
        Ok(Pipe { at, vars, assign, cmds })
    }

    /// One operand: a term, then `.field`s chained onto it.
    fn operand(&mut self) -> Result<Arg, Error> {
        let at = self.at();
        let term = match self.next() {
            Some(Token::Field(first)) => {
                let mut chain = vec![first];
                while let Some(Token::Field(f)) = self.peek() {
                    chain.push(f.clone());
                    self.pos += 1;
                }
                return Ok(Arg::Field(chain));
            }
            Some(Token::Variable(name)) => {
                if !self.vars.contains(&name) {
                    return Err(self.fail(at, format!("undefined variable \"{name}\"")));
                }
                let mut chain = Vec::new();
                while let Some(Token::Field(f)) = self.peek() {
                    chain.push(f.clone());
                    self.pos += 1;
                }
                return Ok(Arg::Variable(name, chain));
            }
            Some(Token::Dot) => Arg::Dot,
            Some(Token::Nil) => Arg::Nil,
            Some(Token::Bool(b)) => Arg::Bool(b),
            Some(Token::String(s)) => Arg::String(s),
            Some(Token::Number(text)) => {
                number(&text).ok_or_else(|| self.fail(at, format!("bad number syntax: {text:?}")))?
            }
            Some(Token::Ident(name)) => Arg::Function(name),
            Some(Token::LParen) => {
                self.depth += 1;
                self.nested(at)?;
                let pipe = self.pipe("parenthesized pipeline", false);
                self.depth -= 1;
                let pipe = pipe?;
                match self.next_word() {
                    Some(Token::RParen) => {}
                    _ => return Err(self.fail(at, "unclosed left paren")),
                }
                Arg::Pipe(Box::new(pipe))
            }
            other => return Err(self.fail(at, format!("unexpected {} in operand", describe(other.as_ref())))),
        };
        let mut chain = Vec::new();
        while let Some(Token::Field(f)) = self.peek() {
            chain.push(f.clone());
            self.pos += 1;
        }
        if chain.is_empty() {
            return Ok(term);
        }
        if matches!(term, Arg::Nil | Arg::Bool(_) | Arg::String(_) | Arg::Int(_) | Arg::Float(_)) {
            return Err(self.fail(at, "unexpected . after term"));
        }
        Ok(Arg::Chain(Box::new(term), chain))
    }
}

/// A Go number literal: an int when it is one, else a float.
fn number(text: &str) -> Option<Arg> {
    let clean: String = text.chars().filter(|c| *c != '_').collect();
    let (negative, digits) = match clean.strip_prefix('-') {
        Some(rest) => (true, rest.to_owned()),
        None => (false, clean.trim_start_matches('+').to_owned()),
    };
    let lower = digits.to_ascii_lowercase();
    let int = if let Some(hex) = lower.strip_prefix("0x") {
        if hex.contains('p') { None } else { i64::from_str_radix(hex, 16).ok() }
    } else if let Some(oct) = lower.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()
    } else if let Some(bin) = lower.strip_prefix("0b") {
        i64::from_str_radix(bin, 2).ok()
    } else if lower.len() > 1 && lower.starts_with('0') && lower.chars().all(|c| c.is_ascii_digit()) {
        i64::from_str_radix(&lower[1..], 8).ok()
    } else {
        lower.parse::<i64>().ok()
    };
    if let Some(i) = int {
        return Some(Arg::Int(if negative { -i } else { i }));
    }
    let f: f64 = lower.parse().ok()?;
    Some(Arg::Float(if negative { -f } else { f }))
}

fn describe(token: Option<&Token>) -> String {
    match token {
        None => "EOF".into(),
        Some(Token::Close) => "\"}}\"".into(),
        Some(Token::RParen) => "\")\"".into(),
        Some(Token::Keyword(k)) => format!("<{k}>"),
        Some(Token::Ident(i)) => format!("<{i}>"),
        Some(Token::String(s)) => format!("{:?}", s),
        Some(Token::Number(n)) => n.clone(),
        Some(other) => format!("{other:?}"),
    }
}

/// Parses `src`, named `name`.
pub(crate) fn parse(name: &str, src: &str) -> Result<Parsed, Error> {
    let items = super::lex::lex(name, src)?;
    let mut parser =
        Parser { name, items, pos: 0, defines: Vec::new(), vars: vec!["$".into()], range_depth: 0, depth: 0 };
    let (root, end) = parser.list()?;
    match end {
        ListEnd::Eof => Ok(Parsed { root, defines: parser.defines }),
        ListEnd::End => Err(parser.fail(parser.at(), "unexpected {{end}}")),
        ListEnd::Else => Err(parser.fail(parser.at(), "unexpected {{else}}")),
    }
}
