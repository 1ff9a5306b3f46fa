//! Helm's `--set` and `--set-literal` (`helm-rendering.md` §4.3–4.4): `a.b[0]=v,c={x,y}` into
//! a values map, with Helm's typing (int64, bool, null; everything else a string).

use crate::value::{Map, Value};

/// Deeper names than this are refused (Helm's limit).
const MAX_DEPTH: usize = 30;
/// The largest list index accepted.
const MAX_INDEX: usize = 65536;

/// Helm's typing of a `--set` value.
fn typed(text: &str) -> Value {
    match text.to_ascii_lowercase().as_str() {
        "true" => return Value::Bool(true),
        "false" => return Value::Bool(false),
        "null" => return Value::Nil,
        _ => {}
    }
    if text == "0" {
        return Value::Int64(0);
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty()
        && !digits.starts_with('0')
        && digits.bytes().all(|b| b.is_ascii_digit())
        && let Ok(n) = text.parse::<i64>()
    {
        return Value::Int64(n);
    }
    Value::from(text)
}

/// One step of a name: a map key or a list index.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// Splits `name` (`a.b[1][2].c`) into steps; `escapes`: `\` escapes the next character.
fn parse_name(name: &str, escapes: bool) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    let mut key = String::new();
    let mut chars = name.chars().peekable();
    let mut after_index = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' if escapes => {
                if let Some(n) = chars.next() {
                    key.push(n);
                }
            }
            '.' => {
                if key.is_empty() && !after_index {
                    return Err(format!("key map {name:?} has no value"));
                }
                if !key.is_empty() {
                    steps.push(Step::Key(std::mem::take(&mut key)));
                }
                after_index = false;
            }
            '[' => {
                if !key.is_empty() {
                    steps.push(Step::Key(std::mem::take(&mut key)));
                }
                let mut digits = String::new();
                for d in chars.by_ref() {
                    if d == ']' {
                        break;
                    }
                    digits.push(d);
                }
                let index: i64 = digits.trim().parse().map_err(|_| format!("failed to parse index: {digits:?}"))?;
                if index < 0 {
                    return Err(format!("negative {index} index not allowed"));
                }
                if index as usize > MAX_INDEX {
                    return Err(format!("index of {index} is greater than maximum supported index of {MAX_INDEX}"));
                }
                steps.push(Step::Index(index as usize));
                if let Some(next) = chars.peek()
                    && !matches!(next, '.' | '[')
                {
                    return Err("unexpected data at end of array index".into());
                }
                after_index = true;
            }
            c => key.push(c),
        }
    }
    if !key.is_empty() {
        steps.push(Step::Key(key));
    }
    if steps.is_empty() {
        return Err(format!("key {name:?} has no value"));
    }
    if steps.len() > MAX_DEPTH {
        return Err(format!("value name nested level is greater than maximum supported nested level of {MAX_DEPTH}"));
    }
    Ok(steps)
}

/// Sets `value` at `steps` under `target` (a map or a list), making maps and lists on the way.
fn assign(target: &mut Value, steps: &[Step], value: Value) -> Result<(), String> {
    let Some((step, rest)) = steps.split_first() else {
        *target = value;
        return Ok(());
    };
    match step {
        Step::Key(key) => {
            if target.is_nil() {
                *target = Value::Map(Map::default());
            }
            let Value::Map(map) = target else {
                return Err(format!(
                    "unable to parse key: interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                    target.type_name()
                ));
            };
            if rest.is_empty() {
                map.insert(key.clone(), value);
                return Ok(());
            }
            let mut child = map.get(key).unwrap_or(Value::Nil);
            if let Value::Map(_) | Value::List(_) = child {
            } else if !child.is_nil() {
                return Err(format!(
                    "unable to parse key: interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                    child.type_name()
                ));
            }
            assign(&mut child, rest, value)?;
            map.insert(key.clone(), child);
            Ok(())
        }
        Step::Index(index) => {
            if target.is_nil() {
                *target = Value::List(Vec::new());
            }
            let Value::List(items) = target else {
                return Err(format!(
                    "unable to parse key: interface conversion: interface {{}} is {}, not []interface {{}}",
                    target.type_name()
                ));
            };
            while items.len() <= *index {
                items.push(Value::Nil);
            }
            assign(&mut items[*index], rest, value)
        }
    }
}

/// Applies one `--set` string (`a=1,b.c=x,l={p,q}`) to `values`.
pub fn set(values: &Map, input: &str) -> Result<(), String> {
    let mut root = Value::Map(values.clone());
    for (name, raw) in split_assignments(input)? {
        let value = match raw.strip_prefix('{') {
            Some(list) => {
                let inner = list.strip_suffix('}').ok_or("list must terminate with '}'")?;
                Value::List(split_escaped(inner, ',').iter().map(|v| typed(v)).collect())
            }
            None => typed(&raw),
        };
        assign(&mut root, &parse_name(&name, true)?, value)?;
    }
    Ok(())
}

