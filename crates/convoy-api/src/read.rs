//! Reading a manifest as Kargo behind a Kubernetes API server reads it: what the API server
//! drops or Kargo's decoder tolerates is accepted here too, each time with a warning, and every
//! problem of a document is reported at once rather than one per attempt.
//!
//! The leniencies (docs/compat.md, "Reading manifests"):
//! - a field spelled in another letter case (`insecureSkipTlsVerify`) is read as the documented
//!   spelling, as Go's JSON decoding matches keys case-insensitively;
//! - unknown keys inside a Warehouse subscription are dropped (Kargo's CRD keeps subscriptions
//!   free-form and its decoder ignores them);
//! - `null` stands for an absent field (the API server prunes nulls of non-nullable fields);
//! - `metadata.namespace` of a cluster-scoped object is dropped, as the API server does;
//! - an image subscription's deprecated `allowTags` / `ignoreTags` (which fail discovery in Kargo
//!   v1.11) are read as the equivalent `allowTagsRegexes` / `ignoreTagsRegexes`.
//!
//! [`Resource::decode`] stays strict: it reads what Convoy stored, which was read here first.

use serde_json::{Map, Value};

use crate::path::FieldPath;
use crate::resource::{DecodeError, Kind, Resource, explain, reject_project_spec};

/// A document read, and what was read leniently.
#[derive(Debug, Clone)]
pub struct Read {
    pub resource: Resource,
    pub warnings: Vec<DecodeError>,
}

/// How many problems one document may have before reading it stops: each costs a decode of the
/// document, and a document of ten thousand unknown keys should not cost ten thousand.
const MAX_PROBLEMS: usize = 64;

impl Resource {
    /// Reads a document written by a person (see the module documentation). `Ok(None)` is a
    /// well-formed document of a kind Convoy does not manage; the errors are every problem found.
    pub fn read(value: &Value) -> Result<Option<Read>, Vec<DecodeError>> {
        let kind = match Resource::kind_of(value) {
            Ok(Some(kind)) => kind,
            Ok(None) => return Ok(None),
            Err(e) => return Err(vec![e]),
        };
        let mut value = value.clone();
        let mut warnings = Vec::new();
        let mut errors = Vec::new();
        if kind.is_cluster_scoped() {
            drop_namespace(kind, &mut value, &mut warnings);
        }
        if kind == Kind::Project
            && let Err(e) = reject_project_spec(&value)
        {
            errors.push(e);
            if let Value::Object(map) = &mut value {
                map.remove("spec");
            }
        }
        if kind == Kind::Warehouse {
            warnings.extend(rewrite_deprecated_tag_filters(&mut value));
        }
        if kind == Kind::Stage {
            require_sources(&value, &mut errors);
            require_template_steps(&value, &mut errors);
        }
        for _ in 0..MAX_PROBLEMS {
            let failure = match Resource::decode_as(kind, &value) {
                Ok(resource) if errors.is_empty() => return Ok(Some(Read { resource, warnings })),
                Ok(_) => return Err(errors),
                Err(failure) => failure,
            };
            let segments: Vec<Step> = failure.path().iter().filter_map(Step::of).collect();
            let message = failure.inner().to_string();
            if !repair(&mut value, &segments, &message, &mut warnings, &mut errors) {
                errors.push(explain(to_field_path(&segments), &message));
                return Err(errors);
            }
        }
        errors.push(DecodeError {
            path: String::new(),
            message: format!("more than {MAX_PROBLEMS} problems in one document; stopped reading it"),
            hint: None,
        });
        Err(errors)
    }
}

/// One segment of a serde path, as it addresses the JSON value.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

impl Step {
    fn of(segment: &serde_path_to_error::Segment) -> Option<Step> {
        use serde_path_to_error::Segment as S;
        match segment {
            S::Seq { index } => Some(Step::Index(*index)),
            S::Map { key } | S::Enum { variant: key } => Some(Step::Key(key.clone())),
            S::Unknown => None,
        }
    }
}

