//! Values as Helm computes them (`helm-rendering.md` §4.5–4.6): dependencies aliased, enabled
//! by tags and conditions, import-values into the parents' defaults; chart defaults coalesced
//! under the user's values with globals flowing down.

use crate::chart::Chart;
use crate::value::{Map, Value};

/// Deep merge where `destination` wins; nulls in `destination` delete a default (Helm's
/// coalesce of a chart's defaults under user values).
fn coalesce_tables(destination: &Map, defaults: &Map, delete_nulls: bool) {
    for (key, default) in defaults.entries() {
        match destination.get(&key) {
            None => destination.insert(key, copy(&default)),
            Some(Value::Nil) if delete_nulls => {
                destination.remove(&key);
            }
            Some(Value::Map(d)) => {
                if let Value::Map(s) = &default {
                    coalesce_tables(&d, s, delete_nulls);
                }
            }
            Some(_) => {}
        }
    }
}

fn copy(value: &Value) -> Value {
    match value {
        Value::Map(m) => Value::Map(m.deep_copy()),
        other => other.clone(),
    }
}

/// The values at `path` (dot-separated) of `values`, when they are a map.
pub(super) fn table(values: &Map, path: &str) -> Option<Map> {
    let mut current = values.clone();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        match current.get(part) {
            Some(Value::Map(m)) => current = m,
            _ => return None,
        }
    }
    Some(current)
}

/// `{a: {b: value}}` for the path `a.b` (`.` is the root).
fn path_to_map(path: &str, value: Map) -> Map {
    let parts: Vec<&str> = path.split('.').filter(|p| !p.is_empty()).collect();
    let mut map = value;
    for part in parts.iter().rev() {
        map = Map::from_iter([((*part).to_owned(), Value::Map(map))]);
    }
    map
}

/// Helm's `CoalesceValues`: the chart's defaults under `user`, recursively into subcharts with
/// globals flowing down (the parent's win).
pub(super) fn coalesce(chart: &Chart, destination: &Map) -> Result<(), String> {
    coalesce_tables(destination, &chart.values, true);
    for sub in &chart.charts {
        let name = sub.name();
        let section = match destination.get(&name) {
            None => {
                let m = Map::default();
                destination.insert(name.clone(), Value::Map(m.clone()));
                m
            }
            Some(Value::Map(m)) => m,
            Some(Value::Nil) => {
                let m = Map::default();
                destination.insert(name.clone(), Value::Map(m.clone()));
                m
            }
            Some(other) => return Err(format!("type mismatch on {name}: {}", other.type_name())),
        };
        if let Some(Value::Map(parent_globals)) = destination.get("global") {
            let child_globals = match section.get("global") {
                Some(Value::Map(g)) => g,
                _ => {
                    let g = Map::default();
                    section.insert("global", Value::Map(g.clone()));
                    g
                }
            };
            merge_globals(&child_globals, &parent_globals);
        }
        coalesce(sub, &section)?;
    }
    Ok(())
}

/// The parent's globals into the child's, the parent winning.
fn merge_globals(child: &Map, parent: &Map) {
    for (key, value) in parent.entries() {
        match (child.get(&key), &value) {
            (Some(Value::Map(c)), Value::Map(p)) => merge_globals(&c, p),
            (Some(Value::Map(_)), _) => {}
            _ => child.insert(key, copy(&value)),
        }
    }
}

