//! Pre-v1.0 Kargo manifests to v1, as values (the CLI's `convoy migrate` keeps the text around
//! them). What changed in Kargo v0.9 → v1.0:
//!
//! - Project `spec.promotionPolicies` → a ProjectConfig named after the project;
//! - Stage `spec.subscriptions.{warehouse, upstreamStages}` → `spec.requestedFreight`;
//! - Stage `spec.promotionMechanisms` (`gitRepoUpdates` with kustomize / helm / render, and
//!   `argoCDAppUpdates`) → `spec.promotionTemplate.spec.steps` doing the same work;
//! - image subscription `allowTags` / `ignoreTags` → `allowTagsRegexes` / `ignoreTagsRegexes`.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

/// One document's migration: the v1 value and what the user should check.
#[derive(Debug, Clone, PartialEq)]
pub struct Migrated {
    pub value: Value,
    pub notes: Vec<String>,
}

/// The migration of a set of documents: per document, `None` when it needs nothing; and
/// documents to add (a ProjectConfig per Project that carried policies).
#[derive(Debug, Default)]
pub struct SetMigration {
    pub documents: Vec<Option<Migrated>>,
    pub added: Vec<Value>,
    /// Documents that cannot be migrated, and why.
    pub errors: Vec<(usize, String)>,
}

pub fn migrate_set(documents: &[Value]) -> SetMigration {
    let warehouses = stage_warehouses(documents);
    let git_repos = warehouse_git_repos(documents);
    let mut out = SetMigration::default();
    for (i, document) in documents.iter().enumerate() {
        let kind = document.get("kind").and_then(Value::as_str).unwrap_or("");
        let result = match kind {
            "Project" => migrate_project(document, &mut out.added),
            "Stage" => migrate_stage(document, &warehouses, &git_repos),
            "Warehouse" => Ok(migrate_warehouse(document)),
            _ => Ok(None),
        };
        match result {
            Ok(migrated) => out.documents.push(migrated),
            Err(why) => {
                out.errors.push((i, why));
                out.documents.push(None);
            }
        }
    }
    out
}

fn text<'v>(value: &'v Value, pointer: &str) -> &'v str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn migrate_project(project: &Value, added: &mut Vec<Value>) -> Result<Option<Migrated>, String> {
    let Some(spec) = project.get("spec") else { return Ok(None) };
    let name = text(project, "/metadata/name");
    let mut value = project.clone();
    if let Value::Object(map) = &mut value {
        map.remove("spec");
    }
    let mut notes = Vec::new();
    match spec.get("promotionPolicies") {
        Some(policies) => {
            added.push(json!({
                "apiVersion": convoy_api::KARGO_API_VERSION,
                "kind": "ProjectConfig",
                "metadata": {"name": name, "namespace": name},
                "spec": {"promotionPolicies": policies},
            }));
            notes.push(format!("spec.promotionPolicies moved to ProjectConfig {name:?} (added at the end)"));
        }
        None => notes.push("spec removed: a Project has none in v1".to_owned()),
    }
    Ok(Some(Migrated { value, notes }))
}

fn migrate_warehouse(warehouse: &Value) -> Option<Migrated> {
    let mut value = warehouse.clone();
    let warnings = convoy_api::rewrite_deprecated_tag_filters(&mut value);
    if warnings.is_empty() {
        return None;
    }
    let notes = warnings.into_iter().map(|w| format!("{}: {}", w.path, w.message)).collect();
    Some(Migrated { value, notes })
}

