//! Sprig's defaults and logic, dicts, lists and reflection.

use crate::template::Func;
use crate::value::{Map, Value};

use super::strings::to_string;
use super::{arity, empty, int, list, map, plain, string};

/// Deep-merges `source` into `destination`: with `overwrite`, later values win (falsy ones
/// too); without, a source value fills only a missing or empty destination value.
fn merge_into(destination: &Map, source: &Map, overwrite: bool, depth: usize) {
    if depth > 1000 {
        return;
    }
    for (key, value) in source.entries() {
        match (destination.get(&key), &value) {
            (Some(Value::Map(d)), Value::Map(s)) if !d.same(s) => merge_into(&d, s, overwrite, depth + 1),
            (Some(existing), _) if !overwrite && !empty(&existing) => {}
            _ => destination.insert(key, value),
        }
    }
}

/// Go's `reflect.DeepEqual`: types count (int 3 is not float64 3).
fn deep_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) | (Value::Int64(x), Value::Int64(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::List(x), Value::List(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| deep_equal(a, b)),
        (Value::Map(x), Value::Map(y)) => {
            x.same(y) || {
                let (ex, ey) = (x.entries(), y.entries());
                ex.len() == ey.len() && ex.iter().zip(&ey).all(|((ka, va), (kb, vb))| ka == kb && deep_equal(va, vb))
            }
        }
        (Value::Invalid | Value::Nil, Value::Invalid | Value::Nil) => true,
        (x, y) => std::mem::discriminant(x) == std::mem::discriminant(y) && x == y,
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Invalid | Value::Nil => "invalid",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Int64(_) => "int64",
        Value::Float(_) => "float64",
        Value::String(_) => "string",
        Value::List(_) => "slice",
        Value::Map(_) => "map",
        Value::Object(_) => "ptr",
    }
}

/// A list argument of the plain list functions (a panic in Sprig, an error here), refused
/// with Sprig's words and the value's reflect kind.
fn items(name: &str, value: &Value) -> Result<Vec<Value>, String> {
    match value {
        Value::List(items) => Ok(items.clone()),
        other => Err(match name {
            "append" | "push" => format!("Cannot push on type {}", kind_of(other)),
            "prepend" | "compact" => format!("Cannot {name} on type {}", kind_of(other)),
            "slice" => format!("list should be type of slice or array but {}", kind_of(other)),
            _ => format!("Cannot find {name} on type {}", kind_of(other)),
        }),
    }
}

/// `merge`/`mergeOverwrite`: the sources into the first dict, which is changed and returned.
fn merge_function(name: &'static str, overwrite: bool) -> Func {
    std::sync::Arc::new(move |_, a| {
        let Some((destination, sources)) = a.split_first() else {
            return Err(format!("wrong number of args for {name}"));
        };
        let target = map(destination)?;
        for source in sources {
            merge_into(target, map(source)?, overwrite, 0);
        }
        Ok(destination.clone())
    })
}

