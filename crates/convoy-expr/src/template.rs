//! Splitting a string into literal text and `${{ }}` / `${% %}` expressions.

/// A piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment<'a> {
    Text(&'a str),
    /// An expression and the byte offset of its first character in the template.
    Expr {
        code: &'a str,
        offset: usize,
    },
}

const DELIMITERS: [(&str, &str); 2] = [("${{", "}}"), ("${%", "%}")];

/// Whether `text` contains an expression at all; text without one is never touched.
pub fn has_expression(text: &str) -> bool {
    DELIMITERS.iter().any(|(open, _)| text.contains(open))
}

/// An opening delimiter without its closing one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unclosed expression: expected {expected:?} but reached end of template")]
pub struct Unclosed {
    pub expected: &'static str,
    /// Byte offset of the opening delimiter.
    pub offset: usize,
}

/// Splits a template as Kargo does: the earliest opening delimiter, then the first matching
/// closing one; text between expressions is kept literally.
pub fn split(template: &str) -> Result<Vec<Segment<'_>>, Unclosed> {
    let mut segments = Vec::new();
    let mut rest = template;
    let mut base = 0;
    loop {
        let next = DELIMITERS
            .iter()
            .filter_map(|(open, close)| rest.find(open).map(|i| (i, *open, *close)))
            .min_by_key(|(i, _, _)| *i);
        let Some((start, open, close)) = next else {
            if !rest.is_empty() {
                segments.push(Segment::Text(rest));
            }
            return Ok(segments);
        };
        if start > 0 {
            segments.push(Segment::Text(&rest[..start]));
        }
        let code_start = start + open.len();
        let Some(len) = rest[code_start..].find(close) else {
            return Err(Unclosed { expected: close, offset: base + start });
        };
        segments.push(Segment::Expr { code: &rest[code_start..code_start + len], offset: base + code_start });
        let consumed = code_start + len + close.len();
        rest = &rest[consumed..];
        base += consumed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits() {
        assert_eq!(split("plain").unwrap(), [Segment::Text("plain")]);
        assert_eq!(
            split("v${{ a }}-${% b %}").unwrap(),
            [
                Segment::Text("v"),
                Segment::Expr { code: " a ", offset: 4 },
                Segment::Text("-"),
                Segment::Expr { code: " b ", offset: 13 }
            ]
        );
        // the first closing delimiter ends the expression, even inside a string literal
        assert_eq!(split("${{ \"}}\" }}").unwrap(), [Segment::Expr { code: " \"", offset: 3 }, Segment::Text("\" }}")]);
        assert_eq!(split("x ${{ a").unwrap_err(), Unclosed { expected: "}}", offset: 2 });
        assert_eq!(split("${% a }}").unwrap_err().expected, "%}");
    }
}
