//! Go's builtin template functions (`and`/`or` are evaluated lazily by the executor).

use std::collections::HashMap;
use std::sync::Arc;

use super::Func;
use crate::gofmt;
use crate::value::Value;

fn func(f: impl Fn(Vec<Value>) -> Result<Value, String> + Send + Sync + 'static) -> Func {
    Arc::new(move |_, args| f(args))
}

pub(super) fn all() -> HashMap<String, Func> {
    let mut funcs: HashMap<String, Func> = HashMap::new();
    funcs.insert(
        "not".into(),
        func(|args| match args.as_slice() {
            [one] => Ok(Value::Bool(!one.truthy())),
            _ => Err(format!("wrong number of args for not: want 1 got {}", args.len())),
        }),
    );
    funcs.insert(
        "len".into(),
        func(|args| match args.as_slice() {
            [Value::String(s)] => Ok(Value::Int(s.len() as i64)),
            [Value::List(l)] => Ok(Value::Int(l.len() as i64)),
            [Value::Map(m)] => Ok(Value::Int(m.len() as i64)),
            [Value::Object(o)] if o.entries().is_some() => Ok(Value::Int(o.entries().map_or(0, |e| e.len()) as i64)),
            [Value::Invalid | Value::Nil] => Err("len of nil pointer".into()),
            [other] => Err(format!("len of type {}", other.type_name())),
            _ => Err(format!("wrong number of args for len: want 1 got {}", args.len())),
        }),
    );
    funcs.insert("index".into(), func(index));
    funcs.insert("print".into(), func(|args| Ok(Value::String(gofmt::sprint(&args)))));
    funcs.insert("println".into(), func(|args| Ok(Value::String(gofmt::sprintln(&args)))));
    funcs.insert(
        "printf".into(),
        func(|args| match args.split_first() {
            Some((Value::String(format), rest)) => Ok(Value::String(gofmt::sprintf(format, rest))),
            Some((other, _)) => Err(format!("wrong type for value; expected string; got {}", other.type_name())),
            None => Err("wrong number of args for printf: want at least 1 got 0".into()),
        }),
    );
    funcs.insert("eq".into(), func(eq));
    funcs.insert(
        "ne".into(),
        func(|args| match args.as_slice() {
            [a, b] => eq(vec![a.clone(), b.clone()]).map(|v| Value::Bool(!v.truthy())),
            _ => Err(format!("wrong number of args for ne: want 2 got {}", args.len())),
        }),
    );
    for (name, want) in [("lt", [true, false]), ("le", [true, true]), ("gt", [false, false]), ("ge", [false, true])] {
        let greater = !want[0];
        let or_equal = want[1];
        funcs.insert(
            name.into(),
            func(move |args| match args.as_slice() {
                [a, b] => {
                    let order = compare(a, b)?;
                    let result = match order {
                        std::cmp::Ordering::Equal => or_equal,
                        std::cmp::Ordering::Less => !greater,
                        std::cmp::Ordering::Greater => greater,
                    };
                    Ok(Value::Bool(result))
                }
                _ => Err(format!("wrong number of args for {name}: want 2 got {}", args.len())),
            }),
        );
    }
    funcs.insert("html".into(), func(|args| Ok(Value::String(html(&gofmt::sprint(&args))))));
    funcs.insert("js".into(), func(|args| Ok(Value::String(js(&gofmt::sprint(&args))))));
    funcs.insert("urlquery".into(), func(|args| Ok(Value::String(urlquery(&gofmt::sprint(&args))))));
    funcs
}

/// The comparable kinds of `eq`: same kind compares, different kinds are an error unless
/// either side is nil (then false).
fn eq(args: Vec<Value>) -> Result<Value, String> {
    let Some((first, others)) = args.split_first() else { return Err("missing argument for comparison".into()) };
    if others.is_empty() {
        return Err("missing argument for comparison".into());
    }
    for other in others {
        let equal = match (first, other) {
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (a, b) if a.as_integer().is_some() && b.as_integer().is_some() => a.as_integer() == b.as_integer(),
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (a, b) if a.is_nil() && b.is_nil() => true,
            (a, b) if a.is_nil() || b.is_nil() => false,
            (Value::List(_) | Value::Map(_), _) | (_, Value::List(_) | Value::Map(_)) => {
                return Err(format!(
                    "non-comparable types {}: {}, {}",
                    gofmt::print_value(first),
                    first.type_name(),
                    other.type_name()
                ));
            }
            _ => return Err("incompatible types for comparison".into()),
        };
        if equal {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

fn compare(a: &Value, b: &Value) -> Result<std::cmp::Ordering, String> {
    match (a, b) {
        (x, y) if x.as_integer().is_some() && y.as_integer().is_some() => Ok(x.as_integer().cmp(&y.as_integer())),
        (Value::Float(x), Value::Float(y)) => {
            x.partial_cmp(y).ok_or_else(|| "incompatible types for comparison".into())
        }
        (Value::String(x), Value::String(y)) => Ok(x.as_bytes().cmp(y.as_bytes())),
        (Value::Bool(_), Value::Bool(_)) | (Value::Invalid | Value::Nil, _) | (_, Value::Invalid | Value::Nil) => {
            Err("invalid type for comparison".into())
        }
        (Value::List(_) | Value::Map(_), _) | (_, Value::List(_) | Value::Map(_)) => {
            Err("invalid type for comparison".into())
        }
        _ => Err("incompatible types for comparison".into()),
    }
}

fn index(args: Vec<Value>) -> Result<Value, String> {
    let Some((item, indexes)) = args.split_first() else {
        return Err("wrong number of args for index: want at least 1 got 0".into());
    };
    let mut item = item.clone();
    for key in indexes {
        item = match (&item, key) {
            (Value::Invalid | Value::Nil, _) => return Err("index of untyped nil".into()),
            (Value::Map(map), Value::String(k)) => map.get(k).unwrap_or(Value::Nil),
            (Value::Map(_), Value::Invalid | Value::Nil) => Value::Nil,
            (Value::Map(_), other) => {
                return Err(format!("value has type {}; should be string", other.type_name()));
            }
            (Value::List(list), Value::Int(i) | Value::Int64(i)) => {
                let at = usize::try_from(*i)
                    .ok()
                    .filter(|i| *i < list.len())
                    .ok_or_else(|| format!("index out of range: {i}"))?;
                list[at].clone()
            }
            (Value::String(s), Value::Int(i) | Value::Int64(i)) => {
                let at = usize::try_from(*i)
                    .ok()
                    .filter(|i| *i < s.len())
                    .ok_or_else(|| format!("index out of range: {i}"))?;
                Value::Int(i64::from(s.as_bytes()[at]))
            }
            (Value::List(_) | Value::String(_), other) => {
                return Err(format!("cannot index slice/array with type {}", other.type_name()));
            }
            (other, _) => return Err(format!("can't index item of type {}", other.type_name())),
        };
    }
    Ok(item)
}

fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&#39;"),
            '"' => out.push_str("&#34;"),
            '\0' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

fn js(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
fn urlquery(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
