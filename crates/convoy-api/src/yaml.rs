//! Multi-document YAML to JSON values, remembering where every field came from.
//!
//! Kargo documents are YAML; every check in Convoy speaks in field paths
//! (`spec.steps[2].as`). This module turns YAML text into `serde_json::Value`s with an index
//! from field path to line and column, so an error found anywhere later can point at the line.
//! Scalars resolve by the YAML 1.2 core schema (`yes` stays a string).

use std::collections::HashMap;

use saphyr_parser::{Event, Marker, Parser, ScalarStyle, Span, Tag};
use serde_json::{Map, Number, Value};

use crate::path::FieldPath;

/// A line and column, both 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl From<Marker> for Position {
    fn from(m: Marker) -> Self {
        Position { line: m.line(), column: m.col() + 1 }
    }
}

/// One YAML document, its value and where each of its fields starts.
#[derive(Debug, Clone)]
pub struct SourceDocument {
    pub value: Value,
    /// Where the document starts.
    pub start: Position,
    positions: HashMap<String, Position>,
    /// What was read leniently, as kubectl reads it (a repeated key: the last one counts).
    pub warnings: Vec<YamlWarning>,
}

/// Something read the way kubectl reads it, but probably not what the author meant.
#[derive(Debug, Clone, PartialEq)]
pub struct YamlWarning {
    pub position: Position,
    /// The field path of the value concerned, e.g. `spec.interval`.
    pub path: String,
    pub message: String,
}

impl SourceDocument {
    /// A `v1 List` (what `get -o yaml` prints, kubectl's shape) stands for its items, each a
    /// document of its own whose positions still point into the List; anything else is itself.
    fn list_items(self) -> Vec<SourceDocument> {
        let is_list = self.value.get("apiVersion").and_then(Value::as_str) == Some("v1")
            && self.value.get("kind").and_then(Value::as_str) == Some("List");
        let Some(Value::Array(items)) = self.value.get("items").filter(|_| is_list) else {
            return vec![self];
        };
        items
            .iter()
            .enumerate()
            .filter(|(_, item)| !item.is_null())
            .map(|(i, item)| {
                let prefix = format!("items[{i}]");
                let positions = self
                    .positions
                    .iter()
                    .filter_map(|(path, at)| {
                        let rest = path.strip_prefix(&prefix)?;
                        let rest = rest.strip_prefix('.').or_else(|| rest.is_empty().then_some(""))?;
                        Some((rest.to_owned(), *at))
                    })
                    .collect();
                let start = self.positions.get(&prefix).copied().unwrap_or(self.start);
                let warnings = self
                    .warnings
                    .iter()
                    .filter_map(|w| {
                        let rest = w.path.strip_prefix(&prefix)?.strip_prefix('.')?;
                        Some(YamlWarning { path: rest.to_owned(), ..w.clone() })
                    })
                    .collect();
                SourceDocument { value: item.clone(), start, positions, warnings }
            })
            .collect()
    }

    /// The position of the field at `path`, or of its nearest ancestor that has one.
    pub fn position_of(&self, path: &str) -> Position {
        let mut path = FieldPath::parse(path);
        loop {
            if let Some(p) = self.positions.get(&path.to_string()) {
                return *p;
            }
            if !path.pop() {
                return self.start;
            }
        }
    }
}

/// Malformed YAML, with where.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[error("{message}")]
pub struct YamlError {
    pub position: Position,
    pub message: String,
}

/// How deep collections may nest. Kubernetes objects rarely pass 20; the store reads JSON back
/// with a recursion limit of 128, and a deeply nested document must be refused before it is
/// stored, not after (it would break every list of its kind).
pub const MAX_DEPTH: usize = 64;

/// How many times its own size aliases may expand a stream to (a "billion laughs" document of
/// 1 KB would otherwise expand to gigabytes).
const MAX_ALIAS_EXPANSION: usize = 100;

