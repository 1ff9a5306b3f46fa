//! `values.schema.json` (`helm-rendering.md` §4.7): each chart's schema checked against its
//! part of the final values, with the messages of the JSON Schema validator Helm uses
//! (santhosh-tekuri/jsonschema v6: `- at '/age': minimum: got -5, want 0`).
//!
//! Drafts 4 to 2020-12, the keywords charts use: `type`, `enum`, `const`, numbers, strings
//! (`pattern` with RE2-like syntax), arrays (`items` in both forms, `prefixItems`, `contains`),
//! objects (`properties`, `patternProperties`, `additionalProperties`, `required`,
//! `propertyNames`, dependencies), `allOf`/`anyOf`/`oneOf`/`not`, `if`/`then`/`else` and local
//! `$ref`s. Remote `$ref`s are refused (Helm would fetch them); `format` is not asserted.

use serde_json::Value as Json;

/// `$ref`s followed without descending into the value: more is a reference cycle.
const MAX_REFERENCE_DEPTH: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Draft {
    Four,
    Six,
    Seven,
    Later,
}

#[derive(Debug)]
struct Failure {
    at: String,
    message: String,
    causes: Vec<Failure>,
}

impl Failure {
    fn write(&self, indent: usize, out: &mut String) {
        out.push_str(&"  ".repeat(indent));
        out.push_str(&format!("- at {}: {}\n", quote(&self.at), self.message));
        for cause in &self.causes {
            cause.write(indent + 1, out);
        }
    }
}

/// Checks `values` (as Helm marshals them, JSON) against one schema: the list of failures
/// Helm prints (empty: valid), or an error in the schema itself.
pub(crate) fn validate(schema: &[u8], values: &Json) -> Result<String, String> {
    let root: Json = serde_json::from_slice(schema).map_err(|e| format!("values.schema.json is not JSON: {e}"))?;
    let draft = match root.get("$schema").and_then(Json::as_str).unwrap_or_default() {
        s if s.contains("draft-04") => Draft::Four,
        s if s.contains("draft-06") => Draft::Six,
        s if s.contains("draft-07") => Draft::Seven,
        _ => Draft::Later,
    };
    let checker = Checker { root: &root, draft };
    let mut out = String::new();
    for failure in &checker.check(&root, values, "", 0)? {
        failure.write(0, &mut out);
    }
    Ok(out)
}

struct Checker<'a> {
    root: &'a Json,
    draft: Draft,
}

type Checked = Result<Vec<Failure>, String>;

