//! Expression errors that say where: the config path, the expression and the column.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    /// Path inside the evaluated config (`images[0].tag`), empty for a lone template.
    pub path: String,
    /// The expression that failed, without delimiters.
    pub expression: String,
    /// 1-based column in the template where the problem is.
    pub column: Option<usize>,
    pub message: String,
}

impl ExprError {
    pub(crate) fn plain(message: impl Into<String>) -> ExprError {
        ExprError { path: String::new(), expression: String::new(), column: None, message: message.into() }
    }

    /// expr-lang's syntax errors carry ` --> line:col` and an `= expected ...` line.
    pub(crate) fn from_expr(error: &expr::Error) -> ExprError {
        let text = error.to_string();
        let Some(at) = text.find("--> ") else { return ExprError::plain(text) };
        let position = text[at + 4..].split_whitespace().next().unwrap_or("");
        let column = position.split(':').nth(1).and_then(|c| c.parse().ok());
        let detail = text.lines().find_map(|l| l.trim().strip_prefix("= ")).unwrap_or("invalid syntax");
        ExprError { column, message: format!("syntax error: {}", in_words(detail)), ..ExprError::plain("") }
    }

    /// Places the error in `template`, whose expression `code` starts at byte `offset`.
    pub(crate) fn located(mut self, template: &str, code: &str, offset: usize) -> ExprError {
        let start = template[..offset.min(template.len())].chars().count();
        self.column = Some(start + self.column.unwrap_or(1));
        self.expression = code.trim().to_owned();
        self
    }

    pub(crate) fn unclosed(template: &str, e: &crate::template::Unclosed) -> ExprError {
        ExprError {
            column: Some(template[..e.offset].chars().count() + 1),
            expression: template[e.offset..].to_owned(),
            ..ExprError::plain(e.to_string())
        }
    }

    pub(crate) fn in_template(mut self, template: &str) -> ExprError {
        if self.expression.is_empty() {
            self.expression = template.to_owned();
        }
        self
    }

    pub(crate) fn at(mut self, path: &str) -> ExprError {
        if self.path.is_empty() {
            self.path = path.to_owned();
        }
        self
    }

    pub(crate) fn wrap(mut self, context: String) -> ExprError {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

/// The parser's `expected pipe, method_call, ... or not_in_op` in words: what may come next.
fn in_words(detail: &str) -> String {
    let Some(list) = detail.strip_prefix("expected ") else { return detail.to_owned() };
    let list = list.split(" but found ").next().unwrap_or(list);
    let mut said: Vec<&str> = Vec::new();
    for rule in list.split([',', ' ']).map(str::trim).filter(|r| !r.is_empty() && *r != "or") {
        let words = match rule {
            "EOI" => "the end of the expression",
            "pipe" | "method_call" | "ternary" | "membership_op" | "opt_membership_op" | "opt_index_op"
            | "default_op" | "index_op" | "range_start_op" | "range_end_op" | "exponent_op" | "multiplication_op"
            | "addition_op" | "range_op" | "comparison_op" | "equal_op" | "and_op" | "or_op" | "string_op"
            | "not_in_op" | "infix" | "postfix" => "an operator",
            "predicate" | "block" => "a `{ ... }` block",
            "map_key" => "a map key",
            "else_keyword" => "`else`",
            _ => "a value",
        };
        if !said.contains(&words) {
            said.push(words);
        }
    }
    match said.as_slice() {
        [] => detail.to_owned(),
        [one] => format!("expected {one} here"),
        [init @ .., last] => format!("expected {} or {last} here", init.join(", ")),
    }
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        write!(f, "{}", self.message)?;
        if !self.expression.is_empty() {
            write!(f, " (in {:?}", self.expression)?;
            if let Some(column) = self.column {
                write!(f, " at column {column}")?;
            }
            write!(f, ")")?;
        }
        Ok(())
    }
}

impl std::error::Error for ExprError {}

#[cfg(test)]
mod tests {
    #[test]
    fn grammar_rules_in_words() {
        let detail = "expected pipe, method_call, ternary, membership_op, exponent_op, or EOI";
        assert_eq!(super::in_words(detail), "expected an operator or the end of the expression here");
        assert_eq!(super::in_words("expected expr"), "expected a value here");
        assert_eq!(super::in_words("unexpected token"), "unexpected token");
    }
}
