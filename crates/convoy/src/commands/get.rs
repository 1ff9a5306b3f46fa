//! `convoy get` and `convoy describe`: tables with Kargo's printer columns, YAML and JSON.

use std::process::ExitCode;

use comfy_table::presets::NOTHING;
use comfy_table::{Cell, Table};
use convoy_api::Kind;
use serde_json::{Value, json};

use crate::cli::{GetArgs, OutputFormat};
use crate::client::{Client, ClientError, Events};

pub fn parse_kind(word: &str) -> anyhow::Result<Kind> {
    Kind::from_cli(word).ok_or_else(|| {
        let names: Vec<&str> = Kind::ALL.iter().map(|k| k.plural()).collect();
        let guess = convoy_api::suggest::closest(&word.to_ascii_lowercase(), names.iter().copied());
        anyhow::anyhow!(
            "unknown kind {word:?}{}",
            guess
                .map(|g| format!("; did you mean {g:?}?"))
                .unwrap_or_else(|| format!("; use one of {}", names.join(", ")))
        )
    })
}

fn collection_path(client: &Client, kind: Kind) -> String {
    match (&client.settings.project, kind.is_cluster_scoped()) {
        (Some(project), false) => format!("/v1/projects/{project}/{}", kind.plural()),
        _ => format!("/v1/{}", kind.plural()),
    }
}

pub fn object_path(client: &Client, kind: Kind, name: &str) -> anyhow::Result<String> {
    if kind.is_cluster_scoped() {
        return Ok(format!("/v1/{}/{name}", kind.plural()));
    }
    let project = client
        .settings
        .project
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("{kind} belongs to a project: pass -p PROJECT (or set CONVOY_PROJECT)"))?;
    Ok(format!("/v1/projects/{project}/{}/{name}", kind.plural()))
}

fn fail(e: &ClientError) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(e.exit_code())
}

