//! `convoy promote` and `convoy logs promotion`.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use convoy_api::time::Timestamp;
use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::{FollowLogsArgs, LogsArgs, PromoteArgs};
use crate::client::{Client, ClientError, Events};

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
        if let Some(upstream) = &args.downstream_from {
            return downstream(&client, &project, upstream, args).await;
        }
        let stage = args.stage.clone().unwrap_or_default();
        let request = json!({
            "freight": args.freight,
            "freightAlias": args.freight_alias,
            "warehouse": args.warehouse,
            "dryRun": args.dry_run,
            "overrideWindow": args.override_window,
        });
        let path = format!("/v1/projects/{project}/stages/{stage}/promote");
        let created = match client.send(Method::POST, &path, Some(request.to_string())).await {
            Ok((created, _)) => created,
            Err(e) => return Ok(fail(&e)),
        };
        if args.dry_run {
            return Ok(print_dry_run(&created));
        }
        let name = created["metadata"]["name"].as_str().unwrap_or_default().to_owned();
        println!("Promotion/{name} created");
        announce_hold(&created, &project, &stage);
        if !args.wait {
            return Ok(ExitCode::SUCCESS);
        }
        wait(&client, &project, &name).await
    })
}

/// `--downstream-from`: one Promotion per Stage that takes Freight from `upstream`; with
/// `--wait`, each is followed in turn. Exit 1 when any was refused or did not succeed.
async fn downstream(client: &Client, project: &str, upstream: &str, args: &PromoteArgs) -> anyhow::Result<ExitCode> {
    let request = json!({"freight": args.freight, "freightAlias": args.freight_alias});
    let path = format!("/v1/projects/{project}/stages/{upstream}/promote-downstream");
    let report = match client.send(Method::POST, &path, Some(request.to_string())).await {
        Ok((report, _)) => report,
        Err(e) => return Ok(fail(&e)),
    };
    let mut code = ExitCode::SUCCESS;
    for refused in report["refused"].as_array().into_iter().flatten() {
        eprintln!(
            "Stage {}: refused: {}",
            refused["stage"].as_str().unwrap_or(""),
            refused["message"].as_str().unwrap_or("")
        );
        code = ExitCode::from(1);
    }
    for created in report["promotions"].as_array().into_iter().flatten() {
        let name = created["promotion"].as_str().unwrap_or("");
        println!("Promotion/{name} created");
        if args.wait && wait(client, project, name).await? != ExitCode::SUCCESS {
            code = ExitCode::from(1);
        }
    }
    Ok(code)
}

/// Prints a dry run's steps and the diffs its commits would have made; exit 1 unless it succeeded.
/// Promoting other than the Freight auto-promotion would choose holds auto-promotion of that
/// origin (Kargo §5.6): say so, and how to resume.
fn announce_hold(promotion: &Value, project: &str, stage: &str) {
    let annotation = promotion.pointer("/metadata/annotations/kargo.akuity.io~1auto-promotion-hold");
    let Some(origin) = annotation.and_then(Value::as_str) else { return };
    let warehouse = origin.strip_prefix("Warehouse/").unwrap_or(origin);
    eprintln!(
        "note: auto-promotion of {origin} into {stage} is held from now on: this is not the Freight it would choose\n  \
         to resume, promote the one it would: convoy -p {project} promote --warehouse {warehouse} --stage {stage}"
    );
}

fn print_dry_run(report: &Value) -> ExitCode {
    let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
    println!(
        "Dry run of {} -> Stage {}: nothing was pushed or stored",
        text(&report["freight"]),
        text(&report["stage"])
    );
    for warning in report["warnings"].as_array().into_iter().flatten() {
        let hint = warning["hint"].as_str().map(|h| format!(" ({h})")).unwrap_or_default();
        eprintln!("note: {}{hint}", text(&warning["message"]));
    }
    for step in report["steps"].as_array().into_iter().flatten() {
        let message = step["message"].as_str().map(|m| format!(": {m}")).unwrap_or_default();
        println!("  {:<9} {} ({}){message}", text(&step["status"]), text(&step["alias"]), text(&step["uses"]));
    }
    for diff in report["diffs"].as_array().into_iter().flatten() {
        let subject = text(&diff["message"]).lines().next().unwrap_or_default().to_owned();
        println!("\n# {} would commit in {}: {subject}", text(&diff["alias"]), text(&diff["path"]));
        let body = text(&diff["diff"]);
        if body.is_empty() {
            println!("(no changes)");
        } else {
            print!("{body}");
        }
    }
    let phase = text(&report["phase"]);
    if phase == "Succeeded" {
        println!("\nDry run Succeeded");
        ExitCode::SUCCESS
    } else {
        eprintln!("\nDry run {phase}");
        ExitCode::from(1)
    }
}

