//! Helm's `toYaml`: a value through Go's JSON (so whole floats are integers, keys are strings)
//! and out through yaml.v2's emitter: keys in yaml.v2's order (digits compared as numbers,
//! non-letters before letters), block lists not indented under their key, strings plain when
//! they read back as strings and plain can hold them, else single- or double-quoted, multi-line
//! strings as literal blocks, and lines folded at spaces past column 80.

use crate::gofmt;
use crate::value::Value;

/// yaml.v2's line width: a plain or quoted scalar breaks at a space past this column.
const WIDTH: usize = 80;

/// The YAML of `value` (with the trailing newline yaml.v2 writes; Helm strips it).
pub fn to_yaml(value: &Value) -> Result<String, String> {
    emit(value, false)
}

/// Helm's `toYamlPretty` (yaml.v3, indent 2): lists under a key indented by two more.
pub fn to_yaml_pretty(value: &Value) -> Result<String, String> {
    emit(value, true)
}

fn emit(value: &Value, indent_lists: bool) -> Result<String, String> {
    let mut out = String::new();
    match value {
        Value::Map(m) if !m.is_empty() => block_map(value, 0, indent_lists, &mut out)?,
        Value::List(l) if !l.is_empty() => block_list(value, 0, indent_lists, &mut out)?,
        other => {
            out.push_str(&scalar(other, 0, 0)?);
            out.push('\n');
        }
    }
    Ok(out)
}

/// yaml.v2's key order (`sorter.go`): numbers within keys compared by value, non-letters
/// before letters.
fn key_order(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (ar, br): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    for i in 0..ar.len().min(br.len()) {
        if ar[i] == br[i] {
            continue;
        }
        let (al, bl) = (ar[i].is_alphabetic(), br[i].is_alphabetic());
        if al && bl {
            return ar[i].cmp(&br[i]);
        }
        if al || bl {
            return if bl { Ordering::Less } else { Ordering::Greater };
        }
        let (mut an, mut bn) = (0i64, 0i64);
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i;
            while j > 0 && ar[j - 1].is_ascii_digit() {
                j -= 1;
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && ar[ai].is_ascii_digit() {
            an = an.saturating_mul(10).saturating_add(i64::from(ar[ai] as u8 - b'0'));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && br[bi].is_ascii_digit() {
            bn = bn.saturating_mul(10).saturating_add(i64::from(br[bi] as u8 - b'0'));
            bi += 1;
        }
        if an != bn {
            return an.cmp(&bn);
        }
        if ai != bi {
            return ai.cmp(&bi);
        }
        return ar[i].cmp(&br[i]);
    }
    ar.len().cmp(&br.len())
}

/// Whether a plain scalar `text` would read back as something other than a string (yaml.v2's
/// YAML 1.1 resolver), so it must be quoted.
fn resolves_to_other(text: &str) -> bool {
    const SPECIAL: [&str; 31] = [
        "", "~", "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE", "n",
        "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE", ".inf", ".Inf", ".INF", ".nan",
    ];
    if SPECIAL.contains(&text)
        || matches!(text, "-.inf" | "-.Inf" | "-.INF" | "+.inf" | "+.Inf" | "+.INF" | ".NaN" | ".NAN")
    {
        return true;
    }
    let first = text.chars().next().unwrap_or(' ');
    if !(first.is_ascii_digit() || matches!(first, '-' | '+' | '.')) {
        return false;
    }
    if is_timestamp(text) {
        return true;
    }
    let plain: String = text.chars().filter(|c| *c != '_').collect();
    let unsigned = plain.trim_start_matches(['-', '+']);
    let lower = unsigned.to_ascii_lowercase();
    if let Some(hex) = lower.strip_prefix("0x") {
        return !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit());
    }
    if let Some(bin) = lower.strip_prefix("0b") {
        return !bin.is_empty() && bin.chars().all(|c| c == '0' || c == '1');
    }
    if !unsigned.is_empty() && unsigned.chars().all(|c| c.is_ascii_digit()) {
        return true;
    }
    // Base-60 numbers (`1:30`) are floats/ints in YAML 1.1.
    if unsigned.contains(':') && unsigned.split(':').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit())) {
        return true;
    }
    unsigned.parse::<f64>().is_ok() && !lower.contains("inf") && !lower.contains("nan")
}

