//! Kargo's expression functions (reference §4.3), registered on an expr-lang environment.

use std::collections::BTreeMap;

use convoy_api::{ALIAS_SEPARATOR, FreightOrigin, FreightReference, Subscription};
use expr::{Environment, Value};
use indexmap::IndexMap;

use crate::resolver::Resolver;
use crate::semver::{Version, diff};
use crate::value::{SEMVER_MARKER, to_expr, to_json};
use crate::{gojson, goyaml, quote};

/// Key marking a map that stands for one of Kargo's Go structs; it names the struct so the
/// map renders with the struct's JSON field names.
pub(crate) const STRUCT_MARKER: &str = "\u{0}struct";

type Args = Vec<Value>;
type Res = expr::Result<Value>;

/// Builds a map from alternating keys and values; map literals with nested values are
/// rewritten to call it (see `rewrite`).
pub(crate) const MAP_FUNCTION: &str = "__map";

pub(crate) fn register<'r>(env: &mut Environment<'r>, resolver: &'r dyn Resolver) {
    env.add_function(MAP_FUNCTION, |c| {
        let mut map = IndexMap::new();
        for pair in c.args.chunks(2) {
            let [key, value] = pair else { return fail("map literal needs a value for every key") };
            map.insert(string_arg(key, "map key")?, value.clone());
        }
        Ok(Value::Map(map))
    });
    // Go's expr marshals with json.MarshalIndent(v, "", "  "): sorted keys, two-space indent.
    env.add_function("toJSON", |c| {
        let json = to_json(&one(&c.args)?).map_err(expr::Error::ExprError)?;
        Ok(Value::String(gojson::marshal_indent(&json, "  ")))
    });
    env.add_function("quote", |c| quote_fn(&one(&c.args)?));
    env.add_function("unsafeQuote", |c| unsafe_quote(&one(&c.args)?));
    env.add_function("asJSON", |c| {
        let json = to_json(&one(&c.args)?).map_err(expr::Error::ExprError)?;
        Ok(Value::String(format!("\"{}\n\"", gojson::marshal_indent(&json, "  "))))
    });
    env.add_function("asYAML", |c| {
        let json = to_json(&one(&c.args)?).map_err(expr::Error::ExprError)?;
        Ok(Value::String(format!("\"{}\"", goyaml::marshal(&json))))
    });
    env.add_function("warehouse", |c| {
        let name = string_arg(&exact(&c.args, 1)?[0], "argument")?;
        if name.is_empty() {
            return fail("name must not be empty");
        }
        Ok(origin_value(&FreightOrigin::warehouse(name)))
    });
    env.add_function("commitFrom", move |c| commit_from(resolver, &c.args));
    env.add_function("imageFrom", move |c| image_from(resolver, &c.args));
    env.add_function("chartFrom", move |c| chart_from(resolver, &c.args));
    env.add_function("artifactFrom", move |c| artifact_from(resolver, &c.args));
    env.add_function("freightMetadata", move |c| {
        let name = non_empty(&exact(&c.args, 1)?[0], "first argument", "freight ref name must not be empty")?;
        Ok(resolver.freight_metadata(&name).map_or(Value::Nil, json_map))
    });
    env.add_function("stageMetadata", move |c| {
        let name = non_empty(&exact(&c.args, 1)?[0], "argument", "stage name must not be empty")?;
        Ok(resolver.stage_metadata(&name).map_or(Value::Nil, json_map))
    });
    env.add_function("configMap", move |c| {
        Ok(string_map(resolver.config_map(&string_arg(&exact(&c.args, 1)?[0], "argument")?)))
    });
    env.add_function("secret", move |c| {
        Ok(string_map(resolver.secret(&string_arg(&exact(&c.args, 1)?[0], "argument")?)))
    });
    env.add_function("sharedConfigMap", move |c| {
        Ok(string_map(resolver.shared_config_map(&string_arg(&exact(&c.args, 1)?[0], "argument")?)))
    });
    env.add_function("sharedSecret", move |c| {
        Ok(string_map(resolver.shared_secret(&string_arg(&exact(&c.args, 1)?[0], "argument")?)))
    });
    env.add_function("semverDiff", |c| {
        let args = exact(&c.args, 2)?;
        let a = string_arg(&args[0], "first argument")?;
        let b = string_arg(&args[1], "second argument")?;
        Ok(Value::String(diff(&a, &b).to_owned()))
    });
    env.add_function("semverParse", |c| {
        let text = string_arg(&exact(&c.args, 1)?[0], "argument")?;
        let version =
            Version::parse(&text).map_err(|e| expr::Error::ExprError(format!("invalid semantic version: {e}")))?;
        Ok(semver_value(&version, 2))
    });
    env.add_function("always", |c| {
        exact(&c.args, 0)?;
        Ok(Value::Bool(true))
    });
    env.add_function("failure", move |c| {
        exact(&c.args, 0)?;
        Ok(Value::Bool(has_failures(resolver)))
    });
    env.add_function("success", move |c| {
        exact(&c.args, 0)?;
        Ok(Value::Bool(!has_failures(resolver)))
    });
    env.add_function("status", move |c| {
        let alias = non_empty(&exact(&c.args, 1)?[0], "argument", "argument must not be empty")?;
        Ok(Value::String(step_status(resolver, &alias)))
    });
}