/// The git repositories each Warehouse of the set subscribes to, normalized.
fn warehouse_git_repos(documents: &[Value]) -> BTreeMap<(String, String), Vec<String>> {
    documents
        .iter()
        .filter(|d| text(d, "/kind") == "Warehouse")
        .map(|d| {
            let repos = d
                .pointer("/spec/subscriptions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|s| s.pointer("/git/repoURL").and_then(Value::as_str))
                .map(convoy_api::urls::normalize_git)
                .collect();
            ((text(d, "/metadata/namespace").to_owned(), text(d, "/metadata/name").to_owned()), repos)
        })
        .collect()
}

/// Each Stage's Warehouse: its own subscription or request, else its upstream Stages'.
fn stage_warehouses(documents: &[Value]) -> BTreeMap<(String, String), String> {
    let stages: BTreeMap<(String, String), &Value> = documents
        .iter()
        .filter(|d| text(d, "/kind") == "Stage")
        .map(|d| ((text(d, "/metadata/namespace").to_owned(), text(d, "/metadata/name").to_owned()), d))
        .collect();
    let mut found = BTreeMap::new();
    for key in stages.keys() {
        let mut seen = Vec::new();
        if let Some(warehouse) = warehouse_of(key, &stages, &mut seen) {
            found.insert(key.clone(), warehouse);
        }
    }
    found
}

fn warehouse_of(
    key: &(String, String),
    stages: &BTreeMap<(String, String), &Value>,
    seen: &mut Vec<(String, String)>,
) -> Option<String> {
    if seen.contains(key) {
        return None; // a cycle
    }
    seen.push(key.clone());
    let stage = stages.get(key)?;
    let direct = text(stage, "/spec/subscriptions/warehouse");
    if !direct.is_empty() {
        return Some(direct.to_owned());
    }
    if let Some(origin) = stage.pointer("/spec/requestedFreight/0/origin/name").and_then(Value::as_str) {
        return Some(origin.to_owned());
    }
    let upstream = stage.pointer("/spec/subscriptions/upstreamStages")?.as_array()?;
    upstream.iter().find_map(|u| {
        let name = u.get("name").and_then(Value::as_str)?;
        warehouse_of(&(key.0.clone(), name.to_owned()), stages, seen)
    })
}

fn migrate_stage(
    stage: &Value,
    warehouses: &BTreeMap<(String, String), String>,
    git_repos: &BTreeMap<(String, String), Vec<String>>,
) -> Result<Option<Migrated>, String> {
    let spec = stage.get("spec").and_then(Value::as_object).cloned().unwrap_or_default();
    if !spec.contains_key("subscriptions") && !spec.contains_key("promotionMechanisms") {
        return Ok(None);
    }
    let key = (text(stage, "/metadata/namespace").to_owned(), text(stage, "/metadata/name").to_owned());
    let mut notes = Vec::new();
    let mut spec = spec;
    if let Some(subscriptions) = spec.remove("subscriptions") {
        if spec.contains_key("requestedFreight") {
            notes.push("spec.subscriptions removed: spec.requestedFreight already says the same".to_owned());
        } else {
            let warehouse = warehouses.get(&key).ok_or_else(|| {
                format!(
                    "Stage {:?}: the Warehouse its upstream Stages take Freight from is not among the given files; migrate the Stages of the pipeline together",
                    key.1
                )
            })?;
            let sources = match subscriptions.get("upstreamStages").and_then(Value::as_array) {
                Some(upstream) if !upstream.is_empty() => {
                    let names: Vec<&str> =
                        upstream.iter().filter_map(|u| u.get("name").and_then(Value::as_str)).collect();
                    json!({"stages": names})
                }
                _ => json!({"direct": true}),
            };
            spec.insert(
                "requestedFreight".into(),
                json!([{"origin": {"kind": "Warehouse", "name": warehouse}, "sources": sources}]),
            );
            notes.push(format!("spec.subscriptions became spec.requestedFreight (Warehouse {warehouse:?})"));
        }
    }
    if let Some(mechanisms) = spec.remove("promotionMechanisms") {
        // The repositories whose commit the Stage's Freight carries (v0 read those at it).
        let subscribed =
            warehouses.get(&key).and_then(|w| git_repos.get(&(key.0.clone(), w.clone()))).cloned().unwrap_or_default();
        let steps = mechanism_steps(&mechanisms, &subscribed, &mut notes);
        if !steps.is_empty() {
            spec.insert("promotionTemplate".into(), json!({"spec": {"steps": steps}}));
            notes.push(format!("spec.promotionMechanisms became {} promotion steps", steps.len()));
        }
    }
    let mut value = stage.clone();
    value["spec"] = Value::Object(spec);
    Ok(Some(Migrated { value, notes }))
}

/// An expression naming the Freight origin to read from, when the mechanism named one.
fn origin_arg(origin: Option<&str>) -> String {
    origin.map_or_else(String::new, |o| format!(", warehouse({o:?})"))
}

fn origin_of<'v>(node: &'v Value, inherited: Option<&'v str>) -> Option<&'v str> {
    node.pointer("/origin/name").and_then(Value::as_str).or(inherited)
}

fn mechanism_steps(mechanisms: &Value, subscribed: &[String], notes: &mut Vec<String>) -> Vec<Value> {
    let origin = origin_of(mechanisms, None);
    let mut steps = Vec::new();
    let mut pushed: BTreeMap<String, String> = BTreeMap::new();
    for (i, update) in mechanisms.get("gitRepoUpdates").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let alias = |what: &str| if i == 0 { what.to_owned() } else { format!("{what}-{}", i + 1) };
        let repo = text(update, "/repoURL");
        let carried = subscribed.contains(&convoy_api::urls::normalize_git(repo));
        git_repo_update(update, origin_of(update, origin), carried, &alias, &mut steps, notes);
        pushed.insert(text(update, "/repoURL").to_owned(), alias("commit"));
    }
    let apps: Vec<Value> = mechanisms
        .get("argoCDAppUpdates")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|app| argocd_app(app, origin_of(app, origin), &pushed))
        .collect();
    if !apps.is_empty() {
        steps.push(json!({"uses": "argocd-update", "config": {"apps": apps}}));
    }
    steps
}