fn to_field_path(steps: &[Step]) -> FieldPath {
    steps.iter().fold(FieldPath::default(), |path, step| match step {
        Step::Key(key) => path.child(key),
        Step::Index(i) => path.index(*i),
    })
}

fn navigate<'v>(value: &'v mut Value, steps: &[Step]) -> Option<&'v mut Value> {
    steps.iter().try_fold(value, |node, step| match (node, step) {
        (Value::Object(map), Step::Key(key)) => map.get_mut(key),
        (Value::Array(items), Step::Index(i)) => items.get_mut(*i),
        _ => None,
    })
}

/// Fixes what the API server or Kargo would have let through, or records an error and removes
/// the offending key so the rest of the document is read too. False when nothing can be done.
fn repair(
    value: &mut Value,
    steps: &[Step],
    message: &str,
    warnings: &mut Vec<DecodeError>,
    errors: &mut Vec<DecodeError>,
) -> bool {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (field, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        // The path may end at the field or at the mapping that holds it.
        let container = match steps.last() {
            Some(Step::Key(last)) if last == field => &steps[..steps.len() - 1],
            _ => steps,
        };
        let Some(Value::Object(map)) = navigate(value, container) else { return false };
        let path = to_field_path(container).child(field);
        if let Some(documented) = known.iter().find(|k| k.eq_ignore_ascii_case(field)) {
            let Some(given) = map.remove(field) else { return false };
            let message = if map.contains_key(*documented) {
                format!("ignored: {documented:?} is given too, and Kargo reads that one")
            } else {
                map.insert((*documented).to_owned(), given);
                format!("read as {documented:?}, the spelling Kargo documents")
            };
            warnings.push(DecodeError { path: path.to_string(), message, hint: Some(format!("write {documented}")) });
            return true;
        }
        if map.remove(field).is_none() {
            return false;
        }
        if in_subscription(container) {
            let guess = crate::suggest::closest(field, known.iter().copied());
            warnings.push(DecodeError {
                path: path.to_string(),
                message: "ignored by Kargo and Convoy (unknown subscription field)".into(),
                hint: Some(guess.map_or_else(
                    || format!("remove it; known here: {}", known.join(", ")),
                    |g| format!("did you mean {g:?}?"),
                )),
            });
        } else {
            let mut error = explain(to_field_path(container), message);
            if let Some(v1) = pre_v1_field(container, field) {
                error.message = format!("a field of Kargo before v1.0; v1 has {v1}");
                error.hint = Some("`convoy migrate -f FILE` rewrites it (add --write to change the file)".into());
            }
            errors.push(error);
        }
        return true;
    }
    if message.starts_with("invalid type: null") {
        // The API server prunes a null it does not accept: the field is absent.
        let Some((Step::Key(field), parent)) = steps.split_last() else { return false };
        let Some(Value::Object(map)) = navigate(value, parent) else { return false };
        return map.remove(field).is_some();
    }
    false
}

/// Stage fields Kargo removed in v1.0, and what replaced them.
fn pre_v1_field(container: &[Step], field: &str) -> Option<&'static str> {
    if !matches!(container, [Step::Key(spec)] if spec == "spec") {
        return None;
    }
    match field {
        "subscriptions" => Some("spec.requestedFreight"),
        "promotionMechanisms" => Some("steps in spec.promotionTemplate.spec.steps"),
        _ => None,
    }
}

/// `spec.subscriptions[i].<type>`: the body of one subscription.
fn in_subscription(container: &[Step]) -> bool {
    matches!(container, [Step::Key(spec), Step::Key(subs), Step::Index(_), Step::Key(_)]
        if spec == "spec" && subs == "subscriptions")
}

