//! Go `text/template`'s lexer: text and actions (`{{ }}`, trim markers `{{- ` and ` -}}`,
//! comments `{{/* */}}`), and inside actions the tokens of pipelines.

use super::Error;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Token {
    Text(String),
    /// `{{` (after trimming, when it was `{{- `).
    Open,
    /// `}}`.
    Close,
    Ident(String),
    /// `.name` (one segment of a field chain).
    Field(String),
    /// `$name` or `$`.
    Variable(String),
    Dot,
    String(String),
    /// A number literal as written (`0x1F`, `1_000`, `1.5e3`, `'a'` as its code point).
    Number(String),
    Bool(bool),
    Nil,
    Pipe,
    Assign,
    Declare,
    LParen,
    RParen,
    Comma,
    /// Whitespace between tokens of an action (it separates arguments).
    Space,
    Keyword(&'static str),
}

/// A token and where it starts (1-based line and column in the template text).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Item {
    pub token: Token,
    pub line: usize,
    pub col: usize,
}

const KEYWORDS: [&str; 10] = ["block", "break", "continue", "define", "else", "end", "if", "range", "template", "with"];

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

struct Lexer<'a> {
    name: &'a str,
    src: &'a str,
    pos: usize,
    items: Vec<Item>,
    /// Where the last pushed item was: (byte offset, its line, where that line starts), so that
    /// positions are counted from there, not from the start (tokens come in order).
    mark: (usize, usize, usize),
}

impl<'a> Lexer<'a> {
    fn at(&self, pos: usize) -> (usize, usize) {
        let before = &self.src[..pos];
        let line = before.matches('\n').count() + 1;
        // Go reports the byte offset in the line, counted from 0.
        let col = before.rsplit('\n').next().map_or(0, str::len);
        (line, col)
    }

    fn push(&mut self, token: Token, pos: usize) {
        let (from, mut line, mut line_start) = self.mark;
        if pos < from {
            (line, line_start) = (1, 0);
            for (i, byte) in self.src.as_bytes()[..pos].iter().enumerate() {
                if *byte == b'\n' {
                    line += 1;
                    line_start = i + 1;
                }
            }
        } else {
            for (i, byte) in self.src.as_bytes()[from..pos].iter().enumerate() {
                if *byte == b'\n' {
                    line += 1;
                    line_start = from + i + 1;
                }
            }
        }
        self.mark = (pos, line, line_start);
        self.items.push(Item { token, line, col: pos - line_start });
    }

    fn fail(&self, pos: usize, message: impl Into<String>) -> Error {
        let (line, _) = self.at(pos);
        Error::Parse(format!("template: {}:{line}: {}", self.name, message.into()))
    }

    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn run(mut self) -> Result<Vec<Item>, Error> {
        while self.pos < self.src.len() {
            let Some(open) = self.rest().find("{{") else {
                let text = self.rest().to_owned();
                self.push(Token::Text(text), self.pos);
                break;
            };
            let start = self.pos + open;
            let trim_left =
                self.src[start + 2..].starts_with('-') && self.src[start + 3..].chars().next().is_some_and(is_space);
            let mut text = &self.src[self.pos..start];
            if trim_left {
                text = text.trim_end_matches(is_space);
            }
            if !text.is_empty() {
                self.push(Token::Text(text.to_owned()), self.pos);
            }
            self.pos = start + if trim_left { 3 } else { 2 };
            self.action(start)?;
        }
        Ok(self.items)
    }

    /// After `{{` (and a trim marker): a comment, or tokens up to `}}`.
    fn action(&mut self, open_at: usize) -> Result<(), Error> {
        let after_space = self.rest().trim_start_matches(is_space);
        if after_space.starts_with("/*") {
            let comment_start = self.src.len() - after_space.len();
            let Some(end) = self.src[comment_start..].find("*/") else {
                return Err(self.fail(open_at, "unclosed comment"));
            };
            self.pos = comment_start + end + 2;
            return self.close(open_at, true);
        }
        self.push(Token::Open, open_at);
        loop {
            let rest = self.rest();
            if rest.is_empty() {
                return Err(self.fail(open_at, "unclosed action"));
            }
            // ` -}}` closes and trims; `}}` closes.
            let trimmed = rest.trim_start_matches(is_space);
            if (trimmed.len() < rest.len() && trimmed.starts_with("-}}")) || rest.starts_with("}}") {
                return self.close(open_at, false);
            }
            self.token(open_at)?;
        }
    }

