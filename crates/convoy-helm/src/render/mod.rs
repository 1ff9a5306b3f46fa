//! One `helm template` (`helm-rendering.md` §2): dependencies enabled and aliased, values
//! coalesced (import-values, globals), every template parsed into one set in Helm's order and
//! executed with its chart's top-level object, then split, sorted by kind and written as Helm's
//! manifest text (`---`, `# Source:`), hooks last.

mod manifest;
mod objects;
mod values;

use std::sync::Arc;

use crate::chart::Chart;
use crate::value::{Map, Value};
use manifest::{Document, HOOK_EVENTS, kind_rank};
use objects::{API_VERSIONS, Capabilities, Files};
use values::{coalesce, process_dependencies, table};

/// How to render (Kargo's `helm-template` fields that reach Helm).
#[derive(Debug, Clone)]
pub struct Options {
    pub release_name: String,
    pub namespace: String,
    /// `v1.20.0` when unset (Helm as a library).
    pub kube_version: Option<String>,
    /// Appended to the default API versions.
    pub api_versions: Vec<String>,
    pub include_crds: bool,
    pub skip_tests: bool,
    pub disable_hooks: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            release_name: "release-name".into(),
            namespace: "default".into(),
            kube_version: None,
            api_versions: Vec::new(),
            include_crds: false,
            skip_tests: false,
            disable_hooks: false,
        }
    }
}

/// Each chart's top-level object, and its templates' full names.
struct Scope {
    object: Value,
    library: bool,
    templates: Vec<(String, String)>,
    crds: Vec<(String, Vec<u8>)>,
}

fn scopes(
    chart: &Chart,
    path: &str,
    values: &Map,
    options: &Options,
    capabilities: &Value,
    root: bool,
    out: &mut Vec<Scope>,
) {
    let chart_map = Value::map([
        ("Name", Value::from(chart.name())),
        ("Version", Value::from(chart.meta_text("version"))),
        ("AppVersion", Value::from(chart.meta_text("appVersion"))),
        ("Description", Value::from(chart.meta_text("description"))),
        ("APIVersion", Value::from(chart.meta_text("apiVersion"))),
        ("Type", Value::from(chart.meta_text("type"))),
        ("KubeVersion", Value::from(chart.meta_text("kubeVersion"))),
        ("Home", Value::from(chart.meta_text("home"))),
        ("Icon", Value::from(chart.meta_text("icon"))),
        ("Deprecated", Value::Bool(chart.meta.get("deprecated") == Some(Value::Bool(true)))),
        ("Annotations", chart.meta.get("annotations").unwrap_or(Value::Nil)),
        ("Keywords", chart.meta.get("keywords").unwrap_or(Value::Nil)),
        ("Maintainers", chart.meta.get("maintainers").unwrap_or(Value::Nil)),
        ("Sources", chart.meta.get("sources").unwrap_or(Value::Nil)),
        ("Dependencies", chart.meta.get("dependencies").unwrap_or(Value::Nil)),
        ("IsRoot", Value::Bool(root)),
    ]);
    let subcharts = Map::default();
    let first_sub = out.len() + 1;
    let object = Map::from_iter([
        ("Values".to_owned(), Value::Map(values.clone())),
        ("Chart".to_owned(), chart_map),
        (
            "Release".to_owned(),
            Value::map([
                ("Name", Value::from(options.release_name.as_str())),
                ("Namespace", Value::from(options.namespace.as_str())),
                ("IsUpgrade", Value::Bool(false)),
                ("IsInstall", Value::Bool(true)),
                ("Revision", Value::Int(1)),
                ("Service", Value::from("Helm")),
            ]),
        ),
        ("Capabilities".to_owned(), capabilities.clone()),
        ("Files".to_owned(), Value::Object(Arc::new(Files(chart.files.clone())))),
        ("Subcharts".to_owned(), Value::Map(subcharts.clone())),
    ]);
    let templates = chart.templates.iter().map(|(p, t)| (format!("{path}/{p}"), t.clone())).collect();
    let crds = chart.crds().map(|(p, b)| (format!("{path}/{p}"), b.clone())).collect();
    out.push(Scope { object: Value::Map(object), library: chart.is_library(), templates, crds });
    let _ = first_sub;
    for sub in &chart.charts {
        let name = sub.name();
        let sub_values = match values.get(&name) {
            Some(Value::Map(m)) => m,
            _ => Map::default(),
        };
        let index = out.len();
        scopes(sub, &format!("{path}/charts/{name}"), &sub_values, options, capabilities, false, out);
        subcharts.insert(name, out[index].object.clone());
    }
}

