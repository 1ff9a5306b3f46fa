//! Go's `fmt` as templates print: `%v` of every value, `print`/`println` spacing, `printf`
//! verbs with Go's complaint forms (`%!d(float64=8080)`, `%!s(MISSING)`, `%!(EXTRA ...)`).

use crate::value::Value;

/// `%v` of a float64: Go's `strconv.FormatFloat(f, 'g', -1, 64)`: the shortest digits that
/// read back, in e-notation when the decimal exponent is below -4 or at least 6 (the shortest
/// form fixes that threshold at 6).
pub fn float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    // Rust's `{:e}` is the shortest round-trip form: `d.ddde±X`.
    let scientific = format!("{:e}", f.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if f < 0.0 { "-" } else { "" };
    if !(-4..6).contains(&exponent) {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() { String::new() } else { format!(".{rest}") };
        let esign = if exponent < 0 { '-' } else { '+' };
        return format!("{sign}{first}{fraction}e{esign}{:02}", exponent.abs());
    }
    if exponent < 0 {
        let zeros = "0".repeat((-exponent - 1) as usize);
        return format!("{sign}0.{zeros}{digits}");
    }
    let point = (exponent + 1) as usize;
    if digits.len() <= point {
        format!("{sign}{digits}{}", "0".repeat(point - digits.len()))
    } else {
        format!("{sign}{}.{}", &digits[..point], &digits[point..])
    }
}

/// `{{ x }}` and `%v`: top-level nil is `<no value>` (a pipeline's nil), nested nil `<nil>`.
pub fn print_value(value: &Value) -> String {
    match value {
        Value::Invalid => "<no value>".into(),
        other => nested(other),
    }
}

fn nested(value: &Value) -> String {
    nested_at(value, 0)
}

/// A map that contains itself is printed to this depth, then `...`.
const MAX_PRINT_DEPTH: usize = 100;

fn nested_at(value: &Value, depth: usize) -> String {
    if depth > MAX_PRINT_DEPTH {
        return "...".into();
    }
    match value {
        Value::Invalid | Value::Nil => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) | Value::Int64(i) => i.to_string(),
        Value::Float(f) => float(*f),
        Value::String(s) => s.clone(),
        Value::List(items) => {
            format!("[{}]", items.iter().map(|v| nested_at(v, depth + 1)).collect::<Vec<_>>().join(" "))
        }
        Value::Object(object) => object.print(),
        Value::Map(map) => format!(
            "map[{}]",
            map.entries().iter().map(|(k, v)| format!("{k}:{}", nested_at(v, depth + 1))).collect::<Vec<_>>().join(" ")
        ),
    }
}

/// `fmt.Sprint`: a space between two operands only when neither is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, arg) in args.iter().enumerate() {
        let is_string = matches!(arg, Value::String(_));
        if i > 0 && !is_string && !matches!(args[i - 1], Value::String(_)) {
            out.push(' ');
        }
        out.push_str(&nested_top(arg));
    }
    out
}

/// `fmt.Sprintln`: spaces always, and a newline.
pub fn sprintln(args: &[Value]) -> String {
    let mut out = args.iter().map(nested_top).collect::<Vec<_>>().join(" ");
    out.push('\n');
    out
}

/// A value as an operand of Sprint/Sprintf (nil is `<nil>` there).
fn nested_top(value: &Value) -> String {
    nested(value)
}

/// Go's `strconv.Quote`.
/// Go's `strconv.IsPrint`, as far as Rust's std can tell: not a control, not a space other
/// than U+0020, not a format character, private use or noncharacter (unassigned code points,
/// which Go also escapes, pass here).
fn go_printable(c: char) -> bool {
    let code = c as u32;
    !(c.is_control()
        || (c.is_whitespace() && c != ' ')
        || matches!(code, 0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x180e | 0x200b..=0x200f | 0x202a..=0x202e)
        || matches!(code, 0x2060..=0x2064 | 0x2066..=0x206f | 0xfeff | 0xfff9..=0xfffb | 0xe000..=0xf8ff)
        || matches!(code, 0xfffe | 0xffff | 0xf0000..)
        || (code & 0xfffe) == 0xfffe)
}

