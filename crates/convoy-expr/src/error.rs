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
        ExprError { column, message: format!("syntax error: {detail}"), ..ExprError::plain("") }
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