/// Checkout, edits, commit and push equivalent to one `gitRepoUpdates[]` entry. In v0 the
/// edits (kustomize, helm) were made on the write branch; `render` built the manifests read
/// from the Freight's commit (when it carries one of the repository), else `readBranch`, else
/// the default branch, into the write branch.
fn git_repo_update(
    update: &Value,
    origin: Option<&str>,
    carried: bool,
    alias: &dyn Fn(&str) -> String,
    steps: &mut Vec<Value>,
    notes: &mut Vec<String>,
) {
    let repo = text(update, "/repoURL");
    let read = text(update, "/readBranch");
    let write = text(update, "/writeBranch");
    let render = update.get("render");
    let (src, out) = (format!("./{}", alias("src")), format!("./{}", alias("out")));
    let checkout = match render {
        Some(_) => {
            let source = if carried {
                json!({"commit": format!("${{{{ commitFrom({repo:?}{}).ID }}}}", origin_arg(origin)), "path": src})
            } else if !read.is_empty() {
                json!({"branch": read, "path": src})
            } else {
                json!({"path": src})
            };
            vec![source, json!({"branch": write, "create": true, "path": out})]
        }
        None => vec![json!({"branch": write, "path": src})],
    };
    let mut clone = json!({"repoURL": repo, "checkout": checkout});
    if update.get("insecureSkipTLSVerify") == Some(&Value::Bool(true)) {
        clone["insecureSkipTLSVerify"] = json!(true);
    }
    steps.push(json!({"uses": "git-clone", "config": clone}));
    let target = if render.is_some() { &out } else { &src };
    if render.is_some() {
        steps.push(json!({"uses": "git-clear", "config": {"path": out}}));
    }
    if let Some(kustomize) = update.get("kustomize") {
        let origin = origin_of(kustomize, origin);
        let mut by_path: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for image in kustomize.get("images").and_then(Value::as_array).into_iter().flatten() {
            let path = format!("{src}/{}", text(image, "/path"));
            by_path.entry(path).or_default().push(kustomize_image(image, origin_of(image, origin)));
        }
        for (path, images) in by_path {
            steps.push(json!({"uses": "kustomize-set-image", "as": alias("update"), "config": {"path": path, "images": images}}));
        }
    }
    if let Some(helm) = update.get("helm") {
        helm_updates(helm, origin_of(helm, origin), &src, alias, steps);
    }
    if let Some(render) = render {
        let path = format!("{src}/{write}");
        let images: Vec<Value> = render
            .get("images")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|image| kustomize_image(image, origin_of(image, origin_of(render, origin))))
            .collect();
        if !images.is_empty() {
            steps.push(json!({"uses": "kustomize-set-image", "as": alias("update"), "config": {"path": path, "images": images}}));
        }
        steps.push(json!({"uses": "kustomize-build", "config": {"path": path, "outPath": out}}));
        notes.push(format!(
            "{repo}: Kargo Render's default assumed (the kustomization in the directory named like the branch, {write}); check kargo-render.yaml if you had one"
        ));
    }
    let message = format!("Promote ${{{{ ctx.targetFreight.name }}}} to ${{{{ ctx.stage }}}} in {repo}");
    steps.push(json!({"uses": "git-commit", "as": alias("commit"), "config": {"path": target, "message": message}}));
    let mut push = json!({"path": target});
    if update.get("pullRequest").is_some() {
        push["generateTargetBranch"] = json!(true);
        steps.push(json!({"uses": "git-push", "as": alias("push"), "config": push}));
        let base = if write.is_empty() { read } else { write };
        steps.push(json!({"uses": "git-open-pr", "as": alias("open-pr"), "config": {
            "repoURL": repo,
            "sourceBranch": format!("${{{{ outputs[{:?}].branch }}}}", alias("push")),
            "targetBranch": base,
        }}));
        steps.push(json!({"uses": "git-wait-for-pr", "config": {
            "repoURL": repo,
            "prNumber": format!("${{{{ outputs[{:?}].pr.id }}}}", alias("open-pr")),
        }}));
    } else {
        steps.push(json!({"uses": "git-push", "config": push}));
    }
}

fn kustomize_image(image: &Value, origin: Option<&str>) -> Value {
    let name = text(image, "/image");
    let field = if image.get("useDigest") == Some(&Value::Bool(true)) { "Digest" } else { "Tag" };
    let mut out = json!({"image": name});
    out[field.to_ascii_lowercase()] = json!(format!("${{{{ imageFrom({name:?}{}).{field} }}}}", origin_arg(origin)));
    out
}