fn fail<T>(message: impl Into<String>) -> expr::Result<T> {
    Err(expr::Error::ExprError(message.into()))
}

fn exact(args: &Args, n: usize) -> expr::Result<&Args> {
    if args.len() == n {
        Ok(args)
    } else if n == 1 {
        fail(format!("expected 1 argument, got {}", args.len()))
    } else {
        fail(format!("expected {n} arguments, got {}", args.len()))
    }
}

fn one(args: &Args) -> expr::Result<Value> {
    Ok(exact(args, 1)?[0].clone())
}

/// Go's `%T` for the value a Go function would have received.
fn go_type(value: &Value) -> &'static str {
    match value {
        Value::Nil => "<nil>",
        Value::Bool(_) => "bool",
        Value::Integer(_) => "int",
        Value::Float(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Map(m) if m.contains_key(STRUCT_MARKER) => "struct",
        Value::Map(_) | Value::KeyedMap(_) => "map[string]interface {}",
        _ => "interface {}",
    }
}

fn string_arg(value: &Value, which: &str) -> expr::Result<String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        other => fail(format!("{which} must be string, got {}", go_type(other))),
    }
}

fn non_empty(value: &Value, which: &str, empty: &str) -> expr::Result<String> {
    let s = string_arg(value, which)?;
    if s.is_empty() { fail(empty) } else { Ok(s) }
}

fn quote_fn(value: &Value) -> Res {
    match value {
        Value::String(s) => Ok(Value::String(quote::go_quote(s))),
        other => unsafe_quote(other),
    }
}

fn unsafe_quote(value: &Value) -> Res {
    let json = to_json(value).map_err(|e| expr::Error::ExprError(format!("error applying quote() function: {e}")))?;
    Ok(Value::String(format!("\"{}\"", gojson::marshal(&json))))
}

fn json_map(map: BTreeMap<String, serde_json::Value>) -> Value {
    Value::Map(map.iter().map(|(k, v)| (k.clone(), to_expr(v))).collect())
}

fn string_map(map: BTreeMap<String, String>) -> Value {
    Value::Map(map.into_iter().map(|(k, v)| (k, Value::String(v))).collect())
}

pub(crate) fn go_struct(name: &str, fields: Vec<(&str, Value)>) -> Value {
    let mut map: IndexMap<String, Value> = fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    map.insert(STRUCT_MARKER.to_owned(), Value::String(name.to_owned()));
    Value::Map(map)
}

fn origin_value(origin: &FreightOrigin) -> Value {
    go_struct(
        "FreightOrigin",
        vec![("Kind", Value::String(origin.kind.clone())), ("Name", Value::String(origin.name.clone()))],
    )
}

fn origin_arg(value: &Value, which: &str) -> expr::Result<FreightOrigin> {
    let field = |m: &IndexMap<String, Value>, a: &str, b: &str| {
        m.get(a).or_else(|| m.get(b)).and_then(|v| v.as_string()).map(str::to_owned)
    };
    match value {
        Value::Map(m) => match (field(m, "Kind", "kind"), field(m, "Name", "name")) {
            (Some(kind), Some(name)) => Ok(FreightOrigin { kind, name }),
            _ => fail(format!("{which} must be FreightOrigin, got {}", go_type(value))),
        },
        other => fail(format!("{which} must be FreightOrigin, got {}", go_type(other))),
    }
}

/// The origin that can provide an artifact: the given one, or the single requested origin
/// whose Warehouse subscribes to it.
fn find_origin(
    resolver: &dyn Resolver,
    desired: Option<FreightOrigin>,
    subscribes: impl Fn(&Subscription) -> bool,
    ambiguity: String,
) -> expr::Result<Option<FreightOrigin>> {
    if desired.is_some() {
        return Ok(desired);
    }
    let mut found: Option<FreightOrigin> = None;
    for origin in resolver.requested_origins() {
        let Some(warehouse) = resolver.warehouse(&origin.name) else {
            return fail(format!("Warehouse {:?} not found in namespace {:?}", origin.name, resolver.project()));
        };
        for subscription in &warehouse.spec.subscriptions {
            if subscribes(subscription) {
                if found.is_some() {
                    return fail(ambiguity);
                }
                found = Some(origin.clone());
            }
        }
    }
    Ok(found)
}