/// Dependencies: aliases, then tags and conditions (on the coalesced values), then
/// import-values (bottom-up, into each chart's defaults).
pub(super) fn process_dependencies(chart: &mut Chart, user: &Map, prefix: &str) -> Result<(), String> {
    let dependencies = match chart.meta.get("dependencies") {
        Some(Value::List(d)) => d,
        _ => Vec::new(),
    };
    // Aliases: a listed dependency is taken under its alias.
    let mut listed = Vec::new();
    let mut unlisted: Vec<Chart> = Vec::new();
    for sub in std::mem::take(&mut chart.charts) {
        if dependencies.iter().any(|d| field(d, "name") == sub.name()) {
            listed.push(sub);
        } else {
            unlisted.push(sub);
        }
    }
    let mut ordered = unlisted;
    for dependency in &dependencies {
        let name = field(dependency, "name");
        let Some(found) = listed.iter().find(|c| c.name() == name) else { continue };
        let mut sub = found.clone();
        let alias = field(dependency, "alias");
        if !alias.is_empty() {
            sub.meta = sub.meta.deep_copy();
            sub.meta.insert("name", Value::from(alias.as_str()));
        }
        ordered.push(sub);
    }
    chart.charts = ordered;
    // Tags, then conditions, on the values as coalesced so far.
    let values = user.deep_copy();
    coalesce(chart, &values)?;
    let mut enabled = Vec::new();
    for sub in std::mem::take(&mut chart.charts) {
        let dependency = dependencies.iter().find(|d| {
            let alias = field(d, "alias");
            (if alias.is_empty() { field(d, "name") } else { alias }) == sub.name()
        });
        let mut on = true;
        if let Some(dependency) = dependency {
            if let Some(Value::List(tags)) = dependency_field(dependency, "tags") {
                let root_tags = table(&values, "tags").unwrap_or_default();
                let states: Vec<Option<bool>> = tags
                    .iter()
                    .map(|t| match root_tags.get(&crate::sprig::to_string_value(t)) {
                        Some(Value::Bool(b)) => Some(b),
                        _ => None,
                    })
                    .collect();
                if states.contains(&Some(true)) {
                    on = true;
                } else if states.contains(&Some(false)) {
                    on = false;
                }
            }
            let condition = field(dependency, "condition");
            for path in condition.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let full = format!("{prefix}{path}");
                let (parent, key) = full.rsplit_once('.').unwrap_or(("", full.as_str()));
                if let Some(Value::Bool(b)) = table(&values, parent).and_then(|t| t.get(key)) {
                    on = b;
                    break;
                }
            }
        }
        if on {
            enabled.push(sub);
        }
    }
    chart.charts = enabled;
    for sub in &mut chart.charts {
        let sub_prefix = format!("{prefix}{}.", sub.name());
        let section = table(user, &sub.name()).unwrap_or_default();
        process_dependencies(sub, &section, &sub_prefix)?;
    }
    // import-values: into this chart's defaults; its own defaults win, the earlier import wins.
    let coalesced = user.deep_copy();
    coalesce(chart, &coalesced)?;
    let imported = Map::default();
    for dependency in &dependencies {
        let alias = field(dependency, "alias");
        let name = if alias.is_empty() { field(dependency, "name") } else { alias };
        let Some(Value::List(imports)) = dependency_field(dependency, "import-values") else { continue };
        for import in imports {
            let (child, parent) = match &import {
                Value::String(s) => (format!("exports.{s}"), ".".to_owned()),
                Value::Map(m) => (
                    m.get("child").map(|v| crate::sprig::to_string_value(&v)).unwrap_or_default(),
                    m.get("parent").map(|v| crate::sprig::to_string_value(&v)).unwrap_or_default(),
                ),
                _ => continue,
            };
            let Some(source) = table(&coalesced, &format!("{name}.{child}")) else { continue };
            coalesce_tables(&imported, &path_to_map(&parent, source.deep_copy()), false);
        }
    }
    if !imported.is_empty() {
        let defaults = chart.values.deep_copy();
        coalesce_tables(&defaults, &imported, false);
        chart.values = defaults;
    }
    Ok(())
}

fn field(value: &Value, name: &str) -> String {
    dependency_field(value, name).map(|v| crate::sprig::to_string_value(&v)).unwrap_or_default()
}

fn dependency_field(value: &Value, name: &str) -> Option<Value> {
    match value {
        Value::Map(m) => m.get(name).filter(|v| !v.is_nil()),
        _ => None,
    }
}
