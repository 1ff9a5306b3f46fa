//! `convoy promote` and `convoy logs promotion`.

use std::process::ExitCode;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::{LogsArgs, PromoteArgs};
use crate::client::{Client, ClientError};

fn project(client: &Client) -> anyhow::Result<String> {
    client
        .settings
        .project
        .clone()
        .ok_or_else(|| anyhow::anyhow!("promotions belong to a project: pass -p PROJECT (or set CONVOY_PROJECT)"))
}

fn fail(e: &ClientError) -> ExitCode {
    eprintln!("error: {e}");
    if let ClientError::Api { body, .. } = e {
        for detail in body["details"].as_array().into_iter().flatten() {
            eprintln!("  {}: {}", detail["path"].as_str().unwrap_or(""), detail["message"].as_str().unwrap_or(""));
            if let Some(hint) = detail["hint"].as_str() {
                eprintln!("    hint: {hint}");
            }
        }
    }
    ExitCode::from(e.exit_code())
}

pub fn run(client: Client, args: &PromoteArgs) -> anyhow::Result<ExitCode> {
    let project = project(&client)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let freight = match (&args.freight, &args.freight_alias) {
            (Some(name), _) => name.clone(),
            (None, Some(alias)) => {
                let path = format!("/v1/projects/{project}/freight?labelSelector=kargo.akuity.io%2Falias%3D{alias}");
                let list = match client.get(&path).await {
                    Ok(list) => list,
                    Err(e) => return Ok(fail(&e)),
                };
                match list["items"].as_array().and_then(|items| items.first()) {
                    Some(f) => f["metadata"]["name"].as_str().unwrap_or_default().to_owned(),
                    None => {
                        eprintln!("error: no Freight with alias {alias:?} in project {project:?}");
                        return Ok(ExitCode::from(1));
                    }
                }
            }
            (None, None) => unreachable!("clap requires one"),
        };
        let promotion = json!({
            "apiVersion": "kargo.akuity.io/v1alpha1",
            "kind": "Promotion",
            "metadata": {"generateName": format!("{}-", args.stage), "namespace": project},
            "spec": {"stage": args.stage, "freight": freight},
        });
        let created = match client
            .send(Method::POST, &format!("/v1/projects/{project}/promotions"), Some(promotion.to_string()))
            .await
        {
            Ok((created, _)) => created,
            Err(e) => return Ok(fail(&e)),
        };
        let name = created["metadata"]["name"].as_str().unwrap_or_default().to_owned();
        println!("Promotion/{name} created");
        if !args.wait {
            return Ok(ExitCode::SUCCESS);
        }
        wait(&client, &project, &name).await
    })
}

/// Polls the Promotion, printing each step once it changes, until a terminal phase.
async fn wait(client: &Client, project: &str, name: &str) -> anyhow::Result<ExitCode> {
    let path = format!("/v1/projects/{project}/promotions/{name}");
    let mut shown: Vec<(String, String)> = Vec::new();
    loop {
        let promotion = match client.get(&path).await {
            Ok(p) => p,
            Err(e) => return Ok(fail(&e)),
        };
        for meta in promotion.pointer("/status/stepExecutionMetadata").and_then(Value::as_array).into_iter().flatten() {
            let alias = meta["alias"].as_str().unwrap_or("").to_owned();
            let status = meta["status"].as_str().unwrap_or("").to_owned();
            if !shown.contains(&(alias.clone(), status.clone())) {
                let message = meta["message"].as_str().map(|m| format!(": {m}")).unwrap_or_default();
                println!("  {status:<9} {alias}{message}");
                shown.push((alias, status));
            }
        }
        let phase = promotion.pointer("/status/phase").and_then(Value::as_str).unwrap_or("Pending");
        match phase {
            "Succeeded" => {
                println!("Promotion/{name} Succeeded");
                return Ok(ExitCode::SUCCESS);
            }
            "Failed" | "Errored" | "Aborted" => {
                let message = promotion.pointer("/status/message").and_then(Value::as_str).unwrap_or("");
                eprintln!("Promotion/{name} {phase}: {message}");
                return Ok(ExitCode::from(1));
            }
            _ => tokio::time::sleep(Duration::from_millis(300)).await,
        }
    }
}

pub fn logs(client: Client, args: &LogsArgs) -> anyhow::Result<ExitCode> {
    if !matches!(args.kind.as_str(), "promotion" | "promotions" | "promo" | "promos") {
        eprintln!("error: logs are kept for promotions: convoy logs promotion NAME");
        return Ok(ExitCode::from(2));
    }
    let project = project(&client)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let promotion = match runtime.block_on(client.get(&format!("/v1/projects/{project}/promotions/{}", args.name))) {
        Ok(p) => p,
        Err(e) => return Ok(fail(&e)),
    };
    let s = |p: &str| promotion.pointer(p).and_then(Value::as_str).unwrap_or("").to_owned();
    println!("Promotion {} -> Stage {} (Freight {})", args.name, s("/spec/stage"), s("/spec/freight"));
    println!(
        "phase: {}  started: {}  finished: {}",
        s("/status/phase"),
        s("/status/startedAt"),
        s("/status/finishedAt")
    );
    for meta in promotion.pointer("/status/stepExecutionMetadata").and_then(Value::as_array).into_iter().flatten() {
        let field = |k: &str| meta[k].as_str().unwrap_or("-").to_owned();
        let errors = meta["errorCount"].as_u64().unwrap_or(0);
        let retries = if errors > 0 { format!(" ({errors} errors)") } else { String::new() };
        let message = meta["message"].as_str().map(|m| format!("  {m}")).unwrap_or_default();
        println!(
            "{} .. {}  {:<9} {}{retries}{message}",
            field("startedAt"),
            field("finishedAt"),
            field("status"),
            field("alias")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `convoy abort promotion NAME`: sets Kargo's abort annotation; the engine stops before the
/// next step and the Promotion ends Aborted.
pub fn abort(client: Client, args: &LogsArgs) -> anyhow::Result<ExitCode> {
    if !matches!(args.kind.as_str(), "promotion" | "promotions" | "promo" | "promos") {
        eprintln!("error: only promotions can be aborted: convoy abort promotion NAME");
        return Ok(ExitCode::from(2));
    }
    let project = project(&client)?;
    let request = json!({"action": "terminate", "actor": "admin", "controlPlane": false}).to_string();
    let patch = json!({"metadata": {"annotations": {"kargo.akuity.io/abort": request}}});
    let runtime = tokio::runtime::Runtime::new()?;
    let path = format!("/v1/projects/{project}/promotions/{}", args.name);
    Ok(match runtime.block_on(client.send(Method::PATCH, &path, Some(patch.to_string()))) {
        Ok(_) => {
            println!("Promotion/{} abort requested", args.name);
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    })
}