/// Applies one `--set-literal` string: the value is the rest of the text, verbatim.
pub fn set_literal(values: &Map, input: &str) -> Result<(), String> {
    let (name, value) = input.split_once('=').ok_or_else(|| format!("key {input:?} has no value"))?;
    let mut root = Value::Map(values.clone());
    assign(&mut root, &parse_name(name, false)?, Value::from(value))
}

/// `a=1,b={x,y},c=z` into (name, raw value) pairs, with `\` escapes and braces kept together.
fn split_assignments(input: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    let mut name = String::new();
    let mut value = String::new();
    let mut in_value = false;
    let mut depth = 0;
    let mut chars = input.chars();
    let mut finish = |name: &mut String, value: &mut String, in_value: bool| -> Result<(), String> {
        if name.is_empty() && !in_value {
            return Ok(());
        }
        if !in_value {
            return Err(format!("key {name:?} has no value"));
        }
        pairs.push((std::mem::take(name), std::mem::take(value)));
        Ok(())
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let next = chars.next().unwrap_or('\\');
                let target = if in_value { &mut value } else { &mut name };
                if in_value && depth > 0 {
                    // Escapes inside a list are resolved by the list split.
                    target.push('\\');
                }
                if !in_value {
                    target.push('\\');
                }
                target.push(next);
            }
            '=' if !in_value => in_value = true,
            '{' if in_value && value.is_empty() => {
                depth += 1;
                value.push(c);
            }
            '}' if in_value && depth > 0 => {
                depth -= 1;
                value.push(c);
            }
            ',' if depth == 0 => {
                finish(&mut name, &mut value, in_value)?;
                in_value = false;
            }
            c if in_value => value.push(c),
            c => name.push(c),
        }
    }
    finish(&mut name, &mut value, in_value)?;
    Ok(pairs)
}

/// Splits on `separator` outside `\` escapes, resolving the escapes.
fn split_escaped(text: &str, separator: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    parts.last_mut().expect("one part").push(n);
                }
            }
            c if c == separator => parts.push(String::new()),
            c => parts.last_mut().expect("one part").push(c),
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(sets: &[&str]) -> Result<String, String> {
        let map = Map::default();
        for s in sets {
            set(&map, s)?;
        }
        Ok(crate::gofmt::print_value(&Value::Map(map)))
    }

    #[test]
    fn typing_nesting_lists_and_escapes() {
        assert_eq!(
            values(&["a=1,b=true,c=null,d=0,e=007,f=1.5,g="]).unwrap(),
            "map[a:1 b:true c:<nil> d:0 e:007 f:1.5 g:]"
        );
        assert_eq!(values(&["a.b.c=x", "a.b.d=y"]).unwrap(), "map[a:map[b:map[c:x d:y]]]");
        assert_eq!(values(&["l={x,2,true}"]).unwrap(), "map[l:[x 2 true]]");
        assert_eq!(values(&["l[2]=z"]).unwrap(), "map[l:[<nil> <nil> z]]");
        assert_eq!(values(&["l[0].name=a"]).unwrap(), "map[l:[map[name:a]]]");
        assert_eq!(values(&[r"a\.b=x", r"v=1\,2"]).unwrap(), "map[a.b:x v:1,2]");
        let map = Map::default();
        set(&map, "n=42").unwrap();
        assert_eq!(map.get("n"), Some(Value::Int64(42)), "integers are int64");
    }

    #[test]
    fn mistakes_are_named() {
        assert_eq!(values(&["a=foo,bar"]).unwrap_err(), "key \"bar\" has no value");
        assert_eq!(values(&["l={x,y"]).unwrap_err(), "list must terminate with '}'");
        assert!(values(&["l[-1]=x"]).unwrap_err().contains("negative"));
        assert!(values(&["l[99999]=x"]).unwrap_err().contains("maximum supported index"));
        assert!(values(&["a=1", "a.b=2"]).unwrap_err().contains("unable to parse key"));
        let deep = format!("{}=x", vec!["k"; 40].join("."));
        assert!(values(&[&deep]).unwrap_err().contains("nested level"));
    }

    #[test]
    fn literal_values_are_verbatim() {
        let map = Map::default();
        set_literal(&map, r"key=foo,bar=\baz").unwrap();
        assert_eq!(map.get("key"), Some(Value::from(r"foo,bar=\baz")));
    }
}