/// yaml.v2's timestamps (`parseTimestamp`): `2006-1-2`, then `T`/`t` and `15:4:5` with an
/// optional fraction and a zone (`Z`, `±07:00`), or a space and the time without a zone.
fn is_timestamp(text: &str) -> bool {
    fn number(text: &str, min: usize, max: usize, range: std::ops::RangeInclusive<u32>) -> Option<(u32, &str)> {
        let digits = text.bytes().take(max).take_while(u8::is_ascii_digit).count();
        if digits < min {
            return None;
        }
        let value: u32 = text[..digits].parse().ok()?;
        range.contains(&value).then_some((value, &text[digits..]))
    }
    let date = || -> Option<&str> {
        let (year, rest) = number(text, 4, 4, 0..=9999)?;
        let (month, rest) = number(rest.strip_prefix('-')?, 1, 2, 1..=12)?;
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let days = match month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        let (_, rest) = number(rest.strip_prefix('-')?, 1, 2, 1..=days)?;
        Some(rest)
    };
    fn time(rest: &str) -> Option<&str> {
        let (_, rest) = number(rest, 1, 2, 0..=23)?;
        let (_, rest) = number(rest.strip_prefix(':')?, 1, 2, 0..=59)?;
        let (_, mut rest) = number(rest.strip_prefix(':')?, 1, 2, 0..=59)?;
        if let Some(fraction) = rest.strip_prefix('.') {
            let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 || digits > 9 {
                return None;
            }
            rest = &fraction[digits..];
        }
        Some(rest)
    }
    let Some(rest) = date() else { return false };
    if rest.is_empty() {
        return true;
    }
    if let Some(clock) = rest.strip_prefix(' ') {
        return time(clock) == Some("");
    }
    let Some(clock) = rest.strip_prefix(['T', 't']) else { return false };
    match time(clock) {
        Some("Z") => true,
        Some(zone) => {
            let zone = zone.strip_prefix(['+', '-']).unwrap_or("x");
            number(zone, 2, 2, 0..=99)
                .and_then(|(_, r)| number(r.strip_prefix(':')?, 2, 2, 0..=99))
                .is_some_and(|(_, r)| r.is_empty())
        }
        None => false,
    }
}

enum Style {
    Plain,
    Single,
    Double,
}

/// libyaml's `is_printable` (a tab is not): any other character forces double quotes.
fn printable(c: char) -> bool {
    matches!(c, '\n' | '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{d7ff}')
        || (('\u{e000}'..='\u{fffd}').contains(&c) && c != '\u{feff}')
}

/// Whether libyaml may write `text` (with line breaks) as a literal block: not with a space
/// before a break or at the end, nor with a character it cannot print.
fn block_allowed(text: &str) -> bool {
    !text.ends_with(' ') && !text.contains(" \n") && text.chars().all(printable)
}

