//! `convoy events [-w] [--for KIND/NAME] [-o text|json]`: the project's event log, oldest first.

use std::process::ExitCode;

use serde_json::Value;

use crate::cli::{EventsArgs, LintFormat};
use crate::client::{Client, Events};

/// `AGE  TYPE  REASON  Kind/name  message`, the age relative to now.
fn line(event: &Value) -> String {
    let text = |p: &str| event.pointer(p).and_then(Value::as_str).unwrap_or("").to_owned();
    format!(
        "{:>4}  {:<7}  {:<30}  {}/{}  {}",
        super::get::age(&text("/lastTimestamp")),
        text("/type"),
        text("/reason"),
        text("/involvedObject/kind"),
        text("/involvedObject/name"),
        text("/message")
    )
}

fn print(event: &Value, format: LintFormat) {
    match format {
        LintFormat::Text => println!("{}", line(event)),
        LintFormat::Json => println!("{event}"),
    }
}

/// `--for KIND/NAME`: the kind as the command line names kinds (`stage`, `promo`, ...).
fn about_filter(about: Option<&str>) -> anyhow::Result<Option<(String, String)>> {
    let Some(about) = about else { return Ok(None) };
    let (kind, name) = about.split_once('/').ok_or_else(|| anyhow::anyhow!("--for takes KIND/NAME, e.g. stage/dev"))?;
    let kind = convoy_api::Kind::from_cli(kind).ok_or_else(|| {
        anyhow::anyhow!("--for {about}: unknown kind {kind:?}; e.g. stage, promotion, freight, warehouse")
    })?;
    Ok(Some((kind.name().to_owned(), name.to_owned())))
}

/// Oldest first: by time, then by when it was recorded (the nanoseconds ending its name), so
/// events of one second keep the order they happened in.
pub fn order_key(event: &Value) -> (String, u128) {
    let time = event["lastTimestamp"].as_str().unwrap_or("").to_owned();
    let name = event["metadata"]["name"].as_str().unwrap_or("");
    let recorded = name.rsplit('.').next().and_then(|n| u128::from_str_radix(n, 16).ok()).unwrap_or(0);
    (time, recorded)
}

/// An event about the object, or (for a Stage) about one of its Promotions.
pub fn concerns(event: &Value, about: Option<&(String, String)>) -> bool {
    about.is_none_or(|(kind, name)| {
        let involved_kind = event.pointer("/involvedObject/kind").and_then(Value::as_str).unwrap_or("");
        let involved = event.pointer("/involvedObject/name").and_then(Value::as_str).unwrap_or("");
        (involved_kind == kind && involved == name)
            || (kind == "Stage"
                && involved_kind == "Promotion"
                && convoy_core::names::stage_of_promotion(involved) == Some(name.as_str()))
    })
}

pub fn run(client: Client, args: &EventsArgs) -> anyhow::Result<ExitCode> {
    let Some(project) = client.settings.project.clone() else {
        anyhow::bail!("events belong to a project: pass -p PROJECT (or set CONVOY_PROJECT)");
    };
    let about = about_filter(args.about.as_deref())?;
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
                if kind == "ADDED" && concerns(&object, about.as_ref()) {
                    print(&object, args.format);
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
        let mut items: Vec<Value> =
            list["items"].as_array().into_iter().flatten().filter(|e| concerns(e, about.as_ref())).cloned().collect();
        items.sort_by_key(order_key);
        if items.is_empty() {
            match &args.about {
                Some(about) => eprintln!("no events about {about} in project {project:?}"),
                None => eprintln!("no events in project {project:?}"),
            }
        }
        for event in &items {
            print(event, args.format);
        }
        Ok(ExitCode::SUCCESS)
    })
}
