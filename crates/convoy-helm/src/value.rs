//! The values templates see: Go's `interface{}` as Helm fills it (YAML numbers are float64,
//! `--set` integers int64, maps with string keys, lists).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

/// A Go map: a shared reference, so that Sprig's `set`, `unset` and `merge` change the map
/// every holder sees (`$_ := set $d "k" v`). Keys in byte order, as Go prints and ranges them.
#[derive(Clone, Default)]
pub struct Map(Arc<Mutex<BTreeMap<String, Value>>>);

impl Map {
    pub fn new(entries: BTreeMap<String, Value>) -> Map {
        Map(Arc::new(Mutex::new(entries)))
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Value>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn get(&self, key: &str) -> Option<Value> {
        self.lock().get(key).cloned()
    }

    pub fn insert(&self, key: impl Into<String>, value: Value) {
        self.lock().insert(key.into(), value);
    }

    pub fn remove(&self, key: &str) -> Option<Value> {
        self.lock().remove(key)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.lock().contains_key(key)
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// The entries now, in key order.
    pub fn entries(&self) -> Vec<(String, Value)> {
        self.lock().iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    pub fn keys(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// A new map with the same entries (nested maps still shared).
    pub fn shallow_copy(&self) -> Map {
        Map::new(self.lock().clone())
    }

    /// Whether both are the same map (not just equal contents).
    pub fn same(&self, other: &Map) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// A copy sharing nothing with this map, nested maps included (at most `depth` levels: a
    /// map that contains itself is not copied forever).
    /// Helm's merge of a values file onto the values so far (`-f`, `valuesFiles`): maps
    /// recurse, anything else replaces.
    pub fn merge(&self, from: &Map) {
        for (key, value) in from.entries() {
            match (self.get(&key), value) {
                (Some(Value::Map(existing)), Value::Map(incoming)) => existing.merge(&incoming),
                (_, value) => self.insert(key, value),
            }
        }
    }

    pub fn deep_copy(&self) -> Map {
        fn copy(value: &Value, depth: usize) -> Value {
            match value {
                Value::Map(m) if depth < 1000 => {
                    Value::Map(Map::new(m.entries().into_iter().map(|(k, v)| (k, copy(&v, depth + 1))).collect()))
                }
                Value::List(items) if depth < 1000 => Value::List(items.iter().map(|v| copy(v, depth + 1)).collect()),
                other => other.clone(),
            }
        }
        match copy(&Value::Map(self.clone()), 0) {
            Value::Map(m) => m,
            _ => unreachable!("a map copies to a map"),
        }
    }
}

impl PartialEq for Map {
    fn eq(&self, other: &Map) -> bool {
        self.same(other) || self.entries() == other.entries()
    }
}

impl fmt::Debug for Map {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.entries()).finish()
    }
}

impl FromIterator<(String, Value)> for Map {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Map {
        Map::new(iter.into_iter().collect())
    }
}

/// A Go value with fields and methods that Helm passes to templates (`.Capabilities`,
/// `.Files`, a semver version): `.Field` reads, `.Method args` calls (only at the end of a
/// chain, as Go allows), `{{ . }}` prints its `String()`.
pub trait Object: Send + Sync + fmt::Debug {
    /// Go's type name (`chartutil.Capabilities`).
    fn type_name(&self) -> &'static str;
    /// A field or niladic method; `None`: no such field.
    fn field(&self, name: &str) -> Option<Value>;
    /// A method taking arguments; `None`: no such method.
    fn method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>>;
    /// What `%v` prints.
    fn print(&self) -> String;
    /// Keys and values for `range`, when the Go value is a map; `None`: not rangeable.
    fn entries(&self) -> Option<Vec<(Value, Value)>> {
        None
    }
}

/// A template value.
#[derive(Debug, Clone)]
pub enum Value {
    /// No value at all (Go's invalid `reflect.Value`): what a pipeline gives for nil; printed
    /// `<no value>`, and a field of it is silently nothing.
    Invalid,
    /// A nil `interface{}` (a missing map key under `missingkey=zero`, a YAML null): printed
    /// `<nil>` inside containers; a field of it is an error.
    Nil,
    Bool(bool),
    /// Go's `int`: template literals, `len`.
    Int(i64),
    /// Go's `int64`: `--set` integers, Sprig's arithmetic. Not assignable to `int` parameters.
    Int64(i64),
    Float(f64),
    String(String),
    List(Vec<Value>),
    Map(Map),
    Object(Arc<dyn Object>),
}

impl Value {
    /// Go's truth: false, 0, nil and empty strings, lists and maps are false.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Invalid | Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) | Value::Int64(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            // A map-typed object (`.Files`, a Glob's result) is false when empty, as in Go.
            Value::Object(o) => o.entries().is_none_or(|e| !e.is_empty()),
        }
    }

    /// Go's type name, as errors and `%T` say it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Invalid => "<nil>",
            Value::Nil => "interface {}",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Float(_) => "float64",
            Value::String(_) => "string",
            Value::List(_) => "[]interface {}",
            Value::Map(_) => "map[string]interface {}",
            Value::Object(o) => o.type_name(),
        }
    }

    /// An integer of either width.
    pub fn as_integer(&self) -> Option<i64> {
        match self {
            Value::Int(i) | Value::Int64(i) => Some(*i),
            _ => None,
        }
    }

    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Invalid | Value::Nil)
    }

    /// A map from pairs (tests and callers building data).
    pub fn map<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Invalid, Value::Invalid) | (Value::Nil, Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) | (Value::Int64(a), Value::Int64(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::List(a), Value::List(b)) => a == b,
            (Value::Map(a), Value::Map(b)) => a == b,
            (Value::Object(a), Value::Object(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Value {
        Value::String(text.to_owned())
    }
}

impl From<String> for Value {
    fn from(text: String) -> Value {
        Value::String(text)
    }
}

impl From<i64> for Value {
    fn from(number: i64) -> Value {
        Value::Int(number)
    }
}

impl From<f64> for Value {
    fn from(number: f64) -> Value {
        Value::Float(number)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}