/// Helm's parse order: deeper paths first, then reverse byte order.
fn parse_order(a: &str, b: &str) -> std::cmp::Ordering {
    let depth = |s: &str| s.matches('/').count();
    depth(b).cmp(&depth(a)).then_with(|| b.cmp(a))
}

/// Renders `chart` with `user` values: `helm template`'s text (CRDs when asked, manifests, hooks).
pub fn render(chart: &Chart, user: &Map, options: &Options) -> Result<String, String> {
    render_parts(chart, user, options).map(|r| r.to_text())
}

/// Helm's `ValidateAgainstSchema`: each chart with a schema against its part of the values
/// (a subchart's part only when it is there and not null), failures listed per chart.
fn validate_values(chart: &Chart, values: &Map) -> Result<(), String> {
    fn collect(chart: &Chart, values: &Map, out: &mut String) -> Result<(), String> {
        if let Some(schema) = &chart.schema {
            let json = crate::sprig::encoding::to_json(&Value::Map(values.clone()), false, None)?;
            let json: serde_json::Value = serde_json::from_str(&json).map_err(|e| e.to_string())?;
            let failures = crate::schema::validate(schema, &json).map_err(|e| format!("{}: {e}", chart.name()))?;
            if !failures.is_empty() {
                out.push_str(&format!("{}:\n{failures}", chart.name()));
            }
        }
        for sub in &chart.charts {
            if let Some(Value::Map(section)) = values.get(&sub.name()) {
                collect(sub, &section, out)?;
            }
        }
        Ok(())
    }
    let mut failures = String::new();
    collect(chart, values, &mut failures)?;
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!("values don't meet the specifications of the schema(s) in the following chart(s):\n{failures}"))
    }
}

/// Renders `chart` with `user` values into its parts.
pub fn render_parts(chart: &Chart, user: &Map, options: &Options) -> Result<Rendered, String> {
    let mut chart = chart.clone();
    process_dependencies(&mut chart, user, "")?;
    let values = user.deep_copy();
    coalesce(&chart, &values)?;
    validate_values(&chart, &values)?;
    let (version, major, minor) = kube_version(options.kube_version.as_deref())?;
    let mut api_versions: Vec<String> = API_VERSIONS.iter().map(|s| (*s).to_owned()).collect();
    api_versions.extend(options.api_versions.iter().cloned());
    let capabilities = Value::Object(Arc::new(Capabilities { version, major, minor, api_versions }));
    let mut all = Vec::new();
    scopes(&chart, &chart.name(), &values, options, &capabilities, true, &mut all);

    let mut set = crate::engine::new_set();
    let mut named: Vec<(String, String, usize)> = Vec::new();
    for (index, scope) in all.iter().enumerate() {
        for (name, text) in &scope.templates {
            let partial = name.rsplit('/').next().is_some_and(|b| b.starts_with('_'));
            if scope.library && !partial {
                continue;
            }
            named.push((name.clone(), text.clone(), index));
        }
    }
    named.sort_by(|a, b| parse_order(&a.0, &b.0));
    for (name, text, _) in &named {
        set.add(name, text).map_err(|e| parse_error(&e.to_string()))?;
    }
    let mut rendered: Vec<(String, String)> = Vec::new();
    for (name, _, index) in &named {
        let base = name.rsplit('/').next().unwrap_or(name);
        if base.starts_with('_') {
            continue;
        }
        let scope = &all[*index];
        let Value::Map(object) = &scope.object else { unreachable!("a map") };
        let data = object.shallow_copy();
        let chart_path = name.split("/templates/").next().unwrap_or(name);
        data.insert(
            "Template",
            Value::map([
                ("Name", Value::from(name.as_str())),
                ("BasePath", Value::from(format!("{chart_path}/templates"))),
            ]),
        );
        let text = set.execute(name, &Value::Map(data)).map_err(|e| execution_error(&e.to_string()))?;
        rendered.push((name.clone(), text.replace("<no value>", "")));
    }
    rendered.retain(|(name, _)| !name.ends_with("NOTES.txt"));
    rendered.sort_by(|a, b| a.0.cmp(&b.0));
    let separator = regex::Regex::new(r"(?:\A|\s*\n)---\s*").expect("a valid pattern");
    let mut manifests = Vec::new();
    let mut hooks = Vec::new();
    for (path, text) in &rendered {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            continue;
        }
        for piece in separator.split(trimmed) {
            let piece = piece.trim();
            if piece.is_empty() {
                continue;
            }
            let head = crate::yaml_in::from_yaml(piece)
                .map_err(|e| format!("YAML parse error on {path}: error converting YAML to JSON: {e}"))?;
            let kind = match &head {
                Value::Map(m) => m.get("kind").map(|k| crate::sprig::to_string_value(&k)).unwrap_or_default(),
                _ => String::new(),
            };
            let annotations = match &head {
                Value::Map(m) => table(m, "metadata.annotations"),
                _ => None,
            };
            let hook = annotations.and_then(|a| a.get("helm.sh/hook")).map(|h| {
                crate::sprig::to_string_value(&h)
                    .split(',')
                    .map(|e| e.trim().to_ascii_lowercase())
                    .filter(|e| !e.is_empty())
                    .collect::<Vec<_>>()
            });
            let document = Document { path: path.clone(), kind, text: piece.to_owned(), hook };
            match &document.hook {
                Some(events) => {
                    if events.iter().any(|e| !HOOK_EVENTS.contains(&e.as_str())) {
                        continue;
                    }
                    hooks.push(document);
                }
                None => manifests.push(document),
            }
        }
    }
    manifests.sort_by_key(|d| kind_rank(&d.kind));
    hooks.sort_by_key(|d| kind_rank(&d.kind));
    let crds = if options.include_crds {
        all.iter()
            .flat_map(|scope| {
                scope.crds.iter().map(|(path, bytes)| (path.clone(), String::from_utf8_lossy(bytes).into_owned()))
            })
            .collect()
    } else {
        Vec::new()
    };
    let hooks = hooks
        .into_iter()
        .map(|d| Hook { path: d.path, text: d.text, events: d.hook.unwrap_or_default() })
        .filter(|hook| !(options.skip_tests && hook.is_test()))
        .filter(|_| !options.disable_hooks)
        .collect();
    Ok(Rendered { crds, manifests: manifests.into_iter().map(|d| (d.path, d.text)).collect(), hooks })
}