impl Checker<'_> {
    fn check(&self, schema: &Json, value: &Json, at: &str, depth: usize) -> Checked {
        let schema = match schema {
            Json::Bool(true) => return Ok(Vec::new()),
            Json::Bool(false) => return Ok(vec![fail(at, "false schema")]),
            Json::Object(schema) => schema,
            _ => return Err(format!("values.schema.json: a schema at {} is not an object", quote(at))),
        };
        let mut failures = Vec::new();
        if let Some(reference) = schema.get("$ref").and_then(Json::as_str) {
            if depth > MAX_REFERENCE_DEPTH {
                return Err(format!("values.schema.json: $ref {reference:?} is a reference cycle"));
            }
            if let Some(target) = self.resolve(reference)? {
                failures.extend(self.check(target, value, at, depth + 1)?);
            }
            // Up to draft 7, keywords beside $ref are ignored.
            if self.draft <= Draft::Seven {
                return Ok(failures);
            }
        }
        if let Some(types) = schema.get("type") {
            let wanted: Vec<&str> = match types {
                Json::String(t) => vec![t.as_str()],
                Json::Array(ts) => ts.iter().filter_map(Json::as_str).collect(),
                _ => Vec::new(),
            };
            if !wanted.is_empty() && !wanted.iter().any(|t| is_type(value, t)) {
                failures.push(fail(at, format!("got {}, want {}", type_of(value), wanted.join(" or "))));
                return Ok(failures);
            }
        }
        if let Some(wanted) = schema.get("const")
            && !equal(value, wanted)
        {
            failures.push(fail(
                at,
                match wanted {
                    Json::Array(_) | Json::Object(_) => "const failed".to_owned(),
                    primitive => format!("value must be {}", display(primitive)),
                },
            ));
        }
        if let Some(Json::Array(options)) = schema.get("enum")
            && !options.iter().any(|o| equal(value, o))
        {
            let message = if options.iter().any(|o| o.is_array() || o.is_object()) {
                "enum failed".to_owned()
            } else if let [one] = options.as_slice() {
                format!("value must be {}", display(one))
            } else {
                format!("value must be one of {}", options.iter().map(display).collect::<Vec<_>>().join(", "))
            };
            failures.push(fail(at, message));
        }
        match value {
            Json::Object(object) => self.check_object(schema, object, at, depth, &mut failures)?,
            Json::Array(items) => self.check_array(schema, items, at, depth, &mut failures)?,
            Json::String(text) => check_string(schema, text, at, &mut failures)?,
            Json::Number(n) => self.check_number(schema, n.as_f64().unwrap_or(0.0), at, &mut failures),
            _ => {}
        }
        self.check_combinations(schema, value, at, depth, &mut failures)?;
        Ok(failures)
    }

    fn resolve(&self, reference: &str) -> Result<Option<&Json>, String> {
        if reference.starts_with("urn:") {
            return Ok(None);
        }
        let Some(pointer) = reference.strip_prefix('#') else {
            return Err(format!(
                "values.schema.json: $ref {reference:?} is outside the schema; Convoy does not fetch schemas \
                 (copy the definitions into the chart's values.schema.json)"
            ));
        };
        let mut current = self.root;
        for part in pointer.split('/').skip(1) {
            let part = convoy_api::urls::percent_decode(part).replace("~1", "/").replace("~0", "~");
            current = match current {
                Json::Object(map) => map.get(&part),
                Json::Array(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            }
            .ok_or_else(|| format!("values.schema.json: $ref {reference:?} does not resolve"))?;
        }
        Ok(Some(current))
    }

    fn check_object(
        &self,
        schema: &serde_json::Map<String, Json>,
        object: &serde_json::Map<String, Json>,
        at: &str,
        depth: usize,
        failures: &mut Vec<Failure>,
    ) -> Result<(), String> {
        let count = |key: &str| schema.get(key).and_then(Json::as_u64);
        if let Some(max) = count("maxProperties")
            && object.len() as u64 > max
        {
            failures.push(fail(at, format!("maxProperties: got {}, want {max}", object.len())));
        }
        if let Some(min) = count("minProperties")
            && (object.len() as u64) < min
        {
            failures.push(fail(at, format!("minProperties: got {}, want {min}", object.len())));
        }
        if let Some(Json::Array(required)) = schema.get("required") {
            let missing: Vec<&str> =
                required.iter().filter_map(Json::as_str).filter(|name| !object.contains_key(*name)).collect();
            match missing.as_slice() {
                [] => {}
                [one] => failures.push(fail(at, format!("missing property {}", quote(one)))),
                many => failures.push(fail(
                    at,
                    format!("missing properties {}", many.iter().map(|m| quote(m)).collect::<Vec<_>>().join(", ")),
                )),
            }
        }
        let dependencies = schema.get("dependentRequired").or_else(|| schema.get("dependencies"));
        if let Some(Json::Object(dependencies)) = dependencies {
            for (name, needed) in dependencies {
                if !object.contains_key(name) {
                    continue;
                }
                match needed {
                    Json::Array(needed) => {
                        let missing: Vec<String> = needed
                            .iter()
                            .filter_map(Json::as_str)
                            .filter(|n| !object.contains_key(*n))
                            .map(quote)
                            .collect();
                        if !missing.is_empty() {
                            let message =
                                format!("properties {} required, if {} exists", missing.join(", "), quote(name));
                            failures.push(fail(at, message));
                        }
                    }
                    sub => failures.extend(self.check(sub, &Json::Object(object.clone()), at, depth)?),
                }
            }
        }
        let properties = schema.get("properties").and_then(Json::as_object);
        let patterns = schema.get("patternProperties").and_then(Json::as_object);
        let mut names: Vec<&String> = object.keys().collect();
        names.sort();
        let mut additional = Vec::new();
        for name in names {
            let child = &object[name];
            let child_at = format!("{at}/{}", name.replace('~', "~0").replace('/', "~1"));
            let mut described = false;
            if let Some(sub) = properties.and_then(|p| p.get(name)) {
                described = true;
                failures.extend(self.check(sub, child, &child_at, 0)?);
            }
            for (pattern, sub) in patterns.into_iter().flatten() {
                if regex(pattern)?.is_match(name) {
                    described = true;
                    failures.extend(self.check(sub, child, &child_at, 0)?);
                }
            }
            if let Some(names_schema) = schema.get("propertyNames")
                && !self.check(names_schema, &Json::String(name.clone()), &child_at, 0)?.is_empty()
            {
                failures.push(fail(at, format!("invalid property {}", quote(name))));
            }
            if !described {
                match schema.get("additionalProperties") {
                    Some(Json::Bool(false)) => additional.push(quote(name)),
                    Some(sub @ Json::Object(_)) => failures.extend(self.check(sub, child, &child_at, 0)?),
                    _ => {}
                }
            }
        }
        if !additional.is_empty() {
            failures.push(fail(at, format!("additional properties {} not allowed", additional.join(", "))));
        }
        Ok(())
    }

    fn check_array(
        &self,
        schema: &serde_json::Map<String, Json>,
        items: &[Json],
        at: &str,
        depth: usize,
        failures: &mut Vec<Failure>,
    ) -> Result<(), String> {
        let count = |key: &str| schema.get(key).and_then(Json::as_u64);
        if let Some(max) = count("maxItems")
            && items.len() as u64 > max
        {
            failures.push(fail(at, format!("maxItems: got {}, want {max}", items.len())));
        }
        if let Some(min) = count("minItems")
            && (items.len() as u64) < min
        {
            failures.push(fail(at, format!("minItems: got {}, want {min}", items.len())));
        }
        if schema.get("uniqueItems") == Some(&Json::Bool(true)) {
            'outer: for i in 0..items.len() {
                for j in i + 1..items.len() {
                    if equal(&items[i], &items[j]) {
                        failures.push(fail(at, format!("items at {i} and {j} are equal")));
                        break 'outer;
                    }
                }
            }
        }
        // Positional schemas: `prefixItems` (2020-12) or an `items` array (before), then the rest.
        let (positional, rest) = match (schema.get("prefixItems"), schema.get("items")) {
            (Some(Json::Array(prefix)), rest) => (prefix.as_slice(), rest),
            (_, Some(Json::Array(tuple))) => (tuple.as_slice(), schema.get("additionalItems")),
            (_, rest) => (&[][..], rest),
        };
        for (i, item) in items.iter().enumerate() {
            let item_at = format!("{at}/{i}");
            match positional.get(i) {
                Some(sub) => failures.extend(self.check(sub, item, &item_at, 0)?),
                None => match rest {
                    Some(Json::Bool(false)) if !positional.is_empty() => {
                        failures.push(fail(at, format!("last {} additionalItem(s) not allowed", items.len() - i)));
                        break;
                    }
                    Some(sub) => failures.extend(self.check(sub, item, &item_at, 0)?),
                    None => {}
                },
            }
        }
        if let Some(contains) = schema.get("contains") {
            let mut matched = Vec::new();
            for (i, item) in items.iter().enumerate() {
                if self.check(contains, item, &format!("{at}/{i}"), depth)?.is_empty() {
                    matched.push(i);
                }
            }
            let min = if self.draft == Draft::Later { count("minContains").unwrap_or(1) } else { 1 };
            let max = if self.draft == Draft::Later { count("maxContains") } else { None };
            let listed = matched.iter().map(usize::to_string).collect::<Vec<_>>().join(" ");
            if matched.is_empty() && min > 0 && count("minContains").is_none() {
                failures.push(fail(at, "no items match contains schema"));
            } else if (matched.len() as u64) < min {
                failures.push(fail(
                    at,
                    if matched.is_empty() {
                        format!("min {min} items required to match contains schema, but none matched")
                    } else {
                        format!(
                            "min {min} items required to match contains schema, but matched {} items at {listed}",
                            matched.len()
                        )
                    },
                ));
            } else if let Some(max) = max
                && matched.len() as u64 > max
            {
                failures.push(fail(
                    at,
                    format!(
                        "max {max} items required to match contains schema, but matched {} items at {listed}",
                        matched.len()
                    ),
                ));
            }
        }
        Ok(())
    }

    fn check_number(&self, schema: &serde_json::Map<String, Json>, n: f64, at: &str, failures: &mut Vec<Failure>) {
        let number = |key: &str| schema.get(key).and_then(Json::as_f64);
        let flag = |key: &str| schema.get(key) == Some(&Json::Bool(true));
        let message = |keyword: &str, want: f64| format!("{keyword}: got {}, want {}", float(n), float(want));
        if let Some(min) = number("minimum") {
            if self.draft == Draft::Four && flag("exclusiveMinimum") {
                if n <= min {
                    failures.push(fail(at, message("exclusiveMinimum", min)));
                }
            } else if n < min {
                failures.push(fail(at, message("minimum", min)));
            }
        }
        if let Some(max) = number("maximum") {
            if self.draft == Draft::Four && flag("exclusiveMaximum") {
                if n >= max {
                    failures.push(fail(at, message("exclusiveMaximum", max)));
                }
            } else if n > max {
                failures.push(fail(at, message("maximum", max)));
            }
        }
        if let Some(min) = number("exclusiveMinimum")
            && n <= min
        {
            failures.push(fail(at, message("exclusiveMinimum", min)));
        }
        if let Some(max) = number("exclusiveMaximum")
            && n >= max
        {
            failures.push(fail(at, message("exclusiveMaximum", max)));
        }
        if let Some(step) = number("multipleOf")
            && step > 0.0
        {
            let quotient = n / step;
            if (quotient - quotient.round()).abs() > 1e-9 * quotient.abs().max(1.0) {
                failures.push(fail(at, message("multipleOf", step)));
            }
        }
    }

    fn check_combinations(
        &self,
        schema: &serde_json::Map<String, Json>,
        value: &Json,
        at: &str,
        depth: usize,
        failures: &mut Vec<Failure>,
    ) -> Result<(), String> {
        let list = |key: &str| schema.get(key).and_then(Json::as_array).map(Vec::as_slice).unwrap_or(&[]);
        let mut causes = Vec::new();
        for sub in list("allOf") {
            causes.extend(self.check(sub, value, at, depth)?);
        }
        if !causes.is_empty() {
            failures.push(Failure { at: at.to_owned(), message: "allOf failed".into(), causes });
        }
        if !list("anyOf").is_empty() {
            let mut causes = Vec::new();
            for sub in list("anyOf") {
                let failed = self.check(sub, value, at, depth)?;
                if failed.is_empty() {
                    causes.clear();
                    break;
                }
                causes.extend(failed);
            }
            if !causes.is_empty() {
                failures.push(Failure { at: at.to_owned(), message: "anyOf failed".into(), causes });
            }
        }
        if !list("oneOf").is_empty() {
            let (mut matched, mut causes) = (Vec::new(), Vec::new());
            for (i, sub) in list("oneOf").iter().enumerate() {
                let failed = self.check(sub, value, at, depth)?;
                if failed.is_empty() {
                    matched.push(i);
                } else {
                    causes.extend(failed);
                }
            }
            match matched.as_slice() {
                [] => {
                    failures.push(Failure { at: at.to_owned(), message: "oneOf failed, none matched".into(), causes })
                }
                [_] => {}
                [a, b, ..] => failures.push(fail(at, format!("oneOf failed, subschemas {a}, {b} matched"))),
            }
        }
        if let Some(not) = schema.get("not")
            && self.check(not, value, at, depth)?.is_empty()
        {
            failures.push(fail(at, "not failed"));
        }
        if let Some(condition) = schema.get("if")
            && self.draft >= Draft::Seven
        {
            let branch = if self.check(condition, value, at, depth)?.is_empty() { "then" } else { "else" };
            if let Some(sub) = schema.get(branch) {
                failures.extend(self.check(sub, value, at, depth)?);
            }
        }
        Ok(())
    }
}