pub fn quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if !go_printable(c) => {
                if (c as u32) < 0x80 {
                    out.push_str(&format!("\\x{:02x}", c as u32));
                } else if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One `%` directive's flags, width and precision.
#[derive(Default)]
struct Spec {
    minus: bool,
    plus: bool,
    zero: bool,
    space: bool,
    sharp: bool,
    width: Option<usize>,
    precision: Option<usize>,
}

impl Spec {
    fn pad(&self, text: String) -> String {
        let Some(width) = self.width else { return text };
        let len = text.chars().count();
        if len >= width {
            return text;
        }
        let fill = width - len;
        if self.minus {
            format!("{text}{}", " ".repeat(fill))
        } else if self.zero {
            // Zeros go after a sign.
            let (sign, digits) = match text.strip_prefix(['-', '+']) {
                Some(rest) => (&text[..1], rest),
                None => ("", text.as_str()),
            };
            format!("{sign}{}{digits}", "0".repeat(fill))
        } else {
            format!("{}{text}", " ".repeat(fill))
        }
    }
}

/// `%!verb(type=value)`: Go's answer to a verb that does not fit the operand.
fn bad_verb(verb: char, arg: &Value) -> String {
    match arg {
        Value::Invalid | Value::Nil => format!("%!{verb}(<nil>)"),
        other => format!("%!{verb}({}={})", other.type_name(), nested(other)),
    }
}

fn format_one(verb: char, spec: &Spec, arg: &Value) -> String {
    if let (Value::Int64(i), false) = (arg, verb == 'T') {
        return format_one(verb, spec, &Value::Int(*i));
    }
    let signed = |n: String, negative: bool| {
        if negative {
            n
        } else if spec.plus {
            format!("+{n}")
        } else if spec.space {
            format!(" {n}")
        } else {
            n
        }
    };
    let text = match (verb, arg) {
        ('v' | 'g', Value::Float(f)) => match spec.precision {
            None => signed(float(*f), *f < 0.0),
            Some(p) => signed(general(*f, p), *f < 0.0),
        },
        ('v', Value::Int(i)) => signed(i.to_string(), *i < 0),
        ('v', other) => nested(other),
        ('s', Value::String(s)) => match spec.precision {
            Some(p) => s.chars().take(p).collect(),
            None => s.clone(),
        },
        ('s', Value::List(_) | Value::Map(_)) => nested(arg),
        ('q', Value::String(s)) => quote(s),
        ('q', Value::Int(i)) => {
            let c = char::from_u32(*i as u32).unwrap_or('\u{fffd}');
            format!("'{}'", quote(&c.to_string()).trim_matches('"'))
        }
        ('d', Value::Int(i)) => signed(i.to_string(), *i < 0),
        ('t', Value::Bool(b)) => b.to_string(),
        ('x', Value::Int(i)) => {
            let hex = format!("{:x}", i.unsigned_abs());
            let hex = if spec.sharp { format!("0x{hex}") } else { hex };
            if *i < 0 { format!("-{hex}") } else { hex }
        }
        ('X', Value::Int(i)) => {
            let hex = format!("{:X}", i.unsigned_abs());
            if *i < 0 { format!("-{hex}") } else { hex }
        }
        ('x', Value::String(s)) => s.bytes().map(|b| format!("{b:02x}")).collect(),
        ('X', Value::String(s)) => s.bytes().map(|b| format!("{b:02X}")).collect(),
        ('o', Value::Int(i)) => format!("{:o}", i),
        ('b', Value::Int(i)) => format!("{:b}", i),
        ('c', Value::Int(i)) => char::from_u32(*i as u32).map(String::from).unwrap_or_default(),
        ('U', Value::Int(i)) => format!("U+{:04X}", i),
        ('f' | 'F', Value::Float(f)) => signed(format!("{:.*}", spec.precision.unwrap_or(6), f), *f < 0.0),
        ('e', Value::Float(f)) => {
            let text = format!("{:.*e}", spec.precision.unwrap_or(6), f);
            signed(go_exponent(&text), *f < 0.0)
        }
        ('T', Value::Invalid | Value::Nil) => "<nil>".to_owned(),
        ('T', other) => other.type_name().to_owned(),
        (verb, other) => return bad_verb(verb, other),
    };
    spec.pad(text)
}

/// Go's `%.Ng` (`strconv.FormatFloat(f, 'g', N, 64)`): N significant digits (trailing zeros
/// dropped), in exponent form when the exponent is below -4 or at least the digits kept.
fn general(f: f64, precision: usize) -> String {
    if !f.is_finite() {
        return float(f);
    }
    let precision = precision.max(1);
    let scientific = format!("{:.*e}", precision - 1, f.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i64 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let (count, point) = (digits.len() as i64, exponent + 1);
    let mut shown = precision as i64;
    let limit = if shown > count && count >= point { count } else { shown };
    let sign = if f < 0.0 { "-" } else { "" };
    if exponent < -4 || exponent >= limit {
        shown = shown.min(count);
        let text = format!("{:.*e}", (shown - 1).max(0) as usize, f.abs());
        return format!("{sign}{}", go_exponent(&text));
    }
    if shown > point {
        shown = count;
    }
    format!("{sign}{:.*}", (shown - point).max(0) as usize, f.abs())
}

/// Rust's `1.5e3` as Go's `1.5e+03`.
fn go_exponent(text: &str) -> String {
    let Some((mantissa, exponent)) = text.split_once('e') else { return text.to_owned() };
    let (sign, digits) = match exponent.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', exponent),
    };
    format!("{mantissa}e{sign}{digits:0>2}")
}

/// `fmt.Sprintf`.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut next = 0;
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&flag) = chars.peek() {
            match flag {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '0' => spec.zero = true,
                ' ' => spec.space = true,
                '#' => spec.sharp = true,
                _ => break,
            }
            chars.next();
        }
        let number = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| {
            let mut n: Option<usize> = None;
            while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                n = Some(n.unwrap_or(0) * 10 + d as usize);
                chars.next();
            }
            n
        };
        spec.width = number(&mut chars);
        if chars.peek() == Some(&'.') {
            chars.next();
            spec.precision = Some(number(&mut chars).unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        match args.get(next) {
            Some(arg) => out.push_str(&format_one(verb, &spec, arg)),
            None => out.push_str(&format!("%!{verb}(MISSING)")),
        }
        next += 1;
    }
    if next < args.len() {
        let extra: Vec<String> = args[next..]
            .iter()
            .map(|a| match a {
                Value::Invalid | Value::Nil => "<nil>".to_owned(),
                other => format!("{}={}", other.type_name(), nested(other)),
            })
            .collect();
        out.push_str(&format!("%!(EXTRA {})", extra.join(", ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_go_prints_them() {
        // helm-rendering.md §7, "Printing".
        let cases = [
            (3.0, "3"),
            (1.5, "1.5"),
            (100000.0, "100000"),
            (999999.0, "999999"),
            (1000000.0, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (123456789.0, "1.23456789e+08"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1e20, "1e+20"),
            (-2.5, "-2.5"),
            (0.1 + 0.2, "0.30000000000000004"),
        ];
        for (f, expected) in cases {
            assert_eq!(float(f), expected, "{f}");
        }
    }

    #[test]
    fn containers_and_nil() {
        let map = Value::map([("b", Value::Int(2)), ("a", Value::List(vec![Value::from("x"), Value::Nil]))]);
        assert_eq!(print_value(&map), "map[a:[x <nil>] b:2]");
        assert_eq!(print_value(&Value::Invalid), "<no value>");
    }

    #[test]
    fn sprint_spaces_only_between_non_strings() {
        assert_eq!(sprint(&[Value::Int(1), Value::Int(2), Value::from("a"), Value::Int(3)]), "1 2a3");
        assert_eq!(sprintln(&[Value::from("a"), Value::Int(1)]), "a 1\n");
    }

    #[test]
    fn printf_verbs_and_complaints() {
        assert_eq!(sprintf("%s-%d-%v", &[Value::from("a"), Value::Int(3), Value::Float(1e6)]), "a-3-1e+06");
        assert_eq!(
            sprintf("%05d|%-4s|%.2f", &[Value::Int(42), Value::from("x"), Value::Float(1.23456)]),
            "00042|x   |1.23"
        );
        assert_eq!(sprintf("%q", &[Value::from("a\"b\n")]), "\"a\\\"b\\n\"");
        assert_eq!(sprintf("%d", &[Value::Float(8080.0)]), "%!d(float64=8080)");
        assert_eq!(sprintf("%s", &[Value::Int(3)]), "%!s(int=3)");
        assert_eq!(sprintf("%s %s", &[Value::from("a")]), "a %!s(MISSING)");
        assert_eq!(sprintf("%s", &[Value::from("a"), Value::Int(1)]), "a%!(EXTRA int=1)");
        assert_eq!(sprintf("%s", &[Value::Nil]), "%!s(<nil>)");
        assert_eq!(sprintf("%v %T %%", &[Value::Nil, Value::Float(1.0)]), "<nil> float64 %");
        assert_eq!(sprintf("%x %X", &[Value::Int(255), Value::from("hi")]), "ff 6869");
        assert_eq!(sprintf("%e", &[Value::Float(1500.0)]), "1.500000e+03");
    }
}