    /// Consumes the closing `}}` (with its trim) after optional space.
    fn close(&mut self, open_at: usize, comment: bool) -> Result<(), Error> {
        let rest = self.rest();
        let trimmed = rest.trim_start_matches(is_space);
        let spaced = trimmed.len() < rest.len();
        let (trim_right, skip) = if spaced && trimmed.starts_with("-}}") {
            (true, rest.len() - trimmed.len() + 3)
        } else if rest.starts_with("}}") {
            (false, 2)
        } else if comment {
            return Err(self.fail(open_at, "comment ends before closing delimiter"));
        } else {
            return Err(self.fail(open_at, "unclosed action"));
        };
        if !comment {
            self.push(Token::Close, self.pos);
        }
        self.pos += skip;
        if trim_right {
            let rest = self.rest();
            self.pos += rest.len() - rest.trim_start_matches(is_space).len();
        }
        Ok(())
    }

    fn token(&mut self, open_at: usize) -> Result<(), Error> {
        let start = self.pos;
        let rest = self.rest();
        let c = rest.chars().next().expect("not empty");
        let take_while =
            |s: &str, f: &dyn Fn(char) -> bool| s.char_indices().find(|(_, c)| !f(*c)).map_or(s.len(), |(i, _)| i);
        let word = |c: char| c == '_' || c.is_alphanumeric();
        match c {
            c if is_space(c) => {
                // Newlines inside actions separate like spaces (Go ≥ 1.16).
                let n = take_while(rest, &is_space);
                self.pos += n;
                self.push(Token::Space, start);
            }
            '|' => {
                self.pos += 1;
                self.push(Token::Pipe, start);
            }
            '(' => {
                self.pos += 1;
                self.push(Token::LParen, start);
            }
            ')' => {
                self.pos += 1;
                self.push(Token::RParen, start);
            }
            ',' => {
                self.pos += 1;
                self.push(Token::Comma, start);
            }
            ':' if rest.starts_with(":=") => {
                self.pos += 2;
                self.push(Token::Declare, start);
            }
            '=' => {
                self.pos += 1;
                self.push(Token::Assign, start);
            }
            '"' => {
                let (text, len) = self.quoted(rest, open_at)?;
                self.pos += len;
                self.push(Token::String(text), start);
            }
            '`' => {
                let Some(end) = rest[1..].find('`') else {
                    return Err(self.fail(start, "unterminated raw quoted string"));
                };
                self.pos += end + 2;
                self.push(Token::String(rest[1..=end].to_owned()), start);
            }
            '\'' => {
                let (text, len) = self.quoted(rest, open_at)?;
                let mut chars = text.chars();
                let (Some(ch), None) = (chars.next(), chars.next()) else {
                    return Err(self.fail(start, format!("malformed character constant: {}", &rest[..len])));
                };
                self.pos += len;
                self.push(Token::Number((ch as u32).to_string()), start);
            }
            '$' => {
                let n = 1 + take_while(&rest[1..], &word);
                self.pos += n;
                self.push(Token::Variable(rest[..n].to_owned()), start);
            }
            '.' if rest[1..].starts_with(|c: char| c.is_ascii_digit()) => self.number(rest, start)?,
            '.' => {
                let n = take_while(&rest[1..], &word);
                self.pos += 1 + n;
                if n == 0 {
                    self.push(Token::Dot, start);
                } else {
                    self.push(Token::Field(rest[1..=n].to_owned()), start);
                }
            }
            '-' | '+' | '0'..='9' => self.number(rest, start)?,
            c if word(c) => {
                let n = take_while(rest, &word);
                let name = &rest[..n];
                self.pos += n;
                let token = match name {
                    "true" => Token::Bool(true),
                    "false" => Token::Bool(false),
                    "nil" => Token::Nil,
                    k => match KEYWORDS.iter().find(|kw| **kw == k) {
                        Some(kw) => Token::Keyword(kw),
                        None => Token::Ident(k.to_owned()),
                    },
                };
                self.push(token, start);
            }
            other => return Err(self.fail(start, format!("unexpected {other:?} in command"))),
        }
        Ok(())
    }