fn check_string(
    schema: &serde_json::Map<String, Json>,
    text: &str,
    at: &str,
    failures: &mut Vec<Failure>,
) -> Result<(), String> {
    let length = text.chars().count() as u64;
    if let Some(min) = schema.get("minLength").and_then(Json::as_u64)
        && length < min
    {
        failures.push(fail(at, format!("minLength: got {length}, want {min}")));
    }
    if let Some(max) = schema.get("maxLength").and_then(Json::as_u64)
        && length > max
    {
        failures.push(fail(at, format!("maxLength: got {length}, want {max}")));
    }
    if let Some(pattern) = schema.get("pattern").and_then(Json::as_str)
        && !regex(pattern)?.is_match(text)
    {
        failures.push(fail(at, format!("{} does not match pattern {}", quote(text), quote(pattern))));
    }
    Ok(())
}

fn regex(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| format!("values.schema.json: pattern {pattern:?} is not a valid regular expression: {e}"))
}

fn fail(at: &str, message: impl Into<String>) -> Failure {
    Failure { at: at.to_owned(), message: message.into(), causes: Vec::new() }
}

fn is_type(value: &Json, wanted: &str) -> bool {
    match wanted {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "number" => value.is_number(),
        "integer" => value.as_f64().is_some_and(|n| n.fract() == 0.0),
        _ => false,
    }
}