/// Follows the Promotion through a watch (polling if the watch drops) until a terminal phase.
async fn wait(client: &Client, project: &str, name: &str) -> anyhow::Result<ExitCode> {
    let path = format!("/v1/projects/{project}/promotions/{name}");
    let mut display = Display::new(std::io::stdout().is_terminal());
    let mut events = Events::open(client, &format!("/v1/projects/{project}/promotions")).await.ok();
    loop {
        let promotion = match events.as_mut() {
            Some(stream) => match stream.next().await {
                Some(Ok((_, object))) if object.pointer("/metadata/name").and_then(Value::as_str) == Some(name) => {
                    object
                }
                Some(Ok(_)) => continue,
                // The watch ended (server restart, proxy timeout): poll from here on.
                Some(Err(_)) | None => {
                    events = None;
                    continue;
                }
            },
            None => {
                tokio::time::sleep(Duration::from_millis(300)).await;
                match client.get(&path).await {
                    Ok(p) => p,
                    Err(e) => return Ok(fail(&e)),
                }
            }
        };
        display.show(&promotion);
        let phase = promotion.pointer("/status/phase").and_then(Value::as_str).unwrap_or("Pending");
        match phase {
            "Succeeded" => {
                display.clear();
                println!("Promotion/{name} Succeeded");
                return Ok(ExitCode::SUCCESS);
            }
            "Failed" | "Errored" | "Aborted" => {
                display.clear();
                let message = promotion.pointer("/status/message").and_then(Value::as_str).unwrap_or("");
                eprintln!("Promotion/{name} {phase}: {message}");
                return Ok(ExitCode::from(1));
            }
            _ => {}
        }
    }
}

/// Step lines as they finish. On a terminal the running step is one line redrawn in place;
/// otherwise every status change is its own line (logs, CI).
struct Display {
    terminal: bool,
    shown: Vec<(String, String)>,
    live: bool,
}

impl Display {
    fn new(terminal: bool) -> Display {
        Display { terminal, shown: Vec::new(), live: false }
    }

    fn show(&mut self, promotion: &Value) {
        use std::io::Write;
        let metas = promotion.pointer("/status/stepExecutionMetadata").and_then(Value::as_array);
        let mut running = None;
        for meta in metas.into_iter().flatten() {
            let alias = meta["alias"].as_str().unwrap_or("").to_owned();
            let status = meta["status"].as_str().unwrap_or("").to_owned();
            if self.terminal && status == "Running" {
                running = Some((alias, meta["message"].as_str().unwrap_or("").to_owned()));
                continue;
            }
            if !self.shown.contains(&(alias.clone(), status.clone())) {
                self.clear();
                let message = meta["message"].as_str().map(|m| format!(": {m}")).unwrap_or_default();
                println!("  {status:<9} {alias}{message}");
                self.shown.push((alias, status));
            }
        }
        if let Some((alias, message)) = running {
            let message = if message.is_empty() { String::new() } else { format!(": {message}") };
            print!("\r\x1b[2K  Running   {alias}{message}");
            let _ = std::io::stdout().flush();
            self.live = true;
        }
    }

    /// Erases the redrawn line, if there is one.
    fn clear(&mut self) {
        if self.live {
            print!("\r\x1b[2K");
            self.live = false;
        }
    }
}

