//! Numbers the way Sprig converts them (spf13/cast v1.10.0): `int`, `int64`, `float64`, `atoi`,
//! and the int64 arithmetic (`add`, `sub`, `mul`, `div`, `mod`, `max`, `min`), the float
//! arithmetic (`addf`, ...), `floor`/`ceil`/`round`, `until`/`untilStep`/`seq`.

use crate::gofmt;
use crate::template::Func;
use crate::value::Value;

use super::{arity, int, plain};

/// cast.ToInt64: strings with base prefixes (`0x10`, a leading-0 octal), decimals truncated,
/// floats truncated, bools 1/0; anything else 0.
pub(crate) fn to_int64(value: &Value) -> i64 {
    match value {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Float(f) => f.trunc() as i64,
        Value::Bool(b) => i64::from(*b),
        Value::String(s) => parse_int(s.trim()),
        _ => 0,
    }
}

fn parse_int(text: &str) -> i64 {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    let lower = clean.to_ascii_lowercase();
    let parsed = if let Some(hex) = lower.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()
    } else if let Some(bin) = lower.strip_prefix("0b") {
        i64::from_str_radix(bin, 2).ok()
    } else if let Some(oct) = lower.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()
    } else if lower.len() > 1 && lower.starts_with('0') && lower.bytes().all(|b| b.is_ascii_digit()) {
        i64::from_str_radix(&lower[1..], 8).ok()
    } else {
        lower.parse::<i64>().ok().or_else(|| lower.parse::<f64>().ok().map(|f| f.trunc() as i64))
    };
    let n = parsed.unwrap_or(0);
    if negative { -n } else { n }
}