fn type_of(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

/// JSON equality, numbers by value (`1` equals `1.0`).
fn equal(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => x.as_f64() == y.as_f64(),
        (Json::Array(x), Json::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| equal(a, b)),
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| equal(v, w)))
        }
        _ => a == b,
    }
}

/// The validator's quoting: Go's `%q` between single quotes, `"` bare and `'` escaped.
fn quote(text: &str) -> String {
    let go = crate::gofmt::quote(text);
    let inner = &go[1..go.len() - 1];
    format!("'{}'", inner.replace("\\\"", "\"").replace('\'', "\\'"))
}

fn display(value: &Json) -> String {
    match value {
        Json::String(s) => quote(s),
        Json::Array(_) | Json::Object(_) => "value".into(),
        Json::Null => "<nil>".into(),
        Json::Number(n) => float(n.as_f64().unwrap_or(0.0)),
        Json::Bool(b) => b.to_string(),
    }
}

fn float(n: f64) -> String {
    crate::gofmt::float(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn failures(schema: Json, values: Json) -> String {
        validate(schema.to_string().as_bytes(), &values).unwrap()
    }

    #[test]
    fn types_enums_and_constants() {
        let schema = json!({"properties": {
            "replicas": {"type": "integer"},
            "mode": {"enum": ["a", "b", 3]},
            "only": {"enum": ["x"]},
            "fixed": {"const": true},
            "either": {"type": ["string", "null"]}
        }});
        let values = json!({"replicas": 1.5, "mode": "c", "only": "y", "fixed": false, "either": 1});
        assert_eq!(
            failures(schema.clone(), values),
            "- at '/either': got number, want string or null\n\
             - at '/fixed': value must be true\n\
             - at '/mode': value must be one of 'a', 'b', 3\n\
             - at '/only': value must be 'x'\n\
             - at '/replicas': got number, want integer\n"
        );
        assert_eq!(
            failures(schema, json!({"replicas": 2.0, "mode": 3, "only": "x", "fixed": true, "either": null})),
            ""
        );
    }

    #[test]
    fn strings_numbers_arrays_and_objects() {
        let schema = json!({
            "additionalProperties": false,
            "properties": {
                "name": {"minLength": 3, "maxLength": 4, "pattern": "^[a-z]+$"},
                "port": {"minimum": 1, "maximum": 65535, "multipleOf": 2},
                "ratio": {"exclusiveMaximum": 1},
                "hosts": {"minItems": 1, "maxItems": 2, "uniqueItems": true, "items": {"type": "string"}},
                "ports": {"contains": {"const": 80}},
                "labels": {"propertyNames": {"pattern": "^[a-z]+$"}, "maxProperties": 1}
            }
        });
        let values = json!({
            "name": "Ab", "port": 70001, "ratio": 1, "hosts": ["a", "a", 1],
            "ports": [443], "labels": {"Bad": "x", "ok": "y"}, "extra": 1, "other": 2
        });
        assert_eq!(
            failures(schema, values),
            "- at '/hosts': maxItems: got 3, want 2\n\
             - at '/hosts': items at 0 and 1 are equal\n\
             - at '/hosts/2': got number, want string\n\
             - at '/labels': maxProperties: got 2, want 1\n\
             - at '/labels': invalid property 'Bad'\n\
             - at '/name': minLength: got 2, want 3\n\
             - at '/name': 'Ab' does not match pattern '^[a-z]+$'\n\
             - at '/port': maximum: got 70001, want 65535\n\
             - at '/port': multipleOf: got 70001, want 2\n\
             - at '/ports': no items match contains schema\n\
             - at '/ratio': exclusiveMaximum: got 1, want 1\n\
             - at '': additional properties 'extra', 'other' not allowed\n"
        );
    }

    #[test]
    fn combinations_nest_their_causes() {
        let schema = json!({"properties": {
            "a": {"anyOf": [{"type": "string"}, {"type": "boolean"}]},
            "b": {"oneOf": [{"minimum": 0}, {"maximum": 10}]},
            "c": {"not": {"type": "string"}},
            "d": {"allOf": [{"minimum": 5}]},
            "e": {"if": {"type": "string"}, "then": {"minLength": 2}, "else": {"type": "boolean"}}
        }, "$schema": "http://json-schema.org/draft-07/schema#"});
        let values = json!({"a": 1, "b": 5, "c": "x", "d": 1, "e": "x"});
        assert_eq!(
            failures(schema, values),
            "- at '/a': anyOf failed\n  - at '/a': got number, want string\n  - at '/a': got number, want boolean\n\
             - at '/b': oneOf failed, subschemas 0, 1 matched\n\
             - at '/c': not failed\n\
             - at '/d': allOf failed\n  - at '/d': minimum: got 1, want 5\n\
             - at '/e': minLength: got 1, want 2\n"
        );
    }

    #[test]
    fn references_resolve_inside_the_schema_only() {
        let schema = json!({
            "definitions": {"port": {"type": "integer", "maximum": 10}},
            "$defs": {"a~b": {"type": "string"}},
            "properties": {"p": {"$ref": "#/definitions/port"}, "q": {"$ref": "#/$defs/a~0b"}, "r": {"$ref": "urn:x"}}
        });
        assert_eq!(
            failures(schema, json!({"p": 11, "q": 1, "r": 1})),
            "- at '/p': maximum: got 11, want 10\n- at '/q': got number, want string\n"
        );
        let remote = json!({"$ref": "https://example.com/schema.json"});
        assert!(validate(remote.to_string().as_bytes(), &json!({})).unwrap_err().contains("does not fetch"));
        let cycle = json!({"$defs": {"a": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"});
        assert!(validate(cycle.to_string().as_bytes(), &json!({})).unwrap_err().contains("reference cycle"));
        assert!(validate(b"{", &json!({})).unwrap_err().contains("not JSON"));
    }

    #[test]
    fn draft_4_exclusive_bounds_are_flags_and_tuples_are_item_arrays() {
        let schema = json!({
            "$schema": "http://json-schema.org/draft-04/schema#",
            "properties": {
                "n": {"minimum": 0, "exclusiveMinimum": true},
                "t": {"items": [{"type": "string"}], "additionalItems": false}
            }
        });
        assert_eq!(
            failures(schema, json!({"n": 0, "t": ["a", 1, 2]})),
            "- at '/n': exclusiveMinimum: got 0, want 0\n- at '/t': last 2 additionalItem(s) not allowed\n"
        );
    }
}
