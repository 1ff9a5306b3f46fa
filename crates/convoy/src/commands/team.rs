//! Teams from the command line: roles, grants, named tokens and the audit trail.

use std::process::ExitCode;

use comfy_table::Table;
use comfy_table::presets::NOTHING;
use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::{AuditArgs, GrantArgs, OutputFormat, RoleArgs, TokenArgs};
use crate::client::{Client, ClientError};

fn fail(e: &ClientError) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(e.exit_code())
}

fn project(client: &Client, what: &str) -> anyhow::Result<String> {
    client
        .settings
        .project
        .clone()
        .ok_or_else(|| anyhow::anyhow!("{what} belongs to a project: pass -p PROJECT (or --system for system ones)"))
}

fn call(client: &Client, method: Method, path: &str, body: Option<Value>) -> Result<Value, ClientError> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| ClientError::Unreachable(e.to_string()))?;
    runtime.block_on(client.send(method, path, body.map(|b| b.to_string()))).map(|(v, _)| v)
}

fn print_table(headers: &[&str], rows: Vec<Vec<String>>) {
    let mut table = Table::new();
    table.load_style(NOTHING);
    table.set_header(headers.to_vec());
    for row in rows {
        table.add_row(row);
    }
    let text = table.to_string();
    let lines: Vec<&str> = text.lines().map(|l| l.strip_prefix(' ').unwrap_or(l).trim_end()).collect();
    println!("{}", lines.join("\n"));
}