fn drop_namespace(kind: Kind, value: &mut Value, warnings: &mut Vec<DecodeError>) {
    let Some(Value::Object(meta)) = value.get_mut("metadata") else { return };
    match meta.remove("namespace") {
        Some(Value::String(ns)) if !ns.is_empty() => warnings.push(DecodeError {
            path: "metadata.namespace".into(),
            message: format!(
                "ignored: a {kind} is cluster-scoped, so the namespace {ns:?} is dropped (as the API server does)"
            ),
            hint: Some("remove metadata.namespace".into()),
        }),
        Some(Value::String(_) | Value::Null) | None => {}
        Some(other) => {
            // Not a string: leave it for the decoder to report.
            meta.insert("namespace".into(), other);
        }
    }
}

/// Kargo requires `origin` and `sources` in each `requestedFreight[]` entry (CRD schema).
fn require_sources(value: &Value, errors: &mut Vec<DecodeError>) {
    let Some(Value::Array(requests)) = value.pointer("/spec/requestedFreight") else { return };
    for (i, request) in requests.iter().enumerate() {
        if request.is_object() && request.get("sources").is_none_or(Value::is_null) {
            errors.push(DecodeError {
                path: format!("spec.requestedFreight[{i}].sources"),
                message: "required field is missing".into(),
                hint: Some(
                    "say where Freight comes from: sources: {direct: true} (from the Warehouse) or sources: {stages: [upstream]}"
                        .into(),
                ),
            });
        }
    }
}

/// A promotion template's `steps`, when given, has at least one item (CRD `minItems`); only a
/// Stage without steps at all is a control-flow Stage.
fn require_template_steps(value: &Value, errors: &mut Vec<DecodeError>) {
    if let Some(Value::Array(steps)) = value.pointer("/spec/promotionTemplate/spec/steps")
        && steps.is_empty()
    {
        errors.push(DecodeError {
            path: "spec.promotionTemplate.spec.steps".into(),
            message: "must have at least 1 item".into(),
            hint: Some("add a step, or remove promotionTemplate to make a control-flow Stage".into()),
        });
    }
}

/// In a Warehouse, each image subscription's `allowTags` (one regular expression) and
/// `ignoreTags` (exact tags) become `allowTagsRegexes` / `ignoreTagsRegexes` entries of the
/// same meaning; one warning per rewrite.
pub fn rewrite_deprecated_tag_filters(value: &mut Value) -> Vec<DecodeError> {
    let mut warnings = Vec::new();
    let Some(Value::Array(subscriptions)) = value.pointer_mut("/spec/subscriptions") else { return warnings };
    for (i, subscription) in subscriptions.iter_mut().enumerate() {
        let Some(Value::Object(image)) = subscription.get_mut("image") else { continue };
        // Read both before rewriting either.
        let allow = image.get("allowTags").and_then(Value::as_str).map(|p| vec![p.to_owned()]);
        let ignore = image.get("ignoreTags").and_then(Value::as_array).and_then(|tags| {
            tags.iter().map(|t| t.as_str().map(|t| format!("^{}$", escape_regex(t)))).collect::<Option<Vec<String>>>()
        });
        let rewrites = [("allowTags", "allowTagsRegexes", allow), ("ignoreTags", "ignoreTagsRegexes", ignore)];
        for (field, into, patterns) in rewrites {
            let Some(patterns) = patterns else { continue };
            image.remove(field);
            for pattern in &patterns {
                push_to(image, into, Value::String(pattern.clone()));
            }
            warnings.push(DecodeError {
                path: format!("spec.subscriptions[{i}].image.{field}"),
                message: format!("deprecated, and Kargo v1.11 fails discovery on it; read as {into}: {patterns:?}"),
                hint: Some(format!("write {into}: {patterns:?}")),
            });
        }
    }
    warnings
}

fn push_to(map: &mut Map<String, Value>, field: &str, item: Value) {
    match map.get_mut(field) {
        Some(Value::Array(items)) => items.push(item),
        _ => {
            map.insert(field.to_owned(), Value::Array(vec![item]));
        }
    }
}

/// A tag as a regular expression matching exactly it (RE2 and the regex crate agree on these).
fn escape_regex(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