pub fn logs(client: Client, args: &FollowLogsArgs) -> anyhow::Result<ExitCode> {
    let by_stage = matches!(args.kind.as_str(), "stage" | "stages");
    if !by_stage && !matches!(args.kind.as_str(), "promotion" | "promotions" | "promo" | "promos") {
        eprintln!(
            "error: logs are kept for promotions: convoy logs promotion NAME, or convoy logs stage NAME (its latest)"
        );
        return Ok(ExitCode::from(2));
    }
    let project = project(&client)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let name = if by_stage {
            match latest_promotion(&client, &project, &args.name).await {
                Ok(Some(name)) => name,
                Ok(None) => {
                    eprintln!("error: Stage {:?} has no Promotion yet", args.name);
                    return Ok(ExitCode::from(1));
                }
                Err(e) => return Ok(fail(&e)),
            }
        } else {
            args.name.clone()
        };
        let promotion = match client.get(&format!("/v1/projects/{project}/promotions/{name}")).await {
            Ok(p) => p,
            Err(e) => return Ok(fail(&e)),
        };
        print_log(&name, &promotion);
        let phase = promotion.pointer("/status/phase").and_then(Value::as_str).unwrap_or("Pending");
        if args.follow && !matches!(phase, "Succeeded" | "Failed" | "Errored" | "Aborted") {
            println!();
            return wait(&client, &project, &name).await;
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// The newest Promotion into `stage` (names sort in creation order).
async fn latest_promotion(client: &Client, project: &str, stage: &str) -> Result<Option<String>, ClientError> {
    let list = client.list(&format!("/v1/projects/{project}/promotions")).await?;
    Ok(list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p.pointer("/spec/stage").and_then(Value::as_str) == Some(stage))
        .filter_map(|p| p.pointer("/metadata/name").and_then(Value::as_str))
        .max()
        .map(str::to_owned))
}

/// The Promotion's header and one line per step: times, status, alias, kind, duration, message.
fn print_log(name: &str, promotion: &Value) {
    let s = |p: &str| promotion.pointer(p).and_then(Value::as_str).unwrap_or("").to_owned();
    println!("Promotion {name} -> Stage {} (Freight {})", s("/spec/stage"), s("/spec/freight"));
    println!(
        "phase: {}  started: {}  finished: {}",
        s("/status/phase"),
        s("/status/startedAt"),
        s("/status/finishedAt")
    );
    if !s("/status/message").is_empty() {
        println!("message: {}", s("/status/message"));
    }
    let steps = promotion.pointer("/spec/steps").and_then(Value::as_array);
    for (i, meta) in
        promotion.pointer("/status/stepExecutionMetadata").and_then(Value::as_array).into_iter().flatten().enumerate()
    {
        let field = |k: &str| meta[k].as_str().unwrap_or("-").to_owned();
        let uses = steps.and_then(|s| s.get(i)).and_then(|s| s["uses"].as_str()).unwrap_or("?");
        let errors = meta["errorCount"].as_u64().unwrap_or(0);
        let retries = if errors > 0 { format!(" ({errors} errors)") } else { String::new() };
        let took = match (Timestamp::parse(&field("startedAt")), Timestamp::parse(&field("finishedAt"))) {
            (Ok(start), Ok(end)) => format!(" {}s", (end.0 - start.0).max(0)),
            _ => String::new(),
        };
        let message = meta["message"].as_str().map(|m| format!("  {m}")).unwrap_or_default();
        println!(
            "{} .. {}  {:<9} {} ({uses}){took}{retries}{message}",
            field("startedAt"),
            field("finishedAt"),
            field("status"),
            field("alias")
        );
    }
}

/// `convoy abort promotion NAME`: sets Kargo's abort annotation; the engine stops before the
/// next step and the Promotion ends Aborted.
pub fn abort(client: Client, args: &LogsArgs) -> anyhow::Result<ExitCode> {
    if !matches!(args.kind.as_str(), "promotion" | "promotions" | "promo" | "promos") {
        eprintln!("error: only promotions can be aborted: convoy abort promotion NAME");
        return Ok(ExitCode::from(2));
    }
    let project = project(&client)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let path = format!("/v1/projects/{project}/promotions/{}/abort", args.name);
    Ok(match runtime.block_on(client.send(Method::POST, &path, Some(String::new()))) {
        Ok(_) => {
            println!("Promotion/{} abort requested", args.name);
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    })
}