/// cast.ToFloat64.
pub(crate) fn to_float(value: &Value) -> f64 {
    match value {
        Value::Int(i) | Value::Int64(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::String(s) => s.trim().parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

fn fold(args: &[Value], start: Option<i64>, op: fn(i64, i64) -> Option<i64>) -> Result<Value, String> {
    let mut iter = args.iter().map(to_int64);
    let mut total = match start {
        Some(s) => s,
        None => iter.next().unwrap_or(0),
    };
    for n in iter {
        total = op(total, n).ok_or("integer divide by zero")?;
    }
    Ok(Value::Int64(total))
}

fn two(name: &'static str, args: &[Value], op: fn(i64, i64) -> Option<i64>) -> Result<Value, String> {
    arity(name, args, 2)?;
    op(to_int64(&args[0]), to_int64(&args[1])).map(Value::Int64).ok_or_else(|| "integer divide by zero".into())
}

/// Sprig's float functions go through decimal arithmetic; f64 with the same rounding of the
/// result is what templates see.
fn float_fold(args: &[Value], op: fn(f64, f64) -> f64) -> Value {
    let mut iter = args.iter().map(to_float);
    let first = iter.next().unwrap_or(0.0);
    Value::Float(iter.fold(first, op))
}

pub(super) fn all() -> Vec<(&'static str, Func)> {
    vec![
        ("int", plain(|a| arity("int", &a, 1).map(|()| Value::Int(to_int64(&a[0]))))),
        ("int64", plain(|a| arity("int64", &a, 1).map(|()| Value::Int64(to_int64(&a[0]))))),
        ("float64", plain(|a| arity("float64", &a, 1).map(|()| Value::Float(to_float(&a[0]))))),
        (
            "atoi",
            plain(|a| {
                arity("atoi", &a, 1)?;
                Ok(Value::Int(super::string(&a[0])?.trim().parse::<i64>().unwrap_or(0)))
            }),
        ),
        ("add", plain(|a| fold(&a, Some(0), |x, y| Some(x.wrapping_add(y))))),
        ("add1", plain(|a| arity("add1", &a, 1).map(|()| Value::Int64(to_int64(&a[0]).wrapping_add(1))))),
        ("sub", plain(|a| two("sub", &a, |x, y| Some(x.wrapping_sub(y))))),
        ("mul", plain(|a| fold(&a, Some(1), |x, y| Some(x.wrapping_mul(y))))),
        ("div", plain(|a| two("div", &a, |x, y| x.checked_div(y)))),
        ("mod", plain(|a| two("mod", &a, |x, y| x.checked_rem(y)))),
        ("max", plain(|a| fold(&a, None, |x, y| Some(x.max(y))))),
        ("biggest", plain(|a| fold(&a, None, |x, y| Some(x.max(y))))),
        ("min", plain(|a| fold(&a, None, |x, y| Some(x.min(y))))),
        ("addf", plain(|a| Ok(float_fold(&a, |x, y| x + y)))),
        ("add1f", plain(|a| arity("add1f", &a, 1).map(|()| Value::Float(to_float(&a[0]) + 1.0)))),
        ("subf", plain(|a| Ok(float_fold(&a, |x, y| x - y)))),
        ("mulf", plain(|a| Ok(float_fold(&a, |x, y| x * y)))),
        ("divf", plain(|a| Ok(float_fold(&a, |x, y| x / y)))),
        ("maxf", plain(|a| Ok(float_fold(&a, f64::max)))),
        ("minf", plain(|a| Ok(float_fold(&a, f64::min)))),
        ("floor", plain(|a| arity("floor", &a, 1).map(|()| Value::Float(to_float(&a[0]).floor())))),
        ("ceil", plain(|a| arity("ceil", &a, 1).map(|()| Value::Float(to_float(&a[0]).ceil())))),
        (
            "round",
            plain(|a| {
                if a.is_empty() || a.len() > 3 {
                    return Err(format!("wrong number of args for round: want 2 got {}", a.len()));
                }
                let places = a.get(1).map_or(0, to_int64) as i32;
                let half = a.get(2).map_or(0.5, to_float);
                let scale = 10f64.powi(places);
                let scaled = to_float(&a[0]) * scale;
                let rounded =
                    if scaled.fract().abs() >= half { scaled.trunc() + scaled.signum() } else { scaled.trunc() };
                Ok(Value::Float(rounded / scale))
            }),
        ),
        (
            "until",
            plain(|a| {
                arity("until", &a, 1)?;
                let n = int(&a[0])?;
                let items: Vec<Value> =
                    if n >= 0 { (0..n).map(Value::Int).collect() } else { (n + 1..=0).rev().map(Value::Int).collect() };
                Ok(Value::List(items))
            }),
        ),
        (
            "untilStep",
            plain(|a| {
                arity("untilStep", &a, 3)?;
                let (start, stop, step) = (int(&a[0])?, int(&a[1])?, int(&a[2])?);
                let mut items = Vec::new();
                let mut i = start;
                while (step > 0 && i < stop) || (step < 0 && i > stop) {
                    items.push(Value::Int(i));
                    if items.len() > 10_000_000 {
                        return Err("untilStep: more than 10,000,000 numbers".into());
                    }
                    i += step;
                }
                Ok(Value::List(items))
            }),
        ),
        (
            "seq",
            plain(|a| {
                let ints: Vec<i64> = a.iter().map(to_int64).collect();
                let (start, step, end) = match ints.as_slice() {
                    [end] => (1, if *end >= 1 { 1 } else { -1 }, *end),
                    [start, end] => (*start, if end >= start { 1 } else { -1 }, *end),
                    [start, step, end] => (*start, *step, *end),
                    _ => return Ok(Value::String(String::new())),
                };
                if step == 0 || (step > 0 && start > end) || (step < 0 && start < end) {
                    return Ok(Value::String(String::new()));
                }
                let mut out = Vec::new();
                let mut i = start;
                while (step > 0 && i <= end) || (step < 0 && i >= end) {
                    out.push(i.to_string());
                    if out.len() > 10_000_000 {
                        return Err("seq: more than 10,000,000 numbers".into());
                    }
                    i += step;
                }
                Ok(Value::String(out.join(" ")))
            }),
        ),
        (
            "toDecimal",
            plain(|a| {
                arity("toDecimal", &a, 1)?;
                let text = gofmt::print_value(&a[0]);
                Ok(Value::Int64(i64::from_str_radix(&text, 8).unwrap_or(0)))
            }),
        ),
    ]
}