/// Whether `value` nests collections deeper than [`MAX_DEPTH`]; also for JSON input.
pub fn too_deep(value: &Value) -> bool {
    fn depth_over(value: &Value, left: usize) -> bool {
        match value {
            Value::Array(items) => left == 0 || items.iter().any(|v| depth_over(v, left - 1)),
            Value::Object(map) => left == 0 || map.values().any(|v| depth_over(v, left - 1)),
            _ => false,
        }
    }
    depth_over(value, MAX_DEPTH)
}

/// Parses every document of `text`; empty documents are dropped and `v1 List` documents stand
/// for their items, as kubectl does. Collections
/// nested deeper than [`MAX_DEPTH`] and aliases expanding the stream past
/// `MAX_ALIAS_EXPANSION` times its own nodes are errors.
pub fn parse_documents(text: &str) -> Result<Vec<SourceDocument>, YamlError> {
    let mut builder = Builder::default();
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| parser_error(&e))?;
        builder.on_event(event, span)?;
    }
    Ok(builder.documents.into_iter().flat_map(SourceDocument::list_items).collect())
}

/// Checks only the limits [`parse_documents`] enforces (depth, alias expansion), without
/// building values: for YAML that another parser reads next (a step's file, a Helm index),
/// whose own limits come too late or not at all.
pub fn check_limits(text: &str) -> Result<(), YamlError> {
    // Node counts of the open collections, and of each anchored node.
    let mut open: Vec<(usize, usize)> = Vec::new();
    let mut anchors: HashMap<usize, usize> = HashMap::new();
    let (mut own, mut expanded) = (0usize, 0usize);
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| parser_error(&e))?;
        let at = Position::from(span.start);
        let finished = match event {
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                if open.len() >= MAX_DEPTH {
                    return Err(too_deep_at(at));
                }
                own += 1;
                open.push((anchor, 0));
                None
            }
            Event::MappingEnd | Event::SequenceEnd => open.pop().map(|(anchor, nodes)| (anchor, nodes + 1)),
            Event::Scalar(_, _, anchor, _) => {
                own += 1;
                Some((anchor, 1))
            }
            Event::Alias(id) => {
                own += 1;
                let nodes = anchors.get(&id).copied().unwrap_or(1);
                expanded += nodes;
                if expanded > MAX_ALIAS_EXPANSION * own.max(100) {
                    return Err(alias_bomb_at(at));
                }
                Some((0, nodes))
            }
            _ => None,
        };
        if let Some((anchor, nodes)) = finished {
            if anchor != 0 {
                anchors.insert(anchor, nodes);
            }
            if let Some(parent) = open.last_mut() {
                parent.1 += nodes;
            }
        }
    }
    Ok(())
}

fn parser_error(e: &saphyr_parser::ScanError) -> YamlError {
    let message = if e.info().contains("recursion limit") {
        // The parser's own guard against deep flow collections.
        format!("collections nest deeper than {MAX_DEPTH} levels here; flatten the document")
    } else {
        e.info().to_owned()
    };
    YamlError { position: Position::from(*e.marker()), message }
}

fn too_deep_at(position: Position) -> YamlError {
    YamlError {
        position,
        message: format!("collections nest deeper than {MAX_DEPTH} levels here; flatten the document"),
    }
}

fn alias_bomb_at(position: Position) -> YamlError {
    YamlError {
        position,
        message: format!(
            "aliases expand this document to more than {MAX_ALIAS_EXPANSION} times its own size; \
             write the repeated parts out or use fewer aliases"
        ),
    }
}

enum Frame {
    Map {
        map: Map<String, Value>,
        path: FieldPath,
        key: Option<(String, bool)>,
        anchor: usize,
        /// Keys that came from a `<<` merge; an explicit key may override them.
        merged: Vec<String>,
        /// Nodes below this one, aliases expanded.
        nodes: usize,
    },
    Seq {
        seq: Vec<Value>,
        path: FieldPath,
        anchor: usize,
        nodes: usize,
    },
}

