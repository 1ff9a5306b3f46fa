//! `convoy lint`: admission over a set of files, offline. References resolve within the set,
//! so document order does not matter.

use std::collections::HashMap;
use std::process::ExitCode;

use convoy_api::{DecodeError, Kind, Resource};
use convoy_core::freight_id::freight_id;
use convoy_core::{Catalog, Operation, Problem, Severity, admit};

use crate::cli::{LintArgs, LintFormat};
use crate::env::SystemEnv;
use crate::manifests::{Content, LoadedDocument, Manifests, load};
use crate::output::{Finding, print_findings};

pub fn run(args: &LintArgs, project: Option<&str>) -> anyhow::Result<ExitCode> {
    let manifests = load(&args.files, project);
    let findings = check(&manifests, args.strict);
    print_findings(&findings, args.format == LintFormat::Json)?;
    Ok(if findings.iter().any(Finding::is_error) { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// Unreadable files, malformed YAML and documents that do not decode, and what the YAML
/// reading tolerated (a repeated key), which only the client sees.
pub fn check_decoding(manifests: &Manifests) -> Vec<Finding> {
    let mut findings: Vec<Finding> = manifests
        .errors
        .iter()
        .map(|e| Finding {
            file: e.file.clone(),
            line: e.position.line,
            column: e.position.column,
            kind: String::new(),
            name: String::new(),
            path: String::new(),
            severity: "error",
            message: e.message.clone(),
            hint: None,
        })
        .collect();
    for doc in &manifests.documents {
        for warning in &doc.source.warnings {
            findings.push(finding(doc, &Problem::warning(warning.path.clone(), warning.message.clone())));
        }
        if let Content::Invalid(errors) = &doc.content {
            findings.extend(errors.iter().map(|e| finding(doc, &problem(Severity::Error, e))));
        }
    }
    findings
}

fn problem(severity: Severity, e: &DecodeError) -> Problem {
    Problem { severity, path: e.path.clone(), message: e.message.clone(), hint: e.hint.clone() }
}

/// Every finding of the whole set, in file order.
pub fn check(manifests: &Manifests, strict: bool) -> Vec<Finding> {
    let mut findings = check_decoding(manifests);
    let (catalog, duplicates) = catalog_of(manifests, strict);
    findings.extend(duplicates);
    let mut env = SystemEnv::default();
    for doc in &manifests.documents {
        findings.extend(doc.warnings.iter().map(|w| finding(doc, &problem(Severity::Warning, w))));
        match &doc.content {
            // Reported by check_decoding.
            Content::Invalid(_) => {}
            Content::Skipped { api_version, kind } => {
                eprintln!(
                    "{}:{}: note: skipped {api_version} {kind} (not a kind Convoy manages)",
                    doc.file, doc.source.start.line
                );
            }
            Content::Resource(resource) => {
                let problems = match admit((**resource).clone(), Operation::Create, &catalog, &mut env) {
                    Ok(admitted) => admitted.warnings,
                    Err(problems) => problems,
                };
                findings.extend(problems.iter().map(|p| finding(doc, p)));
            }
        }
    }
    // A missing project is said once, at its first document; then file order, line order.
    let mut missing_projects = std::collections::HashSet::new();
    findings.retain(|f| {
        let missing = f.path == "metadata.namespace" && f.message.ends_with("does not exist among the given files");
        !missing || missing_projects.insert(f.message.clone())
    });
    findings.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    findings
}

/// The set as admission sees it: Freight under its content-hash name; an object defined twice
/// is its last definition, as `kubectl apply` leaves it (a warning; an error with `strict`
/// when the definitions differ). Documents that did not decode are noted as unreadable, so
/// references to them are not reported as missing.
pub fn catalog_of(manifests: &Manifests, strict: bool) -> (Catalog, Vec<Finding>) {
    let mut catalog = Catalog::partial();
    let mut first_seen: HashMap<(Kind, String, String), &LoadedDocument> = HashMap::new();
    let mut duplicates = Vec::new();
    for doc in &manifests.documents {
        if let Content::Invalid(_) = &doc.content {
            let value = &doc.source.value;
            let text = |pointer: &str| value.pointer(pointer).and_then(|v| v.as_str()).unwrap_or("");
            if let Ok(Some(kind)) = Resource::kind_of(value) {
                let place = format!("{}:{}", doc.file, doc.source.start.line);
                catalog.note_unreadable(kind, text("/metadata/namespace"), text("/metadata/name"), place);
            }
            continue;
        }
        let Content::Resource(resource) = &doc.content else { continue };
        let mut resource = (**resource).clone();
        if let Resource::Freight(f) = &mut resource {
            f.metadata.name = Some(freight_id(f));
        }
        let key = (resource.kind(), resource.metadata().namespace().to_owned(), resource.metadata().name().to_owned());
        if let Some(first) = first_seen.get(&key) {
            let differ = match &first.content {
                Content::Resource(earlier) => **earlier != resource,
                _ => true,
            };
            let place = format!("{}:{}", first.file, first.source.start.line);
            let problem = if differ && strict {
                Problem::error(
                    "metadata.name",
                    format!("{} is defined twice, differently (first at {place})", doc.label()),
                )
            } else {
                let how = if differ { "differently; this last definition is the one applied" } else { "identically" };
                Problem::warning(
                    "metadata.name",
                    format!("{} is defined twice, {how} (first at {place}), as kubectl apply would", doc.label()),
                )
            };
            duplicates.push(finding(doc, &problem.hint("remove or rename one of them")));
        }
        first_seen.insert(key, doc);
        catalog.insert(resource);
    }
    (catalog, duplicates)
}

pub fn finding(doc: &LoadedDocument, problem: &Problem) -> Finding {
    let position = doc.source.position_of(&problem.path);
    let label = doc.label();
    let (kind, name) = label.split_once('/').unwrap_or((&label, ""));
    Finding {
        file: doc.file.clone(),
        line: position.line,
        column: position.column,
        kind: kind.to_owned(),
        name: name.to_owned(),
        path: problem.path.clone(),
        severity: Finding::severity(problem.severity),
        message: problem.message.clone(),
        hint: problem.hint.clone(),
    }
}