/// `convoy create role NAME -p P`.
pub fn create_role(client: Client, args: &RoleArgs) -> anyhow::Result<ExitCode> {
    let project = project(&client, "a role")?;
    let role = json!({
        "apiVersion": "rbac.kargo.akuity.io/v1alpha1",
        "kind": "Role",
        "metadata": {"name": args.name, "namespace": project},
    });
    Ok(match call(&client, Method::POST, &format!("/v1/projects/{project}/roles"), Some(role)) {
        Ok(_) => {
            println!("role {} created in project {project}; give it users or rules with convoy grant", args.name);
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    })
}

/// `convoy grant` and `convoy revoke`.
pub fn grant(client: Client, args: &GrantArgs, grant: bool) -> anyhow::Result<ExitCode> {
    let mut claims: Vec<Value> = Vec::new();
    for claim in &args.claims {
        let Some((name, value)) = claim.split_once('=').filter(|(n, v)| !n.is_empty() && !v.is_empty()) else {
            eprintln!("error: --claim {claim:?}: expected NAME=VALUE, e.g. groups=devops");
            return Ok(ExitCode::from(2));
        };
        claims.push(json!({"name": name, "values": [value]}));
    }
    let mut rules = Vec::new();
    if !args.verbs.is_empty() {
        let mut rule = json!({"verbs": args.verbs, "resources": args.resource_types});
        if !args.resource_names.is_empty() {
            rule["resourceNames"] = json!(args.resource_names);
        }
        rules.push(rule);
    }
    let base = if args.system {
        format!("/v1/roles/{}", args.role)
    } else {
        format!("/v1/projects/{}/roles/{}", project(&client, "a role")?, args.role)
    };
    let path = format!("{base}/{}", if grant { "grants" } else { "revocations" });
    let body = json!({"claims": claims, "tokens": args.tokens, "rules": rules});
    Ok(match call(&client, Method::POST, &path, Some(body)) {
        Ok(_) => {
            println!("role {} {}", args.role, if grant { "granted" } else { "revoked" });
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    })
}

/// `convoy create token NAME --role R [-p P | --system] [--expires D]`: the value on the last line.
pub fn create_token(client: Client, args: &TokenArgs) -> anyhow::Result<ExitCode> {
    let path = if args.system {
        "/v1/tokens".to_owned()
    } else {
        format!("/v1/projects/{}/tokens", project(&client, "a token")?)
    };
    let mut body = json!({"name": args.name, "role": args.role});
    if let Some(expires) = &args.expires {
        body["expires"] = json!(expires);
    }
    Ok(match call(&client, Method::POST, &path, Some(body)) {
        Ok(created) => {
            let expires = created["expiresAt"].as_str().map(|e| format!(", expires {e}")).unwrap_or_default();
            eprintln!("token {} created with role {}{expires}; it is shown once, now:", args.name, args.role);
            println!("{}", created["token"].as_str().unwrap_or_default());
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    })
}

/// `convoy get tokens [-p P | --system]`: names, roles and dates, never a value.
pub fn get_tokens(client: Client, system: bool, output: OutputFormat) -> anyhow::Result<ExitCode> {
    let path = match (&client.settings.project, system) {
        (Some(project), false) => format!("/v1/projects/{project}/tokens"),
        _ => "/v1/tokens".to_owned(),
    };
    let list = match call(&client, Method::GET, &path, None) {
        Ok(list) => list,
        Err(e) => return Ok(fail(&e)),
    };
    let items = list["items"].as_array().cloned().unwrap_or_default();
    match output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&items)?),
        OutputFormat::Yaml => print!("{}", serde_yaml::to_string(&items)?),
        OutputFormat::Table | OutputFormat::Wide => {
            let text = |t: &Value, f: &str| t[f].as_str().unwrap_or("").to_owned();
            let rows = items
                .iter()
                .map(|t| {
                    let roles: Vec<String> = t["grants"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|g| match g["project"].as_str().unwrap_or("") {
                            "" => format!("{} (system)", g["role"].as_str().unwrap_or("")),
                            p => format!("{p}/{}", g["role"].as_str().unwrap_or("")),
                        })
                        .collect();
                    let state = if t["revokedAt"].is_string() { "revoked" } else { "active" };
                    vec![
                        text(t, "name"),
                        roles.join(", "),
                        state.to_owned(),
                        text(t, "expiresAt"),
                        text(t, "lastUsedAt"),
                        text(t, "createdBy"),
                    ]
                })
                .collect();
            print_table(&["NAME", "ROLES", "STATE", "EXPIRES", "LAST USED", "CREATED BY"], rows);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `convoy delete token NAME [-p P | --system]`: revoked at once on every replica.
pub fn delete_token(client: Client, name: &str, system: bool) -> anyhow::Result<ExitCode> {
    let path = match (&client.settings.project, system) {
        (Some(project), false) => format!("/v1/projects/{project}/tokens/{name}"),
        _ => format!("/v1/tokens/{name}"),
    };
    Ok(match call(&client, Method::DELETE, &path, None) {
        Ok(_) => {
            println!("token {name} revoked");
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    })
}

/// `convoy get roles [-p P | --system]`.
pub fn get_roles(client: Client, system: bool, output: OutputFormat) -> anyhow::Result<ExitCode> {
    let project = client.settings.project.clone().filter(|_| !system);
    let path = match &project {
        Some(project) => format!("/v1/projects/{project}/roles"),
        None => "/v1/roles".to_owned(),
    };
    let list = match call(&client, Method::GET, &path, None) {
        Ok(list) => list,
        Err(e) => return Ok(fail(&e)),
    };
    let mut items = list["items"].as_array().cloned().unwrap_or_default();
    // Tokens are kept with their grants: shown beside each project role.
    if let Some(project) = &project
        && let Ok(tokens) = call(&client, Method::GET, &format!("/v1/projects/{project}/tokens"), None)
    {
        for role in &mut items {
            let name = role.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").to_owned();
            let holders: Vec<Value> = tokens["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|t| !t["revokedAt"].is_string())
                .filter(|t| {
                    t["grants"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|g| g["project"] == project.as_str() && g["role"] == name.as_str())
                })
                .map(|t| t["name"].clone())
                .collect();
            role["tokens"] = Value::Array(holders);
        }
    }
    match output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&items)?),
        OutputFormat::Yaml => print!("{}", serde_yaml::to_string(&items)?),
        OutputFormat::Table | OutputFormat::Wide => {
            let rows = items
                .iter()
                .map(|role| {
                    let name =
                        role.pointer("/metadata/name").or(role.get("name")).and_then(Value::as_str).unwrap_or("");
                    let managed = project.is_none() || role["kargoManaged"] == true;
                    let claims: Vec<String> = role["claims"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|c| {
                            let values: Vec<&str> =
                                c["values"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
                            format!("{}={}", c["name"].as_str().unwrap_or(""), values.join(","))
                        })
                        .collect();
                    let tokens: Vec<&str> =
                        role["tokens"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
                    let rules: Vec<String> = role["rules"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|r| {
                            let list = |f: &str| -> String {
                                r[f].as_array()
                                    .into_iter()
                                    .flatten()
                                    .filter_map(Value::as_str)
                                    .collect::<Vec<_>>()
                                    .join(",")
                            };
                            let names = list("resourceNames");
                            let names = if names.is_empty() { String::new() } else { format!("/{names}") };
                            format!("{} {}{names}", list("verbs"), list("resources"))
                        })
                        .collect();
                    vec![name.to_owned(), managed.to_string(), claims.join(" "), tokens.join(","), rules.join("; ")]
                })
                .collect();
            print_table(&["NAME", "KARGO MANAGED", "CLAIMS", "TOKENS", "RULES"], rows);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `convoy audit`: newest first; `-o json` prints JSON lines (one record each).
pub fn audit(client: Client, args: &AuditArgs) -> anyhow::Result<ExitCode> {
    let mut query = vec![format!("limit={}", args.limit.clamp(1, 1000))];
    if let Some(project) = &client.settings.project {
        query.push(format!("project={}", crate::client::query_encode(project)));
    }
    if let Some(since) = &args.since {
        let at = match since_time(since) {
            Ok(at) => at,
            Err(e) => {
                eprintln!("error: --since {since:?}: {e}");
                return Ok(ExitCode::from(2));
            }
        };
        query.push(format!("since={}", crate::client::query_encode(&at)));
    }
    if let Some(actor) = &args.actor {
        query.push(format!("actor={}", crate::client::query_encode(actor)));
    }
    let list = match call(&client, Method::GET, &format!("/v1/audit?{}", query.join("&")), None) {
        Ok(list) => list,
        Err(e) => return Ok(fail(&e)),
    };
    let items = list["items"].as_array().cloned().unwrap_or_default();
    match args.output {
        OutputFormat::Json => {
            for record in &items {
                println!("{record}");
            }
        }
        OutputFormat::Yaml => print!("{}", serde_yaml::to_string(&items)?),
        OutputFormat::Table | OutputFormat::Wide => {
            let text = |r: &Value, f: &str| match &r[f] {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            let rows = items
                .iter()
                .map(|r| {
                    let object = [text(r, "kind"), text(r, "name")]
                        .iter()
                        .filter(|s| !s.is_empty())
                        .cloned()
                        .collect::<Vec<_>>()
                        .join("/");
                    vec![
                        text(r, "at"),
                        text(r, "actor"),
                        text(r, "verb"),
                        text(r, "project"),
                        object,
                        text(r, "outcome"),
                        text(r, "summary"),
                    ]
                })
                .collect();
            print_table(&["TIME", "ACTOR", "VERB", "PROJECT", "OBJECT", "OUTCOME", "SUMMARY"], rows);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `24h`, `7d` ago, or an RFC 3339 time as given.
fn since_time(text: &str) -> Result<String, String> {
    if convoy_api::time::Timestamp::parse(text).is_ok() {
        return Ok(text.to_owned());
    }
    let ago = crate::cli::parse_retention(text)?;
    let now = convoy_api::time::Timestamp::now().0;
    Ok(convoy_api::time::Timestamp(now - ago.as_secs() as i64).to_string())
}
