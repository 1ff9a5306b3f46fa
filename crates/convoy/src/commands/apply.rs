//! `convoy apply`, `convoy create`, `convoy delete`: every input of one call is one request,
//! hence one transaction; the server's findings are mapped back to file and line.

use std::process::ExitCode;

use reqwest::Method;
use serde_json::Value;

use super::lint::check_decoding;
use crate::cli::{ApplyArgs, DeleteArgs, FileArgs};
use crate::client::{Client, ClientError};
use crate::manifests::{Content, LoadedDocument, load};
use crate::output::{Finding, print_findings};

/// `apply` (mode `apply`) or `create` (mode `create`).
pub fn run(client: Client, args: &ApplyArgs, mode: &str) -> anyhow::Result<ExitCode> {
    send_files(client, &args.files, mode, args.dry_run, args.batch_size.map(|n| n as usize))
}

pub fn delete(client: Client, args: &DeleteArgs) -> anyhow::Result<ExitCode> {
    if args.files.is_empty() {
        let (Some(kind), Some(name)) = (&args.kind, &args.name) else {
            eprintln!("error: give -f FILE or KIND NAME");
            return Ok(ExitCode::from(2));
        };
        let kind = super::get::parse_kind(kind)?;
        let path = super::get::object_path(&client, kind, name)?;
        let runtime = tokio::runtime::Runtime::new()?;
        return Ok(match runtime.block_on(client.send(Method::DELETE, &path, None)) {
            Ok(_) => {
                println!("{kind}/{name} deleted");
                ExitCode::SUCCESS
            }
            Err(e) => report(&e, &[]),
        });
    }
    let files = FileArgs { files: args.files.clone(), recursive: args.recursive };
    send_files(client, &files, "delete", false, None)
}

