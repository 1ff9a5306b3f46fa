//! `convoy refresh warehouse NAME [--wait]`, `convoy update freight ... --new-alias`,
//! `convoy approve`.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::{ApproveArgs, RefreshArgs, UpdateArgs, VerifyArgs};
use crate::client::{Client, ClientError};

fn project(client: &Client) -> anyhow::Result<String> {
    client.settings.project.clone().ok_or_else(|| anyhow::anyhow!("pass -p PROJECT (or set CONVOY_PROJECT)"))
}

fn fail(e: &ClientError) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(e.exit_code())
}

/// How long `--wait` waits for the controller to handle the refresh.
const WAIT_LIMIT: Duration = Duration::from_secs(300);

pub fn run(client: Client, args: &RefreshArgs) -> anyhow::Result<ExitCode> {
    let plural = match args.kind.as_str() {
        "warehouse" | "warehouses" => "warehouses",
        "stage" | "stages" => "stages",
        _ => {
            eprintln!("error: refresh works on warehouses and stages: convoy refresh (warehouse | stage) NAME");
            return Ok(ExitCode::from(2));
        }
    };
    let project = project(&client)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let path = format!("/v1/projects/{project}/{plural}/{}", args.name);
        let token = match client.send(Method::POST, &format!("{path}/refresh"), Some(String::new())).await {
            Ok((body, _)) => body["refresh"].as_str().unwrap_or_default().to_owned(),
            Err(e) => return Ok(fail(&e)),
        };
        let kind = if plural == "stages" { "Stage" } else { "Warehouse" };
        println!("{kind}/{} refresh requested", args.name);
        if !args.wait {
            return Ok(ExitCode::SUCCESS);
        }
        let deadline = Instant::now() + WAIT_LIMIT;
        loop {
            let warehouse = match client.get(&path).await {
                Ok(w) => w,
                Err(e) => return Ok(fail(&e)),
            };
            if warehouse.pointer("/status/lastHandledRefresh").and_then(Value::as_str) == Some(token.as_str()) {
                if plural == "stages" {
                    println!("Stage/{} refreshed", args.name);
                    return Ok(ExitCode::SUCCESS);
                }
                return Ok(report(&args.name, &warehouse));
            }
            if Instant::now() > deadline {
                eprintln!(
                    "error: the refresh was not handled within {} s; is the server's Warehouse controller running?",
                    WAIT_LIMIT.as_secs()
                );
                return Ok(ExitCode::from(1));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
}

fn condition<'a>(warehouse: &'a Value, kind: &str) -> Option<&'a Value> {
    warehouse.pointer("/status/conditions")?.as_array()?.iter().find(|c| c["type"] == kind)
}

/// Prints what discovery found (or why it failed) and the Freight it made.
fn report(name: &str, warehouse: &Value) -> ExitCode {
    let ready = condition(warehouse, "Ready");
    if ready.is_some_and(|c| c["status"] == "False") {
        let message = ready.and_then(|c| c["message"].as_str()).unwrap_or("discovery failed");
        eprintln!("Warehouse/{name} discovery failed: {message}");
        return ExitCode::from(1);
    }
    let artifacts = &warehouse["status"]["discoveredArtifacts"];
    for git in artifacts["git"].as_array().into_iter().flatten() {
        let newest = &git["commits"][0];
        let what = newest["tag"].as_str().filter(|t| !t.is_empty()).or(newest["id"].as_str()).unwrap_or("");
        println!("  git    {}  newest {what}", git["repoURL"].as_str().unwrap_or(""));
    }
    for image in artifacts["images"].as_array().into_iter().flatten() {
        let tag = image["references"][0]["tag"].as_str().unwrap_or("");
        println!("  image  {}  newest {tag}", image["repoURL"].as_str().unwrap_or(""));
    }
    for chart in artifacts["charts"].as_array().into_iter().flatten() {
        let version = chart["versions"][0].as_str().unwrap_or("");
        println!(
            "  chart  {} {}  newest {version}",
            chart["repoURL"].as_str().unwrap_or(""),
            chart["name"].as_str().unwrap_or("")
        );
    }
    if let Some(created) = condition(warehouse, "FreightCreated") {
        println!("  {}", created["message"].as_str().unwrap_or(""));
    }
    ExitCode::SUCCESS
}

