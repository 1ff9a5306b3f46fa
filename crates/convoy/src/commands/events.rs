//! `convoy events [-w]`: the project's event log, oldest first.

use std::process::ExitCode;

use serde_json::Value;

use crate::cli::EventsArgs;
use crate::client::{Client, Events};

fn line(event: &Value) -> String {
    let text = |p: &str| event.pointer(p).and_then(Value::as_str).unwrap_or("").to_owned();
    format!(
        "{}  {:<7}  {:<30}  {}/{}  {}",
        text("/lastTimestamp"),
        text("/type"),
        text("/reason"),
        text("/involvedObject/kind"),
        text("/involvedObject/name"),
        text("/message")
    )
}

pub fn run(client: Client, args: &EventsArgs) -> anyhow::Result<ExitCode> {
    let Some(project) = client.settings.project.clone() else {
        anyhow::bail!("events belong to a project: pass -p PROJECT (or set CONVOY_PROJECT)");
    };
    let path = format!("/v1/projects/{project}/events");
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        if args.watch {
            let mut events = match Events::open(&client, &path).await {
                Ok(events) => events,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(ExitCode::from(e.exit_code()));
                }
            };
            while let Some(event) = events.next().await {
                let (kind, object) = event?;
                if kind == "ADDED" {
                    println!("{}", line(&object));
                }
            }
            return Ok(ExitCode::SUCCESS);
        }
        let list = match client.list(&path).await {
            Ok(list) => list,
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(ExitCode::from(e.exit_code()));
            }
        };
        let mut items = list["items"].as_array().cloned().unwrap_or_default();
        items.sort_by(|a, b| {
            let time = |v: &Value| v["lastTimestamp"].as_str().unwrap_or("").to_owned();
            (time(a), a["metadata"]["name"].as_str().unwrap_or("").to_owned())
                .cmp(&(time(b), b["metadata"]["name"].as_str().unwrap_or("").to_owned()))
        });
        if items.is_empty() {
            eprintln!("no events in project {project:?}");
        }
        for event in &items {
            println!("{}", line(event));
        }
        Ok(ExitCode::SUCCESS)
    })
}