/// A rendered chart: raw CRDs, manifests in install order, hooks (tests filtered as asked).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rendered {
    pub crds: Vec<(String, String)>,
    pub manifests: Vec<(String, String)>,
    pub hooks: Vec<Hook>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Hook {
    pub path: String,
    pub text: String,
    pub events: Vec<String>,
}

impl Hook {
    pub fn is_test(&self) -> bool {
        self.events.iter().any(|e| e == "test" || e == "test-success")
    }
}

/// `---\n# Source: PATH\nDOC\n`.
pub fn block(path: &str, text: &str) -> String {
    format!("---\n# Source: {path}\n{text}\n")
}

impl Rendered {
    /// Helm's release manifest: CRDs, then manifests.
    pub fn manifest(&self) -> String {
        self.crds.iter().chain(&self.manifests).map(|(p, t)| block(p, t)).collect()
    }

    /// `helm template`'s output (and Kargo's single-file output): the manifest trimmed, a
    /// newline, then the hooks.
    pub fn to_text(&self) -> String {
        let mut out = format!("{}\n", self.manifest().trim());
        for hook in &self.hooks {
            out.push_str(&block(&hook.path, &hook.text));
        }
        out
    }
}

/// `template: NAME:LINE: msg` as Helm reports a parse error.
fn parse_error(go: &str) -> String {
    match go.strip_prefix("template: ").and_then(|r| r.split_once(": ")) {
        Some((at, message)) => format!("parse error at ({at}): {message}"),
        None => go.to_owned(),
    }
}

/// `required`/`fail` as Helm reports them; other errors as Go's.
fn execution_error(go: &str) -> String {
    for marker in ["error calling required: ", "error calling fail: "] {
        if let (Some(at), Some((_, message))) =
            (go.strip_prefix("template: ").and_then(|r| r.split(": executing").next()), go.split_once(marker))
        {
            return format!("execution error at ({at}): {message}");
        }
    }
    go.to_owned()
}

/// `v1.20.0` by default; a given version parsed loosely (`1.29` → `v1.29`).
fn kube_version(given: Option<&str>) -> Result<(String, String, String), String> {
    let Some(given) = given.filter(|g| !g.is_empty()) else {
        return Ok(("v1.20.0".into(), "1".into(), "20".into()));
    };
    let body = given.trim_start_matches('v');
    let numbers: Vec<&str> = body.split(['.', '-', '+']).take(3).collect();
    let numeric: Vec<&str> =
        numbers.iter().take_while(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit())).copied().collect();
    if numeric.len() < 2 {
        return Err(format!("failed to parse Kubernetes version {given:?}: could not parse {given:?} as version"));
    }
    Ok((format!("v{}", numeric.join(".")), numeric[0].to_owned(), numeric[1].to_owned()))
}