/// libyaml's analysis: which styles can hold `text` in a block context.
fn style_for(text: &str, is_key: bool) -> Style {
    if resolves_to_other(text) {
        return Style::Double;
    }
    if text.chars().any(|c| c != '\n' && !printable(c)) {
        return Style::Double;
    }
    let chars: Vec<char> = text.chars().collect();
    let first = chars[0];
    let mut plain = true;
    if text.starts_with("---") || text.starts_with("...") {
        plain = false;
    }
    if "#,[]{}&*!|>'\"%@`".contains(first) {
        plain = false;
    }
    let followed_by_space = |i: usize| chars.get(i + 1).is_none_or(|c| *c == ' ' || *c == '\t');
    if matches!(first, '?' | ':' | '-') && followed_by_space(0) {
        plain = false;
    }
    for (i, c) in chars.iter().enumerate() {
        if *c == ':' && followed_by_space(i) {
            plain = false;
        }
        if *c == '#' && i > 0 && matches!(chars[i - 1], ' ' | '\t') {
            plain = false;
        }
        if is_key && ",?[]{}".contains(*c) {
            plain = false;
        }
    }
    if matches!(first, ' ' | '\t') || matches!(chars[chars.len() - 1], ' ' | '\t') {
        plain = false;
    }
    if text.contains('\t') {
        // A tab is printable, but plain scalars with tabs are avoided by libyaml's writer.
        plain = plain && !text.contains(" \t");
    }
    if plain { Style::Plain } else { Style::Single }
}

/// Writes `text` with spaces that may break past the width: a break continues at `indent`.
fn folded(text: &str, column: usize, indent: usize) -> String {
    let mut out = String::new();
    let mut col = column;
    let chars: Vec<char> = text.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if *c == ' ' && col > WIDTH && i > 0 && chars[i - 1] != ' ' && chars.get(i + 1).is_some_and(|n| *n != ' ') {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            col = indent;
            continue;
        }
        out.push(*c);
        col += 1;
    }
    out
}

/// libyaml's escape for a character a double-quoted scalar cannot hold as it is.
fn escaped(c: char) -> Option<String> {
    Some(match c {
        '"' => "\\\"".into(),
        '\\' => "\\\\".into(),
        '\n' => "\\n".into(),
        '\t' => "\\t".into(),
        '\r' => "\\r".into(),
        '\0' => "\\0".into(),
        '\u{7}' => "\\a".into(),
        '\u{8}' => "\\b".into(),
        '\u{b}' => "\\v".into(),
        '\u{c}' => "\\f".into(),
        '\u{1b}' => "\\e".into(),
        '\u{85}' => "\\N".into(),
        '\u{2028}' => "\\L".into(),
        '\u{2029}' => "\\P".into(),
        c if !printable(c) => match c as u32 {
            code @ ..=0xff => format!("\\x{code:02X}"),
            code @ ..=0xffff => format!("\\u{code:04X}"),
            code => format!("\\U{code:08X}"),
        },
        _ => return None,
    })
}

/// A double-quoted scalar; outside keys (`breaks`: its column and continuation indent) it
/// breaks at a space past the width as libyaml does, a following space kept by a `\`.
fn double_quoted(text: &str, breaks: Option<(usize, usize)>) -> String {
    let mut out = String::from("\"");
    let mut column = breaks.map_or(0, |(column, _)| column) + 1;
    let chars: Vec<char> = text.chars().collect();
    let mut after_space = false;
    for (i, c) in chars.iter().enumerate() {
        if let Some(escape) = escaped(*c) {
            column += escape.chars().count();
            out.push_str(&escape);
            after_space = false;
        } else if *c == ' ' {
            match breaks {
                Some((_, indent)) if !after_space && column > WIDTH && i > 0 && i + 1 < chars.len() => {
                    out.push('\n');
                    out.push_str(&" ".repeat(indent));
                    column = indent;
                    if chars[i + 1] == ' ' {
                        out.push('\\');
                        column += 1;
                    }
                }
                _ => {
                    out.push(' ');
                    column += 1;
                }
            }
            after_space = true;
        } else {
            out.push(*c);
            column += 1;
            after_space = false;
        }
    }
    out.push('"');
    out
}