#[derive(Default)]
struct Builder {
    documents: Vec<SourceDocument>,
    stack: Vec<Frame>,
    /// Anchored values and their node counts.
    anchors: HashMap<usize, (Value, usize)>,
    /// Nodes written in the text, and nodes that aliases added.
    own_nodes: usize,
    alias_nodes: usize,
    positions: HashMap<String, Position>,
    doc_start: Position,
    root: Option<Value>,
    warnings: Vec<YamlWarning>,
}

impl Builder {
    fn on_event(&mut self, event: Event<'_>, span: Span) -> Result<(), YamlError> {
        let at = Position::from(span.start);
        let starts_node = matches!(event, Event::Scalar(..) | Event::MappingStart(..) | Event::SequenceStart(..));
        if starts_node && self.stack.is_empty() {
            // A document "starts" at its content, not at its `---` line.
            self.doc_start = at;
        }
        match event {
            Event::DocumentStart(_) => {
                self.doc_start = at;
                self.positions.clear();
                self.warnings.clear();
                self.anchors.clear();
                self.root = None;
            }
            Event::DocumentEnd => {
                if let Some(value) = self.root.take().filter(|v| !v.is_null()) {
                    self.documents.push(SourceDocument {
                        value,
                        start: self.doc_start,
                        positions: std::mem::take(&mut self.positions),
                        warnings: std::mem::take(&mut self.warnings),
                    });
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                if self.expecting_key() {
                    return self.set_key(text.into_owned(), style == ScalarStyle::Plain, at);
                }
                let value = resolve_scalar(&text, style, tag.as_deref());
                self.own_nodes += 1;
                self.complete(value, anchor, 1, at)?;
            }
            Event::Alias(id) => {
                let (value, nodes) = self.anchors.get(&id).cloned().ok_or_else(|| YamlError {
                    position: at,
                    message: "alias refers to an unknown anchor".to_owned(),
                })?;
                self.own_nodes += 1;
                self.alias_nodes += nodes;
                if self.alias_nodes > MAX_ALIAS_EXPANSION * self.own_nodes.max(100) {
                    return Err(alias_bomb_at(at));
                }
                if self.expecting_key() {
                    let Value::String(key) = value else {
                        return Err(non_scalar_key(at));
                    };
                    return self.set_key(key, false, at);
                }
                self.complete(value, 0, nodes, at)?;
            }
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                if self.expecting_key() {
                    return Err(non_scalar_key(at));
                }
                if self.stack.len() >= MAX_DEPTH {
                    return Err(too_deep_at(at));
                }
                self.own_nodes += 1;
                let path = self.child_path();
                self.positions.entry(path.to_string()).or_insert(at);
                let frame = if matches!(event, Event::MappingStart(..)) {
                    Frame::Map { map: Map::new(), path, key: None, anchor, merged: Vec::new(), nodes: 0 }
                } else {
                    Frame::Seq { seq: Vec::new(), path, anchor, nodes: 0 }
                };
                self.stack.push(frame);
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let (value, anchor, nodes) = match self.stack.pop() {
                    Some(Frame::Map { map, anchor, nodes, .. }) => (Value::Object(map), anchor, nodes),
                    Some(Frame::Seq { seq, anchor, nodes, .. }) => (Value::Array(seq), anchor, nodes),
                    None => return Ok(()),
                };
                self.complete(value, anchor, nodes + 1, at)?;
            }
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
        }
        Ok(())
    }