fn collection_of(resolver: &dyn Resolver, origin: &FreightOrigin) -> Vec<FreightReference> {
    resolver.freight_collection().into_iter().filter(|f| &f.origin == origin).collect()
}

fn optional_origin(args: &Args, index: usize, which: &str) -> expr::Result<Option<FreightOrigin>> {
    args.get(index).map(|v| origin_arg(v, which)).transpose()
}

fn range(args: &Args, min: usize, max: usize) -> expr::Result<()> {
    if (min..=max).contains(&args.len()) {
        Ok(())
    } else {
        fail(format!("expected {min}-{max} arguments, got {}", args.len()))
    }
}

fn commit_from(resolver: &dyn Resolver, args: &Args) -> Res {
    range(args, 1, 2)?;
    let repo = convoy_api::urls::normalize_git(&string_arg(&args[0], "first argument")?);
    let desired = optional_origin(args, 1, "second argument")?;
    let ambiguity = format!(
        "multiple requested Freight could potentially provide a commit from repo {repo}; please update promotion steps to disambiguate"
    );
    let subscribes =
        |s: &Subscription| matches!(s, Subscription::Git(g) if convoy_api::urls::normalize_git(&g.repo_url) == repo);
    let Some(origin) = find_origin(resolver, desired, subscribes, ambiguity)? else { return Ok(Value::Nil) };
    for freight in collection_of(resolver, &origin) {
        if let Some(c) = freight.commits.iter().find(|c| convoy_api::urls::normalize_git(&c.repo_url) == repo) {
            return Ok(go_struct(
                "GitCommit",
                vec![
                    ("RepoURL", Value::String(c.repo_url.clone())),
                    ("ID", Value::String(c.id.clone())),
                    ("Branch", Value::String(c.branch.clone())),
                    ("Tag", Value::String(c.tag.clone())),
                    ("Message", Value::String(c.message.clone())),
                    ("Author", Value::String(c.author.clone())),
                    ("Committer", Value::String(c.committer.clone())),
                ],
            ));
        }
    }
    Ok(Value::Nil)
}

fn image_from(resolver: &dyn Resolver, args: &Args) -> Res {
    range(args, 1, 2)?;
    let repo = string_arg(&args[0], "first argument")?;
    let desired = optional_origin(args, 1, "second argument")?;
    let ambiguity = format!(
        "multiple requested Freight could potentially provide a container image from repository {repo}: please provide a Freight origin to disambiguate"
    );
    let subscribes = |s: &Subscription| matches!(s, Subscription::Image(i) if i.repo_url == repo);
    let Some(origin) = find_origin(resolver, desired, subscribes, ambiguity)? else { return Ok(Value::Nil) };
    for freight in collection_of(resolver, &origin) {
        if let Some(i) = freight.images.iter().find(|i| i.repo_url == repo) {
            let annotations = i.annotations.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
            return Ok(go_struct(
                "Image",
                vec![
                    ("RepoURL", Value::String(i.repo_url.clone())),
                    ("Tag", Value::String(i.tag.clone())),
                    ("Digest", Value::String(i.digest.clone())),
                    ("Annotations", Value::Map(annotations)),
                ],
            ));
        }
    }
    Ok(Value::Nil)
}

fn chart_from(resolver: &dyn Resolver, args: &Args) -> Res {
    range(args, 1, 3)?;
    let repo = string_arg(&args[0], "first argument")?;
    let (mut name, mut desired) = (String::new(), None);
    if let Some(second) = args.get(1) {
        match second {
            Value::String(s) => name = s.clone(),
            other => match origin_arg(other, "second argument") {
                Ok(o) => desired = Some(o),
                Err(_) => {
                    return fail(format!("second argument must be string or FreightOrigin, got {}", go_type(other)));
                }
            },
        }
    }
    if let Some(third) = args.get(2) {
        if name.is_empty() {
            return fail(format!(
                "when using three arguments, second argument must be string, got {}",
                go_type(&args[1])
            ));
        }
        desired = Some(origin_arg(third, "third argument")?);
    }
    let explicit = desired.is_some();
    let ambiguity = format!(
        "multiple requested Freight could potentially provide a chart from repository {repo}: please provide a Freight origin to disambiguate"
    );
    let subscribes = |s: &Subscription| matches!(s, Subscription::Chart(c) if c.repo_url == repo && c.name.as_deref().unwrap_or("") == name);
    let Some(origin) = find_origin(resolver, desired, subscribes, ambiguity)? else {
        debug_assert!(!explicit);
        return if name.is_empty() {
            fail(format!("chart from repo {repo} not found in referenced Freight"))
        } else {
            fail(format!("chart {name:?} from repo {repo} not found in referenced Freight"))
        };
    };
    for freight in collection_of(resolver, &origin) {
        if let Some(c) = freight.charts.iter().find(|c| c.repo_url == repo && c.name == name) {
            return Ok(go_struct(
                "Chart",
                vec![
                    ("RepoURL", Value::String(c.repo_url.clone())),
                    ("Name", Value::String(c.name.clone())),
                    ("Version", Value::String(c.version.clone())),
                ],
            ));
        }
    }
    Ok(Value::Nil)
}

