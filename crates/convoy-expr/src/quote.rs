//! Go's `%q` (strconv.Quote): printable Unicode stays as is, everything else is escaped.

/// Quotes `s` exactly as Go's `fmt.Sprintf("%q", s)`.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if is_go_printable(c) => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// Go's `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space.
/// Approximated by excluding control, format, separator (but ' ') and private-use characters.
fn is_go_printable(c: char) -> bool {
    let u = c as u32;
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let format_or_separator = matches!(u,
        0x00AD | 0x0600..=0x0605 | 0x061C | 0x06DD | 0x070F | 0x08E2 | 0x180E
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F
        | 0xFEFF | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD | 0x1D173..=0x1D17A
        | 0xE0001 | 0xE0020..=0xE007F);
    let private_or_unassigned = matches!(u, 0xE000..=0xF8FF | 0xF0000..=0x10FFFF | 0xFFFE | 0xFFFF);
    !format_or_separator && !private_or_unassigned
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_go_quote() {
        // Expected strings are what Go's strconv.Quote documents for these inputs.
        assert_eq!(go_quote("hello"), r#""hello""#);
        assert_eq!(go_quote("say \"hi\"\n"), r#""say \"hi\"\n""#);
        assert_eq!(go_quote("café 日本 🚀"), "\"café 日本 🚀\"");
        assert_eq!(go_quote("\u{0}\u{7f}"), r#""\x00\x7f""#);
        assert_eq!(go_quote("a\u{200b}b\u{a0}"), r#""a\u200bb\u00a0""#);
        assert_eq!(go_quote("tab\there\\"), r#""tab\there\\""#);
    }
}