    fn expecting_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { key: None, .. }))
    }

    fn set_key(&mut self, key: String, plain: bool, at: Position) -> Result<(), YamlError> {
        let Some(Frame::Map { map, path, key: slot, merged, .. }) = self.stack.last_mut() else {
            return Ok(());
        };
        let is_merge = plain && key == "<<";
        let overrides_merge = merged.iter().any(|m| m == &key);
        if overrides_merge {
            merged.retain(|m| m != &key);
            map.remove(&key);
        }
        if !is_merge && map.remove(&key).is_some() {
            // kubectl's YAML reading keeps the last value of a repeated key; so does Convoy.
            let first = self.positions.get(&path.child(&key).to_string()).map_or(0, |p| p.line);
            self.warnings.push(YamlWarning {
                position: at,
                path: path.child(&key).to_string(),
                message: format!(
                    "key {key:?} appears twice in the same mapping (first on line {first}); the last value is used, as kubectl does"
                ),
            });
        }
        if !is_merge {
            self.positions.insert(path.child(&key).to_string(), at);
        }
        *slot = Some((key, is_merge));
        Ok(())
    }

    /// The path of the value about to start, from the innermost open collection.
    fn child_path(&self) -> FieldPath {
        match self.stack.last() {
            Some(Frame::Map { path, key: Some((key, _)), .. }) => path.child(key),
            Some(Frame::Seq { path, seq, .. }) => path.index(seq.len()),
            _ => FieldPath::default(),
        }
    }

    fn complete(&mut self, value: Value, anchor: usize, value_nodes: usize, at: Position) -> Result<(), YamlError> {
        if anchor != 0 {
            self.anchors.insert(anchor, (value.clone(), value_nodes));
        }
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Seq { seq, path, nodes, .. }) => {
                *nodes += value_nodes;
                self.positions.entry(path.index(seq.len()).to_string()).or_insert(at);
                seq.push(value);
            }
            Some(Frame::Map { map, key, merged, nodes, .. }) => match key.take() {
                Some((_, true)) => {
                    *nodes += value_nodes;
                    merge_into(map, merged, value, at)?
                }
                Some((k, false)) => {
                    *nodes += value_nodes;
                    map.insert(k, value);
                }
                None => return Err(non_scalar_key(at)),
            },
        }
        Ok(())
    }
}

/// Applies a `<<` merge key: entries already present win.
fn merge_into(
    map: &mut Map<String, Value>,
    merged: &mut Vec<String>,
    value: Value,
    at: Position,
) -> Result<(), YamlError> {
    let sources = match value {
        Value::Object(m) => vec![m],
        Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                Value::Object(m) => Ok(m),
                _ => Err(merge_error(at)),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(merge_error(at)),
    };
    for source in sources {
        for (k, v) in source {
            if !map.contains_key(&k) {
                merged.push(k.clone());
                map.insert(k, v);
            }
        }
    }
    Ok(())
}

fn merge_error(at: Position) -> YamlError {
    YamlError { position: at, message: "a `<<` merge key takes a mapping or a list of mappings".into() }
}

fn non_scalar_key(at: Position) -> YamlError {
    YamlError { position: at, message: "mapping keys must be plain strings".into() }
}

/// YAML 1.2 core schema resolution for one scalar.
fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Value {
    if let Some(tag) = tag
        && (tag.suffix == "str" || tag.suffix.ends_with(":str"))
    {
        return Value::String(text.to_owned());
    }
    if style != ScalarStyle::Plain {
        return Value::String(text.to_owned());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Some(n) = parse_int(text) {
        return Value::Number(n);
    }
    if looks_like_float(text)
        && let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64)
    {
        return Value::Number(n);
    }
    Value::String(text.to_owned())
}

fn parse_int(text: &str) -> Option<Number> {
    if let Some(oct) = text.strip_prefix("0o") {
        return i64::from_str_radix(oct, 8).ok().map(Number::from);
    }
    if let Some(hex) = text.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok().map(Number::from);
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let text = text.strip_prefix('+').unwrap_or(text);
    text.parse::<i64>()
        .map(Number::from)
        .ok()
        .or_else(|| text.parse::<u64>().ok().map(Number::from))
        .or_else(|| text.parse::<f64>().ok().and_then(Number::from_f64))
}