fn send_files(
    client: Client,
    files: &FileArgs,
    mode: &str,
    dry_run: bool,
    batch_size: Option<usize>,
) -> anyhow::Result<ExitCode> {
    let manifests = load(files, client.settings.project.as_deref());
    let problems = check_decoding(&manifests);
    if problems.iter().any(Finding::is_error) {
        print_findings(&problems, false)?;
        eprintln!("nothing was sent to the server");
        return Ok(ExitCode::from(1));
    }
    // What only the client sees (a repeated YAML key, a namespace filled in); the server
    // reports the rest.
    for warning in &problems {
        eprintln!("{}", warning.to_text());
    }
    let sent: Vec<&LoadedDocument> = manifests
        .documents
        .iter()
        .filter(|d| match &d.content {
            Content::Resource(_) => true,
            Content::Skipped { api_version, kind } => {
                eprintln!(
                    "{}:{}: note: skipped {api_version} {kind} (not a kind Convoy manages)",
                    d.file, d.source.start.line
                );
                false
            }
            Content::Invalid(_) => false,
        })
        .collect();
    if sent.is_empty() {
        eprintln!("error: no objects to send");
        return Ok(ExitCode::from(1));
    }
    let texts: Vec<String> = sent.iter().map(|d| d.source.value.to_string()).collect();
    // An object no request can carry is refused here, not by a server that may cut the
    // connection before its answer arrives.
    if let Some((doc, text)) = sent.iter().zip(&texts).find(|(_, t)| t.len() > convoy_server::MAX_REQUEST_BYTES) {
        eprintln!(
            "error: {}:{}: {}: the request is larger than the server accepts ({} MiB): this one object is {:.1} MiB; keep large content out of it (--batch-size splits sets, not objects)",
            doc.file,
            doc.source.start.line,
            doc.label(),
            convoy_server::MAX_REQUEST_BYTES >> 20,
            text.len() as f64 / (1024.0 * 1024.0)
        );
        eprintln!("nothing was sent to the server");
        return Ok(ExitCode::from(1));
    }
    let batches = batches(&sent, &texts, batch_size);
    if batches.len() > 1 {
        let bytes: usize = texts.iter().map(String::len).sum();
        eprintln!(
            "note: sending {} objects ({:.1} MiB) in {} batches; each batch is admitted and written on its own, \
             so a failure leaves the batches before it applied{}",
            sent.len(),
            bytes as f64 / (1024.0 * 1024.0),
            batches.len(),
            if dry_run { " (a dry run cannot see objects of earlier batches)" } else { "" }
        );
    }
    let path = format!("/v1/apply?mode={mode}{}", if dry_run { "&dryRun=true" } else { "" });
    let runtime = tokio::runtime::Runtime::new()?;
    let total = batches.len();
    for (number, batch) in batches.into_iter().enumerate() {
        let docs: Vec<&LoadedDocument> = batch.iter().map(|&i| sent[i]).collect();
        let body = batch.iter().map(|&i| texts[i].as_str()).collect::<Vec<_>>().join("\n---\n");
        match runtime.block_on(client.send(Method::POST, &path, Some(body))) {
            Ok((result, _)) => {
                let mut warnings = Vec::new();
                for (i, item) in result["items"].as_array().into_iter().flatten().enumerate() {
                    let suffix = if dry_run { " (dry run)" } else { "" };
                    println!(
                        "{}/{} {}{suffix}",
                        item["kind"].as_str().unwrap_or("?"),
                        item["name"].as_str().unwrap_or("?"),
                        item["action"].as_str().unwrap_or("?")
                    );
                    for w in item["warnings"].as_array().into_iter().flatten() {
                        warnings.extend(locate(w, &docs, i));
                    }
                }
                for w in &warnings {
                    eprintln!("{}", w.to_text());
                }
            }
            Err(e) => {
                if total > 1 {
                    eprintln!("batch {} of {total} failed; the {number} before it were applied", number + 1);
                }
                return Ok(report(&e, &docs));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Groups the documents into requests: one when the set fits (as written, one transaction);
/// otherwise in dependency order of their kinds (Projects first, Freight and Promotions last),
/// `batch_size` at a time or as many as fit in a request.
fn batches(sent: &[&LoadedDocument], texts: &[String], batch_size: Option<usize>) -> Vec<Vec<usize>> {
    // Room for the separators and the request's own overhead.
    const LIMIT: usize = convoy_server::MAX_REQUEST_BYTES - 64 * 1024;
    let total: usize = texts.iter().map(|t| t.len() + 5).sum();
    if batch_size.is_none() && total <= LIMIT {
        return vec![(0..sent.len()).collect()];
    }
    let mut order: Vec<usize> = (0..sent.len()).collect();
    order.sort_by_key(|&i| kind_rank(sent[i]));
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut size = 0;
    for i in order {
        let full = out
            .last()
            .is_none_or(|b| batch_size.map_or(size + texts[i].len() + 5 > LIMIT && !b.is_empty(), |n| b.len() >= n));
        if full {
            out.push(Vec::new());
            size = 0;
        }
        size += texts[i].len() + 5;
        out.last_mut().expect("a batch was just pushed").push(i);
    }
    out
}

/// Kinds others refer to come first, so each batch's references are already stored.
fn kind_rank(document: &LoadedDocument) -> usize {
    const ORDER: [&str; 13] = [
        "Project",
        "ProjectConfig",
        "ClusterConfig",
        "Secret",
        "ConfigMap",
        "ClusterPromotionTask",
        "PromotionTask",
        "ClusterAnalysisTemplate",
        "AnalysisTemplate",
        "Warehouse",
        "Stage",
        "Freight",
        "Promotion",
    ];
    let kind = document.source.value.get("kind").and_then(Value::as_str).unwrap_or("");
    ORDER.iter().position(|k| *k == kind).unwrap_or(ORDER.len())
}

/// Prints a failure; admission details become `FILE:LINE:COL: Kind/name: path: message`.
fn report(error: &ClientError, sent: &[&LoadedDocument]) -> ExitCode {
    if let ClientError::Api { body, .. } = error {
        let findings: Vec<Finding> =
            body["details"].as_array().into_iter().flatten().filter_map(|d| locate(d, sent, usize::MAX)).collect();
        if !findings.is_empty() {
            eprintln!("error: {error}");
            for f in &findings {
                println!("{}", f.to_text());
            }
            return ExitCode::from(1);
        }
    }
    if let ClientError::Api { status, .. } = error
        && *status == reqwest::StatusCode::PAYLOAD_TOO_LARGE
    {
        eprintln!(
            "error: the request is larger than the server accepts ({} MiB); send fewer objects at once with --batch-size N",
            convoy_server::MAX_REQUEST_BYTES >> 20
        );
        return ExitCode::from(1);
    }
    eprintln!("error: {error}");
    ExitCode::from(error.exit_code())
}

/// A server detail (`documents[i].spec...`) located in the file it came from.
fn locate(detail: &Value, sent: &[&LoadedDocument], default_index: usize) -> Option<Finding> {
    let path = detail["path"].as_str().unwrap_or("");
    let (index, field) = match path.strip_prefix("documents[").and_then(|r| r.split_once(']')) {
        Some((i, rest)) => (i.parse::<usize>().ok()?, rest.trim_start_matches('.')),
        None => (default_index, path),
    };
    let doc = sent.get(index)?;
    let position = doc.source.position_of(field);
    let label = doc.label();
    let (kind, name) = label.split_once('/').unwrap_or((&label, ""));
    Some(Finding {
        file: doc.file.clone(),
        line: position.line,
        column: position.column,
        kind: kind.to_owned(),
        name: name.to_owned(),
        path: field.to_owned(),
        severity: if detail["severity"] == "warning" { "warning" } else { "error" },
        message: detail["message"].as_str().unwrap_or("").to_owned(),
        hint: detail["hint"].as_str().map(str::to_owned),
    })
}

/// `convoy create credentials NAME --type T --repo-url U [--regex] --username N --password-stdin`:
/// a Secret as Kargo's, labelled `kargo.akuity.io/cred-type`. The password is read from standard
/// input (one line) and never printed.
pub fn create_credentials(client: Client, args: &crate::cli::CredentialsArgs) -> anyhow::Result<ExitCode> {
    use std::io::BufRead;
    let Some(project) = client.settings.project.clone() else {
        anyhow::bail!("credentials belong to a project: pass -p PROJECT (or set CONVOY_PROJECT)");
    };
    let mut password = String::new();
    std::io::stdin().lock().read_line(&mut password)?;
    let password = password.trim_end_matches(['\n', '\r']).to_owned();
    if password.is_empty() {
        eprintln!("error: no password on standard input; e.g. printf '%s' \"$TOKEN\" | convoy create credentials ...");
        return Ok(ExitCode::from(1));
    }
    let kind = format!("{:?}", args.kind).to_ascii_lowercase();
    let mut data = serde_json::Map::new();
    data.insert("repoURL".into(), serde_json::json!(args.repo_url));
    data.insert("username".into(), serde_json::json!(args.username));
    data.insert("password".into(), serde_json::json!(password));
    if args.regex {
        data.insert("repoURLIsRegex".into(), serde_json::json!("true"));
    }
    let secret = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": args.name, "namespace": project, "labels": {"kargo.akuity.io/cred-type": kind}},
        "stringData": data,
    });
    let runtime = tokio::runtime::Runtime::new()?;
    Ok(match runtime.block_on(client.send(Method::POST, "/v1/apply?mode=create", Some(secret.to_string()))) {
        Ok(_) => {
            println!("Secret/{} created ({kind} credentials for {})", args.name, args.repo_url);
            ExitCode::SUCCESS
        }
        Err(e) => report(&e, &[]),
    })
}
