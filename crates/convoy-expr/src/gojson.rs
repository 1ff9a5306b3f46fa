//! JSON text as Go's `encoding/json` writes it, which Kargo's templates expose to users:
//! map keys sorted, `<`, `>`, `&`, U+2028 and U+2029 escaped, floats without a needless `.0`.

use serde_json::Value as Json;

/// Compact encoding (`json.Marshal`).
pub fn marshal(value: &Json) -> String {
    let mut out = String::new();
    write(&mut out, value, None, 0);
    out
}

/// Indented encoding (`json.MarshalIndent(v, "", indent)`).
pub fn marshal_indent(value: &Json, indent: &str) -> String {
    let mut out = String::new();
    write(&mut out, value, Some(indent), 0);
    out
}

fn write(out: &mut String, value: &Json, indent: Option<&str>, depth: usize) {
    match value {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => out.push_str(&number(n)),
        Json::String(s) => string(out, s),
        Json::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, indent, depth + 1);
                write(out, item, indent, depth + 1);
            }
            newline(out, indent, depth);
            out.push(']');
        }
        Json::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, indent, depth + 1);
                string(out, key);
                out.push(':');
                if indent.is_some() {
                    out.push(' ');
                }
                write(out, &map[key], indent, depth + 1);
            }
            newline(out, indent, depth);
            out.push('}');
        }
    }
}

fn newline(out: &mut String, indent: Option<&str>, depth: usize) {
    if let Some(indent) = indent {
        out.push('\n');
        for _ in 0..depth {
            out.push_str(indent);
        }
    }
}

/// Go formats float64 with the shortest representation, exponent only outside [1e-6, 1e21).
pub fn number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    float(n.as_f64().unwrap_or(0.0))
}

pub fn float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Go: `1e+21`, `1e-7`: mantissa shortest, a positive exponent with at least two digits;
        // encoding/json cleans `e-07` up to `e-7`.
        let formatted = format!("{f:e}");
        let (mantissa, exponent) = formatted.split_once('e').unwrap_or((&formatted, "0"));
        let exp: i32 = exponent.parse().unwrap_or(0);
        return if exp < 0 { format!("{mantissa}e{exp}") } else { format!("{mantissa}e+{exp:02}") };
    }
    // Rust's Display is the shortest round-trip decimal, as Go's 'f' with precision -1
    // (12345678901234567890 prints 12345678901234567000, not the binary value's digits).
    format!("{f}")
}

fn string(out: &mut String, s: &str) {
    write_string(out, s, true);
}

/// Go's `encoding/json` string: `<`, `>` and `&` escaped unless `escape_html` is off (Go's
/// `SetEscapeHTML(false)`); U+2028, U+2029 and control characters always.
pub fn write_string(out: &mut String, s: &str, escape_html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' if escape_html => out.push_str(&format!("\\u{:04x}", c as u32)),
            '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn like_go() {
        assert_eq!(marshal(&json!({"b": 1, "a": [true, null, "x<y"]})), r#"{"a":[true,null,"x\u003cy"],"b":1}"#);
        assert_eq!(marshal_indent(&json!({"a": {"b": []}}), "  "), "{\n  \"a\": {\n    \"b\": []\n  }\n}");
        assert_eq!(float(1.0), "1");
        assert_eq!(float(1.5), "1.5");
        assert_eq!(float(1e21), "1e+21");
        assert_eq!(float(1e-7), "1e-7", "encoding/json cleans e-07 up to e-7");
        assert_eq!(float(12345678901234567890.0), "12345678901234567000", "shortest digits, then zeros");
        assert_eq!(float(0.000001), "0.000001");
        assert_eq!(float(123456789.0), "123456789");
    }
}