/// `convoy update freight (--name N | --old-alias A) --new-alias B`.
pub fn update_freight(client: Client, args: &UpdateArgs) -> anyhow::Result<ExitCode> {
    if args.kind != "freight" {
        eprintln!("error: update works on freight: convoy update freight --name N --new-alias B");
        return Ok(ExitCode::from(2));
    }
    let project = project(&client)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let name = match (&args.name, &args.old_alias) {
            (Some(name), _) => name.clone(),
            (None, Some(alias)) => {
                let path = format!("/v1/projects/{project}/freight?labelSelector=kargo.akuity.io%2Falias%3D{alias}");
                match client.get(&path).await {
                    Ok(list) => match list["items"][0]["metadata"]["name"].as_str() {
                        Some(name) => name.to_owned(),
                        None => {
                            eprintln!("error: no Freight with alias {alias:?} in project {project:?}");
                            return Ok(ExitCode::from(1));
                        }
                    },
                    Err(e) => return Ok(fail(&e)),
                }
            }
            (None, None) => unreachable!("clap requires one"),
        };
        let patch = json!({"alias": args.new_alias, "metadata": {"labels": {"kargo.akuity.io/alias": args.new_alias}}});
        match client
            .send(Method::PATCH, &format!("/v1/projects/{project}/freight/{name}"), Some(patch.to_string()))
            .await
        {
            Ok(_) => {
                println!("Freight/{name} alias is now {}", args.new_alias);
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                let code = fail(&e);
                if let ClientError::Api { body, .. } = &e {
                    for detail in body["details"].as_array().into_iter().flatten() {
                        eprintln!(
                            "  {}: {}",
                            detail["path"].as_str().unwrap_or(""),
                            detail["message"].as_str().unwrap_or("")
                        );
                    }
                }
                Ok(code)
            }
        }
    })
}

/// The name of the Freight with `alias` in `project`.
async fn by_alias(client: &Client, project: &str, alias: &str) -> Result<Option<String>, ClientError> {
    let path = format!("/v1/projects/{project}/freight?labelSelector=kargo.akuity.io%2Falias%3D{alias}");
    Ok(client.get(&path).await?["items"][0]["metadata"]["name"].as_str().map(str::to_owned))
}

/// `convoy approve (--freight NAME | --freight-alias ALIAS) --stage STAGE`.
pub fn approve(client: Client, args: &ApproveArgs) -> anyhow::Result<ExitCode> {
    let project = project(&client)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let name = match (&args.freight, &args.freight_alias) {
            (Some(name), _) => name.clone(),
            (None, Some(alias)) => match by_alias(&client, &project, alias).await {
                Ok(Some(name)) => name,
                Ok(None) => {
                    eprintln!("error: no Freight with alias {alias:?} in project {project:?}");
                    return Ok(ExitCode::from(1));
                }
                Err(e) => return Ok(fail(&e)),
            },
            (None, None) => unreachable!("clap requires one"),
        };
        let body = json!({"stage": args.stage}).to_string();
        match client.send(Method::POST, &format!("/v1/projects/{project}/freight/{name}/approve"), Some(body)).await {
            Ok(_) => {
                println!("Freight/{name} approved for Stage {}", args.stage);
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => Ok(fail(&e)),
        }
    })
}

/// `convoy verify stage NAME [--abort]`.
pub fn verify(client: Client, args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    if !matches!(args.kind.as_str(), "stage" | "stages") {
        eprintln!("error: verify works on stages: convoy verify stage NAME [--abort]");
        return Ok(ExitCode::from(2));
    }
    let project = project(&client)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let body = json!({"abort": args.abort}).to_string();
    let path = format!("/v1/projects/{project}/stages/{}/verify", args.name);
    Ok(match runtime.block_on(client.send(Method::POST, &path, Some(body))) {
        Ok(_) if args.abort => {
            println!("Stage/{} verification abort requested", args.name);
            ExitCode::SUCCESS
        }
        Ok(_) => {
            println!("Stage/{} verification requested", args.name);
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    })
}