pub fn run(client: Client, args: &GetArgs) -> anyhow::Result<ExitCode> {
    let kind = parse_kind(&args.kind)?;
    let runtime = tokio::runtime::Runtime::new()?;
    if let Some(name) = &args.name {
        let path = object_path(&client, kind, name)?;
        return Ok(match runtime.block_on(client.get(&path)) {
            Ok(object) => {
                print_objects(
                    kind,
                    std::slice::from_ref(&object),
                    args.output,
                    Some(&object),
                    client.settings.project.is_none(),
                )?;
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        });
    }
    let mut path = collection_path(&client, kind);
    if let Some(selector) = &args.selector {
        path.push_str(&format!("?labelSelector={}", encode(selector)));
    }
    let all_projects = client.settings.project.is_none() && !kind.is_cluster_scoped();
    if args.watch {
        return runtime.block_on(watch(&client, kind, &path, args.output, all_projects));
    }
    if args.warehouse.is_some() && kind != Kind::Freight {
        eprintln!("error: --warehouse applies to freight only");
        return Ok(ExitCode::from(2));
    }
    if args.stage.is_some() && kind != Kind::Promotion {
        eprintln!("error: --stage applies to promotions only");
        return Ok(ExitCode::from(2));
    }
    Ok(match runtime.block_on(client.list(&path)) {
        Ok(list) => {
            let mut items = list["items"].as_array().cloned().unwrap_or_default();
            if let Some(warehouse) = &args.warehouse {
                items.retain(|f| f.pointer("/origin/name").and_then(Value::as_str) == Some(warehouse.as_str()));
            }
            if let Some(stage) = &args.stage {
                items.retain(|p| p.pointer("/spec/stage").and_then(Value::as_str) == Some(stage.as_str()));
                if args.latest {
                    // Promotion names carry a ULID: the greatest is the newest.
                    let name = |p: &Value| p.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").to_owned();
                    items = items.into_iter().max_by_key(name).into_iter().collect();
                }
            }
            if items.is_empty() && matches!(args.output, OutputFormat::Table | OutputFormat::Wide) {
                eprintln!("no {} found", kind.plural());
            } else {
                // `--latest` names one object: printed as a named get prints it.
                let single = if args.latest { items.first() } else { None };
                print_objects(kind, &items, args.output, single, all_projects)?;
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    })
}

async fn watch(
    client: &Client,
    kind: Kind,
    path: &str,
    output: OutputFormat,
    all_projects: bool,
) -> anyhow::Result<ExitCode> {
    let mut events = match Events::open(client, path).await {
        Ok(events) => events,
        Err(e) => return Ok(fail(&e)),
    };
    let wide = output == OutputFormat::Wide;
    let mut columns = vec!["EVENT"];
    columns.extend(headers(kind, wide, all_projects));
    // Fixed widths (a stream cannot be measured first), wide enough for what each column holds:
    // Promotion names (<stage>.<ULID>.<7>), Freight names (40 hex), a running phase with its step.
    let widths: Vec<usize> = columns
        .iter()
        .map(|c| match *c {
            "NAME" if kind == Kind::Promotion => 44,
            "NAME" if kind == Kind::Freight => 40,
            "FREIGHT" | "CURRENT FREIGHT" => 40,
            "PHASE" => 28,
            "NAME" | "STAGE" | "STATUS" => 20,
            other => other.len().max(12),
        })
        .collect();
    let aligned = |cells: &[String]| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        padded.join("  ").trim_end().to_owned()
    };
    if matches!(output, OutputFormat::Table | OutputFormat::Wide) {
        println!("{}", aligned(&columns.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>()));
    }
    // What each object last showed: a change of its age alone is not news.
    let mut last_shown: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
    let age_column = columns.iter().position(|c| *c == "AGE");
    while let Some(event) = events.next().await {
        let (event_type, object) = event?;
        let event_type = event_type.as_str();
        if event_type == "ERROR" {
            eprintln!("error: {}", object["message"].as_str().unwrap_or("watch failed"));
            return Ok(ExitCode::from(1));
        }
        match output {
            OutputFormat::Json => println!("{}", json!({"type": event_type, "object": object})),
            OutputFormat::Yaml => {
                print!("---\n{}", serde_yaml::to_string(&json!({"type": event_type, "object": object}))?)
            }
            _ => {
                let mut cells = vec![event_type.to_owned()];
                cells.extend(row(kind, &object, wide, all_projects));
                let text = |p: &str| object.pointer(p).and_then(Value::as_str).unwrap_or("").to_owned();
                let identity = format!("{}/{}", text("/metadata/namespace"), text("/metadata/name"));
                let mut compared = cells.clone();
                if let Some(i) = age_column.filter(|i| *i < compared.len()) {
                    compared.remove(i);
                }
                if event_type == "MODIFIED" && last_shown.get(&identity) == Some(&compared) {
                    continue;
                }
                last_shown.insert(identity, compared);
                println!("{}", aligned(&cells));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn print_objects(
    kind: Kind,
    items: &[Value],
    output: OutputFormat,
    single: Option<&Value>,
    all_projects: bool,
) -> anyhow::Result<()> {
    let document = match single {
        Some(object) => object.clone(),
        None => json!({"apiVersion": "v1", "kind": "List", "items": items}),
    };
    match output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&document)?),
        OutputFormat::Yaml => print!("{}", serde_yaml::to_string(&document)?),
        OutputFormat::Table | OutputFormat::Wide => {
            let wide = output == OutputFormat::Wide;
            let mut table = Table::new();
            table.load_style(NOTHING);
            table.set_header(headers(kind, wide, all_projects).into_iter().map(Cell::new));
            let colour = colours_wanted();
            for item in items {
                table.add_row(row(kind, item, wide, all_projects).into_iter().map(|text| {
                    let cell = Cell::new(&text);
                    match colour.then(|| colour_of(&text)).flatten() {
                        Some(c) => cell.fg(c),
                        None => cell,
                    }
                }));
            }
            // The preset pads every cell by one space on each side; drop the leading one.
            let text = table.to_string();
            let lines: Vec<&str> = text.lines().map(|l| l.strip_prefix(' ').unwrap_or(l).trim_end()).collect();
            println!("{}", lines.join("\n"));
        }
    }
    Ok(())
}

/// Colours on a terminal, unless `NO_COLOR` is set (no-color.org); never when piped.
fn colours_wanted() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Phases, health and readiness by how they end: green for done and well, red for failed,
/// yellow for under way.
fn colour_of(text: &str) -> Option<comfy_table::Color> {
    use comfy_table::Color;
    let word = text.split_whitespace().next()?;
    match word {
        "Succeeded" | "Healthy" | "True" | "Successful" | "Verified" => Some(Color::Green),
        "Failed" | "Errored" | "Error" | "Unhealthy" | "Degraded" | "False" => Some(Color::Red),
        "Running" | "Pending" | "Progressing" | "Aborted" | "Unknown" => Some(Color::Yellow),
        _ => None,
    }
}

/// Kargo's printer columns (reference §1.0), plus PROJECT when listing every project.
fn headers(kind: Kind, wide: bool, all_projects: bool) -> Vec<&'static str> {
    let mut h = Vec::new();
    if all_projects {
        h.push("PROJECT");
    }
    h.push("NAME");
    h.extend(match kind {
        // Kargo's printer columns, and the last promotion (its phase, how long ago it ended).
        Kind::Stage => vec!["SHARD", "CURRENT FREIGHT", "HEALTH", "READY", "STATUS", "LAST PROMOTION", "AGE"],
        Kind::Freight => vec!["ALIAS", "ORIGIN (KIND)", "ORIGIN (NAME)", "AGE"],
        Kind::Promotion => vec!["SHARD", "STAGE", "FREIGHT", "PHASE", "AGE"],
        Kind::Warehouse => vec!["SHARD", "AGE"],
        Kind::Secret => vec!["TYPE", "REPO URL", "USERNAME", "AGE"],
        _ => vec!["AGE"],
    });
    if wide {
        if kind == Kind::Stage {
            h.push("HOLD");
        }
        h.push("RESOURCE VERSION");
    }
    h
}

fn row(kind: Kind, object: &Value, wide: bool, all_projects: bool) -> Vec<String> {
    let s = |pointer: &str| object.pointer(pointer).and_then(Value::as_str).unwrap_or("").to_owned();
    let ready = || {
        let conditions = object.pointer("/status/conditions").and_then(Value::as_array).cloned().unwrap_or_default();
        conditions
            .iter()
            .find(|c| c["type"] == "Ready")
            .map(|c| (c["status"].as_str().unwrap_or("").to_owned(), c["message"].as_str().unwrap_or("").to_owned()))
            .unwrap_or_default()
    };
    let mut r = Vec::new();
    if all_projects {
        r.push(s("/metadata/namespace"));
    }
    r.push(s("/metadata/name"));
    match kind {
        Kind::Stage => {
            let (status, mut message) = ready();
            if object.pointer("/status/promotionWindowStatus/closed") == Some(&Value::Bool(true)) {
                let frozen = match s("/status/promotionWindowStatus/nextOpen") {
                    opens if opens.is_empty() => "promotions frozen".to_owned(),
                    opens => format!("promotions frozen until {opens}"),
                };
                message = if message.is_empty() { frozen } else { format!("{message}; {frozen}") };
            }
            let last = match (s("/status/lastPromotion/status/phase"), s("/status/lastPromotion/finishedAt")) {
                (phase, _) if phase.is_empty() => String::new(),
                (phase, finished) if finished.is_empty() => phase,
                (phase, finished) => format!("{phase} {} ago", age(&finished)),
            };
            r.extend([
                s("/spec/shard"),
                s("/status/freightSummary"),
                s("/status/health/status"),
                status,
                message,
                last,
            ]);
        }
        Kind::Freight => r.extend([s("/metadata/labels/kargo.akuity.io~1alias"), s("/origin/kind"), s("/origin/name")]),
        Kind::Promotion => r.extend([
            s("/metadata/labels/kargo.akuity.io~1shard"),
            s("/spec/stage"),
            s("/spec/freight"),
            promotion_phase(object),
        ]),
        Kind::Warehouse => r.push(s("/spec/shard")),
        Kind::Secret => {
            // The server shows a credentials Secret's repository and user, never the rest.
            let shown = |key: &str| {
                let value = s(&format!("/data/{key}"));
                convoy_controllers::base64::decode(&value)
                    .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                    .unwrap_or(value)
            };
            let kind = object.pointer("/metadata/labels/kargo.akuity.io~1cred-type").and_then(Value::as_str);
            r.extend([kind.map_or_else(|| s("/type"), str::to_owned), shown("repoURL"), shown("username")]);
        }
        _ => {}
    }
    r.push(age(&s("/metadata/creationTimestamp")));
    if wide {
        if kind == Kind::Stage {
            // The origins whose auto-promotion a manual promotion holds.
            let holds = object.pointer("/status/effectiveAutoPromotionHolds").and_then(Value::as_object);
            r.push(holds.map(|h| h.keys().cloned().collect::<Vec<_>>().join(",")).unwrap_or_default());
        }
        r.push(s("/metadata/resourceVersion"));
    }
    r
}

/// The phase; a running Promotion also says which step it is at (`Running 2/4 update-image`).
fn promotion_phase(promotion: &Value) -> String {
    let phase = promotion.pointer("/status/phase").and_then(Value::as_str).unwrap_or("").to_owned();
    if phase != "Running" {
        return phase;
    }
    let steps = promotion.pointer("/spec/steps").and_then(Value::as_array).map_or(0, Vec::len);
    let Some(current) = promotion.pointer("/status/currentStep").and_then(Value::as_u64) else { return phase };
    let index = usize::try_from(current).unwrap_or(usize::MAX);
    let alias = promotion
        .pointer(&format!("/status/stepExecutionMetadata/{index}/alias"))
        .and_then(Value::as_str)
        .unwrap_or("");
    format!("Running {}/{steps} {alias}", index.saturating_add(1)).trim_end().to_owned()
}

/// `45s`, `12m`, `3h`, `5d` since an RFC 3339 time.
pub fn age(timestamp: &str) -> String {
    use convoy_api::time::Timestamp;
    let Ok(then) = Timestamp::parse(timestamp) else { return String::new() };
    let secs = (Timestamp::now().seconds() - then.seconds()).max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use comfy_table::Color;

    #[test]
    fn cells_are_coloured_by_how_things_end() {
        assert_eq!(colour_of("Succeeded 3m ago"), Some(Color::Green));
        assert_eq!(colour_of("Running 2/4 task-1::push"), Some(Color::Yellow));
        assert_eq!(colour_of("Errored"), Some(Color::Red));
        assert_eq!(colour_of("False"), Some(Color::Red));
        assert_eq!(colour_of("dev"), None);
        assert_eq!(colour_of(""), None);
    }
}
