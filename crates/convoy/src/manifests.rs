//! Reading manifests from files, directories and standard input into typed documents that
//! remember their file and line.

use std::io::Read;
use std::path::{Path, PathBuf};

use convoy_api::yaml::{Position, SourceDocument, parse_documents};
use convoy_api::{DecodeError, Resource};

use crate::cli::FileArgs;

/// One document of one file.
pub struct LoadedDocument {
    pub file: String,
    pub source: SourceDocument,
    pub content: Content,
    /// What was read leniently (as Kargo and the API server read it) or filled in.
    pub warnings: Vec<DecodeError>,
}

pub enum Content {
    Resource(Box<Resource>),
    /// A well-formed document of a kind Convoy does not handle.
    Skipped {
        api_version: String,
        kind: String,
    },
    /// Every problem found in the document.
    Invalid(Vec<DecodeError>),
}

/// A file that could not be read or is not YAML at all.
pub struct FileError {
    pub file: String,
    pub position: Position,
    pub message: String,
}

/// Everything found under the given paths, in a stable order.
pub struct Manifests {
    pub documents: Vec<LoadedDocument>,
    pub errors: Vec<FileError>,
}

/// Reads every path of `args`. Namespaced objects without a namespace get `default_project`,
/// or, without one, the only Project of the set (with a warning saying so).
pub fn load(args: &FileArgs, default_project: Option<&str>) -> Manifests {
    let mut manifests = load_files(args, default_project);
    if default_project.is_none() {
        default_to_the_only_project(&mut manifests);
    }
    manifests
}

/// A set with one Project and documents without a namespace means that Project, as a user
/// who wrote them together meant (rather than one error per document).
fn default_to_the_only_project(manifests: &mut Manifests) {
    let mut projects = manifests.documents.iter().filter_map(|d| match &d.content {
        Content::Resource(r) if r.kind() == convoy_api::Kind::Project => Some(r.metadata().name().to_owned()),
        _ => None,
    });
    let (Some(project), None) = (projects.next(), projects.next()) else { return };
    for doc in &mut manifests.documents {
        let Content::Resource(resource) = &mut doc.content else { continue };
        if resource.kind().is_cluster_scoped() || !resource.metadata().namespace().is_empty() {
            continue;
        }
        resource.metadata_mut().namespace = Some(project.clone());
        if let Some(serde_json::Value::Object(meta)) = doc.source.value.get_mut("metadata") {
            meta.insert("namespace".into(), serde_json::Value::String(project.clone()));
        }
        // A warning of the text as read by this client (the server sees the namespace set).
        doc.source.warnings.push(convoy_api::yaml::YamlWarning {
            position: doc.source.position_of("metadata"),
            path: "metadata.namespace".into(),
            message: format!(
                "not set: read as {project:?}, the only Project among the given files (write namespace: {project}, or pass -p {project})"
            ),
        });
    }
}

fn load_files(args: &FileArgs, default_project: Option<&str>) -> Manifests {
    let mut manifests = Manifests { documents: Vec::new(), errors: Vec::new() };
    for path in &args.files {
        if path.as_os_str() == "-" {
            let mut text = String::new();
            match std::io::stdin().read_to_string(&mut text) {
                Ok(_) => add_text(&mut manifests, "<stdin>", &text, default_project),
                Err(e) => manifests.errors.push(file_error(
                    "<stdin>",
                    format!("cannot read standard input: {}", crate::output::plain_io(&e)),
                )),
            }
            continue;
        }
        let mut files = Vec::new();
        if let Err(message) = collect(path, args.recursive, true, &mut files) {
            manifests.errors.push(file_error(&path.display().to_string(), message));
        }
        for file in files {
            let name = file.display().to_string();
            match std::fs::read_to_string(&file) {
                Ok(text) => add_text(&mut manifests, &name, &text, default_project),
                Err(e) => manifests
                    .errors
                    .push(file_error(&name, format!("cannot read file: {}", crate::output::plain_io(&e)))),
            }
        }
    }
    manifests
}

fn file_error(file: &str, message: String) -> FileError {
    FileError { file: file.to_owned(), position: Position { line: 1, column: 1 }, message }
}

/// A file given by name is read whatever its extension; in directories only `.yaml`, `.yml`
/// and `.json` count, and sub-directories only with `-R`.
pub fn collect(path: &Path, recursive: bool, explicit: bool, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let meta = std::fs::metadata(path)
        .map_err(|e| format!("cannot read {}: {}", path.display(), crate::output::plain_io(&e)))?;
    if meta.is_file() {
        let manifest_ext = path.extension().is_some_and(|e| e == "yaml" || e == "yml" || e == "json");
        if explicit || manifest_ext {
            out.push(path.to_owned());
        }
        return Ok(());
    }
    if !explicit && !recursive {
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| format!("cannot list {}: {}", path.display(), crate::output::plain_io(&e)))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for entry in entries {
        collect(&entry, recursive, false, out)?;
    }
    Ok(())
}

fn add_text(manifests: &mut Manifests, file: &str, text: &str, default_project: Option<&str>) {
    let documents = match parse_documents(text) {
        Ok(docs) => docs,
        Err(e) => {
            manifests.errors.push(FileError {
                file: file.to_owned(),
                position: e.position,
                message: match e.message.as_str() {
                    // Most often an unquoted `${{ a ? b : c }}` or `key: value` inside a value.
                    m if m.contains("mapping values are not allowed") => {
                        format!("invalid YAML: {m} (a value containing \": \" must be quoted)")
                    }
                    m => format!("invalid YAML: {m}"),
                },
            });
            return;
        }
    };
    for source in documents {
        let mut warnings = Vec::new();
        let content = match Resource::read(&source.value) {
            Ok(Some(read)) => {
                let mut resource = read.resource;
                warnings = read.warnings;
                let namespaced = !resource.kind().is_cluster_scoped();
                let meta = resource.metadata_mut();
                if namespaced
                    && meta.namespace().is_empty()
                    && let Some(project) = default_project
                {
                    meta.namespace = Some(project.to_owned());
                }
                Content::Resource(Box::new(resource))
            }
            Ok(None) => {
                let field = |f: &str| source.value.get(f).and_then(|v| v.as_str()).unwrap_or("").to_owned();
                Content::Skipped { api_version: field("apiVersion"), kind: field("kind") }
            }
            Err(errors) => Content::Invalid(errors),
        };
        manifests.documents.push(LoadedDocument { file: file.to_owned(), source, content, warnings });
    }
}

impl LoadedDocument {
    /// `Kind/name` for messages: the name as written, or for Freight the content hash it
    /// will be stored under.
    pub fn label(&self) -> String {
        if let Content::Resource(resource) = &self.content
            && let Resource::Freight(freight) = resource.as_ref()
        {
            return format!("Freight/{}", convoy_core::freight_id::freight_id(freight));
        }
        let value = &self.source.value;
        let kind = value.get("kind").and_then(|v| v.as_str()).unwrap_or("?");
        let name = value.pointer("/metadata/name").and_then(|v| v.as_str()).unwrap_or("");
        format!("{kind}/{name}")
    }
}