/// A scalar at `column` (where it starts), continuing lines at `indent`.
fn scalar(value: &Value, column: usize, indent: usize) -> Result<String, String> {
    Ok(match value {
        Value::Invalid | Value::Nil => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) | Value::Int64(i) => i.to_string(),
        // Through JSON: whole floats become integers; others keep Go's shortest form.
        Value::Float(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e21 => format!("{f}"),
        Value::Float(f) if f.is_finite() => gofmt::float(*f),
        Value::Float(f) => return Err(format!("json: unsupported value: {}", gofmt::float(*f))),
        Value::String(s) => string_scalar(s, column, indent, false),
        Value::List(l) if l.is_empty() => "[]".into(),
        Value::Map(m) if m.is_empty() => "{}".into(),
        Value::Object(o) => string_scalar(&o.print(), column, indent, false),
        _ => unreachable!("collections are written as blocks"),
    })
}

fn string_scalar(text: &str, column: usize, indent: usize, is_key: bool) -> String {
    if text.contains('\n') && !is_key {
        return if block_allowed(text) { literal(text, indent) } else { double_quoted(text, Some((column, indent))) };
    }
    if text.is_empty() {
        return "\"\"".into();
    }
    match style_for(text, is_key) {
        Style::Plain => {
            if is_key {
                text.to_owned()
            } else {
                folded(text, column, indent)
            }
        }
        Style::Single => {
            let inner = format!("'{}'", text.replace('\'', "''"));
            if is_key { inner } else { folded(&inner, column, indent) }
        }
        Style::Double => double_quoted(text, (!is_key).then_some((column, indent))),
    }
}

/// A literal block (`|`, `|-`, `|+`, with an indentation indicator when the text starts with a
/// space), its lines at `indent`.
fn literal(text: &str, indent: usize) -> String {
    let chomp = if !text.ends_with('\n') {
        "-"
    } else if text.ends_with("\n\n") {
        "+"
    } else {
        ""
    };
    let indicator = if text.starts_with(' ') || text.starts_with('\n') { "2" } else { "" };
    let mut out = format!("|{indicator}{chomp}");
    let body = text.strip_suffix('\n').unwrap_or(text);
    let pad = " ".repeat(indent);
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            out.push_str(&pad);
            out.push_str(line);
        }
    }
    out
}

fn block_map(value: &Value, indent: usize, indent_lists: bool, out: &mut String) -> Result<(), String> {
    let Value::Map(map) = value else { unreachable!("a map") };
    let mut entries = map.entries();
    entries.sort_by(|(a, _), (b, _)| key_order(a, b));
    let pad = " ".repeat(indent);
    for (key, item) in entries {
        let key_text = if key.is_empty() { "\"\"".to_owned() } else { string_scalar(&key, indent, indent, true) };
        out.push_str(&pad);
        out.push_str(&key_text);
        out.push(':');
        match &item {
            Value::Map(m) if !m.is_empty() => {
                out.push('\n');
                block_map(&item, indent + 2, indent_lists, out)?;
            }
            // Block lists under a key are not indented by yaml.v2 (and are by yaml.v3).
            Value::List(l) if !l.is_empty() => {
                out.push('\n');
                block_list(&item, if indent_lists { indent + 2 } else { indent }, indent_lists, out)?;
            }
            other => {
                let column = indent + key_text.chars().count() + 2;
                out.push(' ');
                out.push_str(&scalar(other, column, indent + 2)?);
                out.push('\n');
            }
        }
    }
    Ok(())
}