/// `[-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`
fn looks_like_float(text: &str) -> bool {
    let s = text.strip_prefix(['-', '+']).unwrap_or(text).as_bytes();
    let mut i = 0;
    let int_digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    i += int_digits;
    let mut frac_digits = 0;
    if s.get(i) == Some(&b'.') {
        i += 1;
        frac_digits = s[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        i += frac_digits;
    }
    if int_digits == 0 && frac_digits == 0 {
        return false;
    }
    if matches!(s.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(s.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        let exp = s[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        if exp == 0 {
            return false;
        }
        i += exp;
    }
    i == s.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scalars_follow_the_core_schema() {
        let docs =
            parse_documents("a: yes\nb: true\nc: 010\nd: 1.5\ne: ~\nf: '1'\ng: 0x1f\nh: 1e3\ni: v1.2\nj: .5\nk: 1.\n")
                .unwrap();
        assert_eq!(
            docs[0].value,
            json!({"a": "yes", "b": true, "c": 10, "d": 1.5, "e": null, "f": "1", "g": 31,
                   "h": 1000.0, "i": "v1.2", "j": 0.5, "k": 1.0})
        );
    }

    #[test]
    fn positions_point_at_keys_and_items() {
        let text = "kind: Stage\nspec:\n  steps:\n  - uses: git-clone\n  - as: x\n    uses: fail\n";
        let doc = &parse_documents(text).unwrap()[0];
        assert_eq!(doc.position_of("spec.steps[1].as"), Position { line: 5, column: 5 });
        assert_eq!(doc.position_of("spec.steps[1]"), Position { line: 5, column: 5 });
        assert_eq!(doc.position_of("spec.steps[0].uses"), Position { line: 4, column: 5 });
        // a path that does not exist falls back to its nearest ancestor
        assert_eq!(doc.position_of("spec.steps[1].config.path"), Position { line: 5, column: 5 });
    }

    #[test]
    fn documents_are_split_and_empty_ones_dropped() {
        let docs = parse_documents("---\na: 1\n---\n---\nb: 2\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].value, json!({"b": 2}));
        assert_eq!(docs[1].start.line, 5, "content line, not the --- line");
    }

    #[test]
    fn a_v1_list_stands_for_its_items() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- kind: A\n  metadata: {name: a}\n- kind: B\n  metadata:\n    name: b\n";
        let docs = parse_documents(text).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].value, json!({"kind": "B", "metadata": {"name": "b"}}));
        assert_eq!(docs[1].start.line, 6);
        assert_eq!(docs[1].position_of("metadata.name"), Position { line: 8, column: 5 });
        // Another kind called List is left alone.
        let other = parse_documents("apiVersion: example.com/v1\nkind: List\nitems: [1]\n").unwrap();
        assert_eq!(other[0].value["kind"], "List");
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let docs = parse_documents("base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\nd: *b\n").unwrap();
        assert_eq!(docs[0].value, json!({"base": {"x": 1, "y": 2}, "c": {"y": 3, "x": 1}, "d": {"x": 1, "y": 2}}));
    }

    #[test]
    fn duplicate_keys_keep_the_last_value_with_a_warning_and_syntax_errors_have_positions() {
        // kubectl reads a repeated key as its last value; Convoy does too, and says so.
        let docs = parse_documents("a: 1\nb: 2\nspec:\n  x: 1\n  x: {y: 2}\na: 3\n").unwrap();
        assert_eq!(docs[0].value, json!({"a": 3, "b": 2, "spec": {"x": {"y": 2}}}));
        let warnings: Vec<(usize, &str)> =
            docs[0].warnings.iter().map(|w| (w.position.line, w.path.as_str())).collect();
        assert_eq!(warnings, vec![(5, "spec.x"), (6, "a")]);
        assert!(docs[0].warnings[1].message.contains("first on line 1"), "{:?}", docs[0].warnings[1]);
        assert_eq!(docs[0].position_of("a"), Position { line: 6, column: 1 });
        // In a v1 List, each item keeps its own warnings, with paths inside the item.
        let list = "apiVersion: v1\nkind: List\nitems:\n- {kind: A, kind: B}\n- {kind: C}\n";
        let docs = parse_documents(list).unwrap();
        assert_eq!(docs[0].warnings.iter().map(|w| w.path.as_str()).collect::<Vec<_>>(), vec!["kind"]);
        assert!(docs[1].warnings.is_empty());
        let err = parse_documents("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.position.line >= 1);
    }
}
