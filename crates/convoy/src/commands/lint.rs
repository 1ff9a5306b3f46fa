//! `convoy lint`: admission over a set of files, offline. References resolve within the set,
//! so document order does not matter.

use std::collections::HashMap;
use std::process::ExitCode;

use convoy_api::{Kind, Resource};
use convoy_core::freight_id::freight_id;
use convoy_core::{Catalog, Operation, Problem, admit};

use crate::cli::{LintArgs, LintFormat};
use crate::env::SystemEnv;
use crate::manifests::{Content, LoadedDocument, Manifests, load};
use crate::output::{Finding, print_findings};

pub fn run(args: &LintArgs, project: Option<&str>) -> anyhow::Result<ExitCode> {
    let manifests = load(&args.files, project);
    let findings = check(&manifests);
    print_findings(&findings, args.format == LintFormat::Json)?;
    Ok(if findings.iter().any(Finding::is_error) { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// Unreadable files, malformed YAML and documents that do not decode.
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
        if let Content::Invalid(e) = &doc.content {
            findings.push(finding(
                doc,
                &Problem { hint: e.hint.clone(), ..Problem::error(e.path.clone(), e.message.clone()) },
            ));
        }
    }
    findings
}

/// Every finding of the whole set, in file order.
pub fn check(manifests: &Manifests) -> Vec<Finding> {
    let mut findings = check_decoding(manifests);
    let (catalog, duplicates) = catalog_of(manifests);
    findings.extend(duplicates);
    let mut env = SystemEnv::default();
    for doc in &manifests.documents {
        match &doc.content {
            Content::Invalid(e) => findings.push(finding(
                doc,
                &Problem { hint: e.hint.clone(), ..Problem::error(e.path.clone(), e.message.clone()) },
            )),
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
    findings
}

/// The set as admission sees it: Freight under its content-hash name, first definition wins.
pub fn catalog_of(manifests: &Manifests) -> (Catalog, Vec<Finding>) {
    let mut catalog = Catalog::partial();
    let mut first_seen: HashMap<(Kind, String, String), &LoadedDocument> = HashMap::new();
    let mut duplicates = Vec::new();
    for doc in &manifests.documents {
        let Content::Resource(resource) = &doc.content else { continue };
        let mut resource = (**resource).clone();
        if let Resource::Freight(f) = &mut resource {
            f.metadata.name = Some(freight_id(f));
        }
        let key = (resource.kind(), resource.metadata().namespace().to_owned(), resource.metadata().name().to_owned());
        if let Some(first) = first_seen.get(&key) {
            let problem = Problem::error(
                "metadata.name",
                format!(
                    "{} is defined more than once; the first definition is at {}:{}",
                    doc.label(),
                    first.file,
                    first.source.start.line
                ),
            )
            .hint("remove or rename one of them");
            duplicates.push(finding(doc, &problem));
            continue;
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