fn block_list(value: &Value, indent: usize, indent_lists: bool, out: &mut String) -> Result<(), String> {
    let Value::List(items) = value else { unreachable!("a list") };
    let pad = " ".repeat(indent);
    for item in items {
        out.push_str(&pad);
        out.push_str("- ");
        match item {
            Value::Map(m) if !m.is_empty() => {
                // The first key follows the dash; the others align with it.
                let mut nested = String::new();
                block_map(item, indent + 2, indent_lists, &mut nested)?;
                out.push_str(nested.trim_start_matches(' '));
            }
            Value::List(l) if !l.is_empty() => {
                let mut nested = String::new();
                block_list(item, indent + 2, indent_lists, &mut nested)?;
                out.push_str(nested.trim_start_matches(' '));
            }
            other => {
                out.push_str(&scalar(other, indent + 2, indent + 2)?);
                out.push('\n');
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(value: Value) -> String {
        to_yaml(&value).unwrap()
    }

    #[test]
    fn maps_lists_and_nesting_as_yaml_v2_writes_them() {
        let value = Value::map([
            ("name", Value::from("web")),
            ("ports", Value::List(vec![Value::map([("port", Value::Float(80.0)), ("name", Value::from("http"))])])),
            ("labels", Value::map([("app", Value::from("web")), ("tier", Value::from("front"))])),
            ("args", Value::List(vec![Value::from("--a"), Value::List(vec![Value::Int(1), Value::Int(2)])])),
            ("empty", Value::map(Vec::<(&str, Value)>::new())),
            ("none", Value::List(Vec::new())),
            ("null", Value::Nil),
            ("ratio", Value::Float(1.5)),
        ]);
        assert_eq!(
            yaml(value),
            "args:\n- --a\n- - 1\n  - 2\nempty: {}\nlabels:\n  app: web\n  tier: front\nname: web\nnone: []\n\"null\": null\nports:\n- name: http\n  port: 80\nratio: 1.5\n"
        );
    }

    #[test]
    fn strings_are_quoted_only_when_they_must_be() {
        let cases = [
            ("true", "\"true\""),
            ("1", "\"1\""),
            ("null", "\"null\""),
            ("y", "\"y\""),
            ("0x1F", "\"0x1F\""),
            ("1e3", "\"1e3\""),
            ("1:30", "\"1:30\""),
            ("", "\"\""),
            ("a: b", "'a: b'"),
            ("- x", "'- x'"),
            ("*star", "'*star'"),
            ("it's", "it's"),
            ("# no", "'# no'"),
            ("a #b", "'a #b'"),
            (" lead", "' lead'"),
            ("trail ", "'trail '"),
            ("1.2.3", "1.2.3"),
            ("v1", "v1"),
            ("http://x:80/a", "http://x:80/a"),
            ("tab\u{1}", "\"tab\\x01\""),
        ];
        for (text, expected) in cases {
            assert_eq!(yaml(Value::map([("k", Value::from(text))])), format!("k: {expected}\n"), "{text:?}");
        }
    }

    #[test]
    fn multi_line_strings_are_literal_blocks() {
        assert_eq!(yaml(Value::map([("k", Value::from("a\nb\n"))])), "k: |\n  a\n  b\n");
        assert_eq!(yaml(Value::map([("k", Value::from("a\nb"))])), "k: |-\n  a\n  b\n");
        assert_eq!(yaml(Value::map([("k", Value::from("a\n\n"))])), "k: |+\n  a\n\n");
        assert_eq!(yaml(Value::map([("k", Value::from("  a\nb"))])), "k: |2-\n    a\n  b\n");
    }

    #[test]
    fn long_strings_fold_at_spaces_past_80_columns() {
        let long = "word ".repeat(30).trim_end().to_owned();
        let out = yaml(Value::map([("description", Value::from(long.as_str()))]));
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines.len() > 1, "{out}");
        assert!(lines[1].starts_with("  word"), "continued at the value's indent: {out}");
        assert_eq!(out.replace("\n  ", " ").trim_end(), format!("description: {long}"), "only spaces became breaks");
    }

    #[test]
    fn keys_sort_with_numbers_by_value_and_symbols_first() {
        let value = Value::map([
            ("a10", Value::Int(1)),
            ("a2", Value::Int(1)),
            ("b", Value::Int(1)),
            ("_x", Value::Int(1)),
            ("A", Value::Int(1)),
        ]);
        assert_eq!(yaml(value), "_x: 1\nA: 1\na2: 1\na10: 1\nb: 1\n");
    }
}
