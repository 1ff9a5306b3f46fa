//! How findings are printed: `FILE:LINE:COL: Kind/name: field.path: message` plus a hint line,
//! or a JSON array.

use convoy_core::Severity;
use serde::Serialize;

/// One problem located in a file.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub kind: String,
    pub name: String,
    pub path: String,
    pub severity: &'static str,
    pub message: String,
    pub hint: Option<String>,
}

impl Finding {
    pub fn severity(severity: Severity) -> &'static str {
        match severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == "error"
    }

    /// The text form. Warnings say so after the field path; errors are unmarked.
    pub fn to_text(&self) -> String {
        let mut line = format!("{}:{}:{}: ", self.file, self.line, self.column);
        if !self.kind.is_empty() {
            line.push_str(&format!("{}/{}: ", self.kind, self.name));
        }
        if !self.path.is_empty() {
            line.push_str(&self.path);
            line.push_str(": ");
        }
        if !self.is_error() {
            line.push_str("warning: ");
        }
        line.push_str(&self.message);
        if let Some(hint) = &self.hint {
            line.push_str("\n  hint: ");
            line.push_str(hint);
        }
        line
    }
}

/// Prints findings to stdout and a summary to stderr.
pub fn print_findings(findings: &[Finding], json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(findings)?);
    } else {
        for finding in findings {
            println!("{}", finding.to_text());
        }
    }
    let errors = findings.iter().filter(|f| f.is_error()).count();
    let warnings = findings.len() - errors;
    eprintln!("{errors} error(s), {warnings} warning(s)");
    Ok(())
}

/// An I/O error in words for people: what happened, without Rust's `(os error 2)`.
pub fn plain_io(error: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::NotFound => "no such file or directory".to_owned(),
        ErrorKind::PermissionDenied => "permission denied".to_owned(),
        ErrorKind::IsADirectory => "it is a directory, not a file".to_owned(),
        ErrorKind::InvalidData => "it is not UTF-8 text".to_owned(),
        _ => {
            let text = error.to_string();
            match text.rfind(" (os error ") {
                Some(at) => text[..at].to_owned(),
                None => text,
            }
        }
    }
}