fn artifact_from(resolver: &dyn Resolver, args: &Args) -> Res {
    range(args, 1, 2)?;
    let subscription = string_arg(&args[0], "first argument")?;
    let desired = optional_origin(args, 1, "second argument")?;
    let ambiguity = format!(
        "error finding artifact from subscription {subscription}: multiple requested Freight could potentially provide an artifact from subscription {subscription}: please provide a Freight origin to disambiguate"
    );
    let subscribes = |s: &Subscription| matches!(s, Subscription::Generic { body, .. } if body.name == subscription);
    let Some(origin) = find_origin(resolver, desired, subscribes, ambiguity)? else { return Ok(Value::Nil) };
    for freight in collection_of(resolver, &origin) {
        if let Some(a) = freight.artifacts.iter().find(|a| a.subscription_name == subscription) {
            let metadata = a.metadata.as_ref().map_or_else(|| Value::Map(IndexMap::new()), to_expr);
            return Ok(go_struct(
                "ArtifactReference",
                vec![
                    ("ArtifactType", Value::String(a.artifact_type.clone())),
                    ("SubscriptionName", Value::String(a.subscription_name.clone())),
                    ("Version", Value::String(a.version.clone())),
                    ("Metadata", metadata),
                ],
            ));
        }
    }
    Ok(Value::Nil)
}

/// A version as a map of its "methods" (`.Major()` is rewritten to `.Major` before compiling).
fn semver_value(v: &Version, depth: u8) -> Value {
    let mut map = IndexMap::new();
    map.insert("Major".to_owned(), Value::Integer(v.major as i64));
    map.insert("Minor".to_owned(), Value::Integer(v.minor as i64));
    map.insert("Patch".to_owned(), Value::Integer(v.patch as i64));
    map.insert("Prerelease".to_owned(), Value::String(v.pre.clone()));
    map.insert("Metadata".to_owned(), Value::String(v.metadata.clone()));
    map.insert("Original".to_owned(), Value::String(v.original.clone()));
    map.insert("String".to_owned(), Value::String(v.to_string()));
    if depth > 0 {
        map.insert("IncMajor".to_owned(), semver_value(&v.inc_major(), depth - 1));
        map.insert("IncMinor".to_owned(), semver_value(&v.inc_minor(), depth - 1));
        map.insert("IncPatch".to_owned(), semver_value(&v.inc_patch(), depth - 1));
    }
    map.insert(SEMVER_MARKER.to_owned(), Value::Bool(true));
    Value::Map(map)
}

/// Method names of Kargo's `*semver.Version` that expressions may call.
pub(crate) const SEMVER_METHODS: &[&str] =
    &["Major", "Minor", "Patch", "Prerelease", "Metadata", "Original", "IncMajor", "IncMinor", "IncPatch", "String"];

fn has_failures(resolver: &dyn Resolver) -> bool {
    resolver.step_outcomes().iter().any(|s| !s.continue_on_error && matches!(s.status.as_str(), "Failed" | "Errored"))
}

/// `status(alias)` resolves the alias in the current step's task namespace.
fn step_status(resolver: &dyn Resolver, alias: &str) -> String {
    let namespace = |full: &str| -> (String, String) {
        match full.split_once(ALIAS_SEPARATOR) {
            Some((ns, short)) if !short.contains(ALIAS_SEPARATOR) => (ns.to_owned(), short.to_owned()),
            _ => (String::new(), full.to_owned()),
        }
    };
    let (current_ns, _) = namespace(&resolver.current_step_alias().unwrap_or_default());
    resolver
        .step_outcomes()
        .into_iter()
        .find(|s| namespace(&s.alias) == (current_ns.clone(), alias.to_owned()))
        .map(|s| s.status)
        .unwrap_or_default()
}