    fn number(&mut self, rest: &str, start: usize) -> Result<(), Error> {
        let n = rest
            .char_indices()
            .skip(1)
            .find(|(i, c)| {
                let prev = rest[..*i].chars().last().unwrap_or(' ');
                !(c.is_ascii_alphanumeric()
                    || *c == '.'
                    || *c == '_'
                    || ((*c == '+' || *c == '-') && matches!(prev, 'e' | 'E' | 'p' | 'P')))
            })
            .map_or(rest.len(), |(i, _)| i);
        let text = &rest[..n];
        if text == "-" || text == "+" {
            return Err(self.fail(start, format!("bad number syntax: {text:?}")));
        }
        self.pos += n;
        self.push(Token::Number(text.to_owned()), start);
        Ok(())
    }

    /// A Go-quoted string or character: its value and its length in the source.
    fn quoted(&self, rest: &str, open_at: usize) -> Result<(String, usize), Error> {
        let quote = rest.chars().next().expect("a quote");
        let mut out = String::new();
        let mut chars = rest.char_indices().skip(1);
        while let Some((i, c)) = chars.next() {
            match c {
                c if c == quote => return Ok((out, i + 1)),
                '\n' => break,
                '\\' => {
                    let Some((_, e)) = chars.next() else { break };
                    match e {
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        'a' => out.push('\u{7}'),
                        'b' => out.push('\u{8}'),
                        'f' => out.push('\u{c}'),
                        'v' => out.push('\u{b}'),
                        '\\' => out.push('\\'),
                        '\'' => out.push('\''),
                        '"' => out.push('"'),
                        'x' | 'u' | 'U' => {
                            let len = match e {
                                'x' => 2,
                                'u' => 4,
                                _ => 8,
                            };
                            let hex: String = (0..len).filter_map(|_| chars.next().map(|(_, h)| h)).collect();
                            let code = u32::from_str_radix(&hex, 16)
                                .map_err(|_| self.fail(open_at, "invalid syntax in quoted string"))?;
                            if e == 'x' {
                                // A byte: Go keeps it raw; UTF-8 text keeps what it can.
                                out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                            } else {
                                out.push(char::from_u32(code).ok_or_else(|| self.fail(open_at, "invalid syntax"))?);
                            }
                        }
                        d @ '0'..='7' => {
                            let mut code = d.to_digit(8).unwrap_or(0);
                            for _ in 0..2 {
                                let Some((_, o)) = chars.next() else { break };
                                code = code * 8 + o.to_digit(8).unwrap_or(0);
                            }
                            out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                        }
                        _ => return Err(self.fail(open_at, "invalid syntax in quoted string")),
                    }
                }
                c => out.push(c),
            }
        }
        Err(self.fail(open_at, "unterminated quoted string"))
    }
}

/// The items of `src`, named `name` in errors.
pub(crate) fn lex(name: &str, src: &str) -> Result<Vec<Item>, Error> {
    Lexer { name, src, pos: 0, items: Vec::new(), mark: (0, 1, 0) }.run()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(src: &str) -> Vec<Token> {
        lex("t", src).unwrap().into_iter().map(|i| i.token).filter(|t| *t != Token::Space).collect()
    }

    #[test]
    fn trim_markers_need_their_space() {
        assert_eq!(
            tokens("a  {{- .x -}}  b"),
            [Token::Text("a".into()), Token::Open, Token::Field("x".into()), Token::Close, Token::Text("b".into())]
        );
        // `{{-3}}` is the number -3, nothing trimmed.
        assert_eq!(
            tokens("a {{-3}}"),
            [Token::Text("a ".into()), Token::Open, Token::Number("-3".into()), Token::Close]
        );
    }

    #[test]
    fn comments_vanish_and_can_trim() {
        assert_eq!(tokens("a\n{{- /* note\nmore */ -}}\nb"), [Token::Text("a".into()), Token::Text("b".into())]);
    }

    #[test]
    fn literals_and_chains() {
        assert_eq!(
            tokens(r#"{{ $x := .Values.a | printf "%s\n" `raw` 'a' 0x1F }}"#),
            [
                Token::Open,
                Token::Variable("$x".into()),
                Token::Declare,
                Token::Field("Values".into()),
                Token::Field("a".into()),
                Token::Pipe,
                Token::Ident("printf".into()),
                Token::String("%s\n".into()),
                Token::String("raw".into()),
                Token::Number("97".into()),
                Token::Number("0x1F".into()),
                Token::Close,
            ]
        );
    }

    #[test]
    fn errors_name_the_template_and_line() {
        let err = lex("chart/templates/a.yaml", "ok\n{{ .x ").unwrap_err();
        assert_eq!(err.to_string(), "template: chart/templates/a.yaml:2: unclosed action");
    }
}