pub(super) fn all() -> Vec<(&'static str, Func)> {
    vec![
        (
            "default",
            plain(|a| {
                arity("default", &a, 2)?;
                Ok(if empty(&a[1]) { a[0].clone() } else { a[1].clone() })
            }),
        ),
        ("empty", plain(|a| arity("empty", &a, 1).map(|()| Value::Bool(empty(&a[0]))))),
        ("coalesce", plain(|a| Ok(a.iter().find(|v| !empty(v)).cloned().unwrap_or(Value::Nil)))),
        ("all", plain(|a| Ok(Value::Bool(a.iter().all(|v| !empty(v)))))),
        ("any", plain(|a| Ok(Value::Bool(a.iter().any(|v| !empty(v)))))),
        (
            "compact",
            plain(|a| {
                arity("compact", &a, 1)?;
                Ok(Value::List(items("compact", &a[0])?.into_iter().filter(|v| !empty(v)).collect()))
            }),
        ),
        (
            "ternary",
            plain(|a| {
                arity("ternary", &a, 3)?;
                match &a[2] {
                    Value::Bool(b) => Ok(if *b { a[0].clone() } else { a[1].clone() }),
                    other => Err(format!("wrong type for value; expected bool; got {}", other.type_name())),
                }
            }),
        ),
        (
            "dict",
            plain(|a| {
                let mut pairs = a.chunks(2);
                let map = Map::default();
                for pair in pairs.by_ref() {
                    let value = pair.get(1).cloned().unwrap_or_else(|| Value::from(""));
                    map.insert(to_string(&pair[0]), value);
                }
                Ok(Value::Map(map))
            }),
        ),
        (
            "get",
            plain(|a| {
                arity("get", &a, 2)?;
                Ok(map(&a[0])?.get(string(&a[1])?).unwrap_or_else(|| Value::from("")))
            }),
        ),
        (
            "set",
            plain(|a| {
                arity("set", &a, 3)?;
                map(&a[0])?.insert(string(&a[1])?, a[2].clone());
                Ok(a[0].clone())
            }),
        ),
        (
            "unset",
            plain(|a| {
                arity("unset", &a, 2)?;
                map(&a[0])?.remove(string(&a[1])?);
                Ok(a[0].clone())
            }),
        ),
        (
            "hasKey",
            plain(|a| {
                arity("hasKey", &a, 2)?;
                Ok(Value::Bool(map(&a[0])?.contains(string(&a[1])?)))
            }),
        ),
        (
            "keys",
            plain(|a| {
                // Go's map order is random; Convoy answers in key order (charts sort anyway).
                let mut keys = Vec::new();
                for m in &a {
                    keys.extend(map(m)?.keys().into_iter().map(Value::from));
                }
                Ok(Value::List(keys))
            }),
        ),
        (
            "values",
            plain(|a| {
                arity("values", &a, 1)?;
                Ok(Value::List(map(&a[0])?.entries().into_iter().map(|(_, v)| v).collect()))
            }),
        ),
        (
            "pluck",
            plain(|a| {
                let Some((key, maps)) = a.split_first() else { return Err("wrong number of args for pluck".into()) };
                let key = string(key)?;
                let mut found = Vec::new();
                for m in maps {
                    if let Some(v) = map(m)?.get(key) {
                        found.push(v);
                    }
                }
                Ok(Value::List(found))
            }),
        ),
        (
            "pick",
            plain(|a| {
                let Some((source, keys)) = a.split_first() else { return Err("wrong number of args for pick".into()) };
                let source = map(source)?;
                let picked = Map::default();
                for key in keys {
                    let key = string(key)?;
                    if let Some(v) = source.get(key) {
                        picked.insert(key, v);
                    }
                }
                Ok(Value::Map(picked))
            }),
        ),
        (
            "omit",
            plain(|a| {
                let Some((source, keys)) = a.split_first() else { return Err("wrong number of args for omit".into()) };
                let omitted: Vec<&str> = keys.iter().map(string).collect::<Result<_, _>>()?;
                Ok(Value::Map(
                    map(source)?.entries().into_iter().filter(|(k, _)| !omitted.contains(&k.as_str())).collect(),
                ))
            }),
        ),
        ("merge", merge_function("merge", false)),
        ("mergeOverwrite", merge_function("mergeOverwrite", true)),
        (
            "deepCopy",
            plain(|a| {
                arity("deepCopy", &a, 1)?;
                Ok(match &a[0] {
                    Value::Map(m) => Value::Map(m.deep_copy()),
                    Value::List(items) => Value::List(
                        items
                            .iter()
                            .map(|v| match v {
                                Value::Map(m) => Value::Map(m.deep_copy()),
                                other => other.clone(),
                            })
                            .collect(),
                    ),
                    other => other.clone(),
                })
            }),
        ),
        (
            "dig",
            plain(|a| {
                if a.len() < 3 {
                    return Err(format!("wrong number of args for dig: want at least 3 got {}", a.len()));
                }
                let (keys, rest) = a.split_at(a.len() - 2);
                let (default, source) = (&rest[0], &rest[1]);
                let mut current = Value::Map(map(source)?.clone());
                for key in keys {
                    let key = string(key)?;
                    current = match current {
                        Value::Map(m) => match m.get(key) {
                            Some(v) => v,
                            None => return Ok(default.clone()),
                        },
                        _ => return Ok(default.clone()),
                    };
                }
                Ok(current)
            }),
        ),
        ("list", plain(|a| Ok(Value::List(a)))),
        ("tuple", plain(|a| Ok(Value::List(a)))),
        (
            "append",
            plain(|a| {
                arity("append", &a, 2)?;
                let mut items = items("append", &a[0])?;
                items.push(a[1].clone());
                Ok(Value::List(items))
            }),
        ),
        (
            "push",
            plain(|a| {
                arity("push", &a, 2)?;
                let mut items = items("push", &a[0])?;
                items.push(a[1].clone());
                Ok(Value::List(items))
            }),
        ),
        (
            "prepend",
            plain(|a| {
                arity("prepend", &a, 2)?;
                let mut items = items("prepend", &a[0])?;
                items.insert(0, a[1].clone());
                Ok(Value::List(items))
            }),
        ),
        (
            "first",
            plain(|a| {
                arity("first", &a, 1).and_then(|()| Ok(items("first", &a[0])?.first().cloned().unwrap_or(Value::Nil)))
            }),
        ),
        (
            "last",
            plain(|a| {
                arity("last", &a, 1).and_then(|()| Ok(items("last", &a[0])?.last().cloned().unwrap_or(Value::Nil)))
            }),
        ),
        (
            "rest",
            plain(|a| {
                arity("rest", &a, 1)?;
                let items = items("rest", &a[0])?;
                Ok(if items.is_empty() { Value::Nil } else { Value::List(items[1..].to_vec()) })
            }),
        ),
        (
            "initial",
            plain(|a| {
                arity("initial", &a, 1)?;
                let items = items("initial", &a[0])?;
                Ok(if items.is_empty() { Value::Nil } else { Value::List(items[..items.len() - 1].to_vec()) })
            }),
        ),
        (
            "reverse",
            plain(|a| {
                arity("reverse", &a, 1)?;
                let mut items = items("reverse", &a[0])?;
                items.reverse();
                Ok(Value::List(items))
            }),
        ),
        (
            "uniq",
            plain(|a| {
                arity("uniq", &a, 1)?;
                let mut unique: Vec<Value> = Vec::new();
                for v in items("uniq", &a[0])? {
                    if !unique.iter().any(|u| deep_equal(u, &v)) {
                        unique.push(v);
                    }
                }
                Ok(Value::List(unique))
            }),
        ),
        (
            "without",
            plain(|a| {
                let Some((source, drop)) = a.split_first() else {
                    return Err("wrong number of args for without".into());
                };
                Ok(Value::List(
                    items("without", source)?.into_iter().filter(|v| !drop.iter().any(|d| deep_equal(d, v))).collect(),
                ))
            }),
        ),
        (
            "has",
            plain(|a| {
                arity("has", &a, 2)?;
                Ok(Value::Bool(match &a[1] {
                    Value::List(items) => items.iter().any(|v| deep_equal(v, &a[0])),
                    Value::Invalid | Value::Nil => false,
                    other => return Err(format!("Cannot find has on type {}", kind_of(other))),
                }))
            }),
        ),
        (
            "slice",
            plain(|a| {
                let Some((source, bounds)) = a.split_first() else {
                    return Err("wrong number of args for slice".into());
                };
                let items = items("slice", source)?;
                let at = |i: usize| bounds.get(i).map(super::to_int64);
                let (from, to) = (at(0).unwrap_or(0), at(1).unwrap_or(items.len() as i64));
                if from < 0 || to < from || to > items.len() as i64 {
                    return Err(format!("slice bounds out of range [{from}:{to}]"));
                }
                Ok(if items.is_empty() { Value::Nil } else { Value::List(items[from as usize..to as usize].to_vec()) })
            }),
        ),
        (
            "concat",
            plain(|a| {
                let mut joined = Vec::new();
                for l in &a {
                    joined.extend(items("concat", l)?);
                }
                Ok(Value::List(joined))
            }),
        ),
        (
            "chunk",
            plain(|a| {
                arity("chunk", &a, 2)?;
                let size = int(&a[0])?;
                if size <= 0 {
                    return Err("chunk size must be positive".into());
                }
                let source = list(&a[1])?;
                Ok(Value::List(source.chunks(size as usize).map(|c| Value::List(c.to_vec())).collect()))
            }),
        ),
        (
            "typeOf",
            plain(|a| {
                // Go's `%T` of a nil interface.
                arity("typeOf", &a, 1).map(|()| Value::from(if a[0].is_nil() { "<nil>" } else { a[0].type_name() }))
            }),
        ),
        (
            "typeIs",
            plain(|a| arity("typeIs", &a, 2).and_then(|()| Ok(Value::Bool(string(&a[0])? == a[1].type_name())))),
        ),
        (
            "typeIsLike",
            plain(|a| {
                arity("typeIsLike", &a, 2)?;
                let name = string(&a[0])?;
                let t = a[1].type_name();
                Ok(Value::Bool(name == t || name == format!("*{t}")))
            }),
        ),
        ("kindOf", plain(|a| arity("kindOf", &a, 1).map(|()| Value::from(kind_of(&a[0]))))),
        ("kindIs", plain(|a| arity("kindIs", &a, 2).and_then(|()| Ok(Value::Bool(string(&a[0])? == kind_of(&a[1])))))),
        ("deepEqual", plain(|a| arity("deepEqual", &a, 2).map(|()| Value::Bool(deep_equal(&a[0], &a[1]))))),
    ]
}