/// `value: Tag | Digest | ImageAndTag | ImageAndDigest` of v0's Helm image updates.
fn helm_image_value(image: &Value, origin: Option<&str>) -> String {
    let name = text(image, "/image");
    let from = |field: &str| format!("${{{{ imageFrom({name:?}{}).{field} }}}}", origin_arg(origin));
    match text(image, "/value") {
        "Digest" => from("Digest"),
        "ImageAndTag" => format!("{name}:{}", from("Tag")),
        "ImageAndDigest" => format!("{name}@{}", from("Digest")),
        _ => from("Tag"),
    }
}

fn helm_updates(helm: &Value, origin: Option<&str>, src: &str, alias: &dyn Fn(&str) -> String, steps: &mut Vec<Value>) {
    let mut by_file: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for image in helm.get("images").and_then(Value::as_array).into_iter().flatten() {
        let path = format!("{src}/{}", text(image, "/valuesFilePath"));
        let value = helm_image_value(image, origin_of(image, origin));
        by_file.entry(path).or_default().push(json!({"key": text(image, "/key"), "value": value}));
    }
    for (path, updates) in by_file {
        steps.push(json!({"uses": "yaml-update", "as": alias("update"), "config": {"path": path, "updates": updates}}));
    }
    let mut by_chart: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for chart in helm.get("charts").and_then(Value::as_array).into_iter().flatten() {
        let (repository, name) = (text(chart, "/repository"), text(chart, "/name"));
        let origin = origin_arg(origin_of(chart, origin));
        // An OCI chart is subscribed to by its full reference; a classic repository by URL and name.
        let from = if repository.starts_with("oci://") {
            format!("chartFrom({:?}{origin})", format!("{}/{name}", repository.trim_end_matches('/')))
        } else {
            format!("chartFrom({repository:?}, {name:?}{origin})")
        };
        let entry = json!({"repository": repository, "name": name, "version": format!("${{{{ {from}.Version }}}}")});
        by_chart.entry(format!("{src}/{}", text(chart, "/chartPath"))).or_default().push(entry);
    }
    for (path, charts) in by_chart {
        steps.push(json!({"uses": "helm-update-chart", "config": {"path": path, "charts": charts}}));
    }
}

fn argocd_app(app: &Value, origin: Option<&str>, pushed: &BTreeMap<String, String>) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), json!(text(app, "/appName")));
    if let Some(namespace) = app.get("appNamespace").and_then(Value::as_str).filter(|n| !n.is_empty()) {
        out.insert("namespace".into(), json!(namespace));
    }
    let sources: Vec<Value> = app
        .get("sourceUpdates")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|source| argocd_source(source, origin_of(source, origin), pushed))
        .collect();
    if !sources.is_empty() {
        out.insert("sources".into(), Value::Array(sources));
    }
    Value::Object(out)
}

fn argocd_source(source: &Value, origin: Option<&str>, pushed: &BTreeMap<String, String>) -> Value {
    let repo = text(source, "/repoURL");
    let chart = text(source, "/chart");
    let mut out = json!({"repoURL": repo});
    if !chart.is_empty() {
        out["chart"] = json!(chart);
    }
    if source.get("updateTargetRevision") == Some(&Value::Bool(true)) {
        out["updateTargetRevision"] = json!(true);
        // v1 needs the revision named: the commit just pushed, the Freight's commit or chart.
        let o = origin_arg(origin);
        out["desiredRevision"] = json!(match pushed.get(repo) {
            Some(step) => format!("${{{{ outputs[{step:?}].commit }}}}"),
            None if !chart.is_empty() => format!("${{{{ chartFrom({repo:?}, {chart:?}{o}).Version }}}}"),
            None => format!("${{{{ commitFrom({repo:?}{o}).ID }}}}"),
        });
    }
    if let Some(kustomize) = source.get("kustomize") {
        let images: Vec<Value> = kustomize
            .get("images")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|image| {
                let mut image_out = kustomize_image(image, origin_of(image, origin_of(kustomize, origin)));
                if let Value::Object(map) = &mut image_out
                    && let Some(name) = map.remove("image")
                {
                    map.insert("repoURL".into(), name);
                }
                image_out
            })
            .collect();
        out["kustomize"] = json!({"images": images});
    }
    if let Some(helm) = source.get("helm") {
        let images: Vec<Value> = helm
            .get("images")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|image| json!({"key": text(image, "/key"), "value": helm_image_value(image, origin_of(image, origin_of(helm, origin)))}))
            .collect();
        out["helm"] = json!({"images": images});
    }
    out
}
