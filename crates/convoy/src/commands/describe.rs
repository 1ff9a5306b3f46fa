//! `convoy describe KIND NAME`: an object in sections a person reads (what it asks for, what it
//! holds, its conditions with reasons and ages, its recent Promotions and events), as kubectl
//! describe does; kinds without a reading of their own show their YAML after the summary.

use std::process::ExitCode;

use serde_json::Value;

use super::get::{age, object_path, parse_kind};
use crate::cli::DescribeArgs;
use crate::client::{Client, ClientError};
use convoy_api::Kind;

pub fn run(client: Client, args: &DescribeArgs) -> anyhow::Result<ExitCode> {
    let kind = parse_kind(&args.kind)?;
    let path = object_path(&client, kind, &args.name)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let object = match client.get(&path).await {
            Ok(object) => object,
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(ExitCode::from(e.exit_code()));
            }
        };
        let mut out = String::new();
        summary(&mut out, kind, &object);
        let project = text(&object, "/metadata/namespace");
        match kind {
            Kind::Stage => stage(&mut out, &client, &object).await?,
            Kind::Freight => freight(&mut out, &object),
            Kind::Promotion => promotion(&mut out, &object),
            Kind::Warehouse => warehouse(&mut out, &object),
            _ => {
                out.push_str("---\n");
                out.push_str(&serde_yaml::to_string(&object)?);
            }
        }
        if !kind.is_cluster_scoped() && kind != Kind::Event {
            events(&mut out, &client, &project, kind, &text(&object, "/metadata/name")).await?;
        }
        print!("{out}");
        Ok(ExitCode::SUCCESS)
    })
}

fn text(object: &Value, pointer: &str) -> String {
    object.pointer(pointer).and_then(Value::as_str).unwrap_or("").to_owned()
}

fn items<'v>(object: &'v Value, pointer: &str) -> impl Iterator<Item = &'v Value> {
    object.pointer(pointer).and_then(Value::as_array).into_iter().flatten()
}

fn line(out: &mut String, label: &str, value: &str) {
    out.push_str(&format!("{:<18}{value}\n", format!("{label}:")));
}

/// `when (age ago)`, or nothing.
fn when(timestamp: &str) -> String {
    if timestamp.is_empty() { String::new() } else { format!("{timestamp} ({} ago)", age(timestamp)) }
}

fn summary(out: &mut String, kind: Kind, object: &Value) {
    line(out, "Name", &text(object, "/metadata/name"));
    if !kind.is_cluster_scoped() {
        line(out, "Project", &text(object, "/metadata/namespace"));
    }
    line(out, "Kind", kind.name());
    line(out, "Created", &when(&text(object, "/metadata/creationTimestamp")));
}

fn conditions(out: &mut String, object: &Value) {
    let all: Vec<&Value> = items(object, "/status/conditions").collect();
    if all.is_empty() {
        return;
    }
    out.push_str("Conditions:\n");
    for c in all {
        out.push_str(&format!(
            "  {:<10} {:<7} {:<28} {:>4}  {}\n",
            text(c, "/type"),
            text(c, "/status"),
            text(c, "/reason"),
            age(&text(c, "/lastTransitionTime")),
            text(c, "/message")
        ));
    }
}

async fn stage(out: &mut String, client: &Client, stage: &Value) -> Result<(), ClientError> {
    let ready = items(stage, "/status/conditions").find(|c| c["type"] == "Ready");
    if let Some(ready) = ready {
        line(
            out,
            "Ready",
            &format!("{} ({}): {}", text(ready, "/status"), text(ready, "/reason"), text(ready, "/message")),
        );
    }
    if let Some(health) = stage.pointer("/status/health").filter(|h| h.is_object()) {
        let issues: Vec<&str> = items(health, "/issues").filter_map(Value::as_str).collect();
        let state = text(health, "/status");
        let shown = if issues.is_empty() { state.to_string() } else { format!("{state}: {}", issues.join("; ")) };
        line(out, "Health", &shown);
    }
    if let Some(window) = stage.pointer("/status/promotionWindowStatus").filter(|w| w.is_object()) {
        let when = |pointer: &str| Some(text(window, pointer)).filter(|t| !t.is_empty());
        let shown = if window["closed"] == Value::Bool(true) {
            let opens =
                when("/nextOpen").map(|t| format!("; opens {t}")).unwrap_or_else(|| "; no reopening known".into());
            format!("closed: {}{opens}", text(window, "/reason"))
        } else {
            match when("/nextClose") {
                Some(t) => format!("open; closes {t}: {}", text(window, "/nextCloseReason")),
                None => "open".to_owned(),
            }
        };
        line(out, "Promotion window", &shown);
    }
    let auto = stage.pointer("/status/autoPromotionEnabled").and_then(Value::as_bool).unwrap_or(false);
    let holds: Vec<String> = stage
        .pointer("/status/effectiveAutoPromotionHolds")
        .and_then(Value::as_object)
        .map(|h| {
            h.iter().map(|(origin, hold)| format!("{origin} (by Promotion {})", text(hold, "/promotionName"))).collect()
        })
        .unwrap_or_default();
    let auto_text = match (auto, holds.is_empty()) {
        (false, _) => "off".to_owned(),
        (true, true) => "on".to_owned(),
        (true, false) => format!("on, held for {}", holds.join(", ")),
    };
    line(out, "Auto-promotion", &auto_text);
    out.push_str("Requested Freight:\n");
    for request in items(stage, "/spec/requestedFreight") {
        let origin = format!("{}/{}", text(request, "/origin/kind"), text(request, "/origin/name"));
        let mut from = Vec::new();
        if request.pointer("/sources/direct").and_then(Value::as_bool) == Some(true) {
            from.push("directly".to_owned());
        }
        let upstream: Vec<&str> = items(request, "/sources/stages").filter_map(Value::as_str).collect();
        if !upstream.is_empty() {
            let strategy = text(request, "/sources/availabilityStrategy");
            let strategy = if strategy == "All" { " (verified in all)" } else { "" };
            from.push(format!("verified in {}{strategy}", upstream.join(", ")));
        }
        let soak = text(request, "/sources/requiredSoakTime");
        if !soak.is_empty() {
            from.push(format!("after a soak of {soak}"));
        }
        out.push_str(&format!("  {origin:<24} {}\n", from.join(", ")));
    }
    if let Some(current) = stage.pointer("/status/freightHistory/0") {
        out.push_str("Current Freight:\n");
        for (origin, reference) in current["items"].as_object().into_iter().flatten() {
            out.push_str(&format!("  {origin:<24} {}\n", text(reference, "/name")));
        }
        out.push_str("Verification:\n");
        for record in items(current, "/verificationHistory").take(5) {
            let message = text(record, "/message");
            out.push_str(&format!(
                "  {:<13} {:>4}  {}{}\n",
                text(record, "/phase"),
                age(&text(record, "/startTime")),
                text(record, "/id"),
                if message.is_empty() { String::new() } else { format!("  {message}") }
            ));
        }
    }
    conditions(out, stage);
    let project = text(stage, "/metadata/namespace");
    let name = text(stage, "/metadata/name");
    let list = client.list(&format!("/v1/projects/{project}/promotions")).await?;
    let mut promotions: Vec<&Value> =
        list["items"].as_array().into_iter().flatten().filter(|p| text(p, "/spec/stage") == name).collect();
    promotions.sort_by_key(|p| std::cmp::Reverse(text(p, "/metadata/name")));
    if !promotions.is_empty() {
        out.push_str("Promotions (newest first):\n");
        for p in promotions.iter().take(5) {
            let phase = text(p, "/status/phase");
            out.push_str(&format!(
                "  {:<42} {:<10} {:>4}  {}\n",
                text(p, "/metadata/name"),
                if phase.is_empty() { "Pending".to_owned() } else { phase },
                age(&text(p, "/metadata/creationTimestamp")),
                text(p, "/status/message")
            ));
        }
    }
    Ok(())
}

fn freight(out: &mut String, freight: &Value) {
    line(out, "Alias", &text(freight, "/alias"));
    line(out, "Origin", &format!("{}/{}", text(freight, "/origin/kind"), text(freight, "/origin/name")));
    out.push_str("Artifacts:\n");
    for image in items(freight, "/images") {
        let version =
            [text(image, "/tag"), text(image, "/digest")].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>();
        out.push_str(&format!("  image   {} {}\n", text(image, "/repoURL"), version.join(" ")));
    }
    for commit in items(freight, "/commits") {
        let tag = text(commit, "/tag");
        out.push_str(&format!(
            "  commit  {} {}{}\n",
            text(commit, "/repoURL"),
            text(commit, "/id"),
            if tag.is_empty() { String::new() } else { format!(" ({tag})") }
        ));
    }
    for chart in items(freight, "/charts") {
        out.push_str(&format!(
            "  chart   {} {} {}\n",
            text(chart, "/repoURL"),
            text(chart, "/name"),
            text(chart, "/version")
        ));
    }
    let stages = |pointer: &str| -> String {
        let names: Vec<String> = freight
            .pointer(pointer)
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        if names.is_empty() { "-".to_owned() } else { names.join(", ") }
    };
    line(out, "In Stages", &stages("/status/currentlyIn"));
    line(out, "Verified in", &stages("/status/verifiedIn"));
    line(out, "Approved for", &stages("/status/approvedFor"));
}

fn promotion(out: &mut String, promotion: &Value) {
    line(out, "Stage", &text(promotion, "/spec/stage"));
    line(out, "Freight", &text(promotion, "/spec/freight"));
    let phase = text(promotion, "/status/phase");
    line(out, "Phase", if phase.is_empty() { "Pending" } else { &phase });
    line(out, "Message", &text(promotion, "/status/message"));
    line(out, "Started", &when(&text(promotion, "/status/startedAt")));
    line(out, "Finished", &when(&text(promotion, "/status/finishedAt")));
    out.push_str("Steps:\n");
    let metas: Vec<&Value> = items(promotion, "/status/stepExecutionMetadata").collect();
    for (i, step) in items(promotion, "/spec/steps").enumerate() {
        let alias = step["as"].as_str().unwrap_or("");
        let (status, message) = metas
            .get(i)
            .map(|m| (text(m, "/status"), text(m, "/message")))
            .unwrap_or_else(|| ("-".to_owned(), String::new()));
        out.push_str(&format!("  {:<10} {alias} ({}) {message}\n", status, step["uses"].as_str().unwrap_or("?")));
    }
}

fn warehouse(out: &mut String, warehouse: &Value) {
    line(out, "Interval", &text(warehouse, "/spec/interval"));
    out.push_str("Subscriptions:\n");
    for subscription in items(warehouse, "/spec/subscriptions") {
        for (kind, body) in subscription.as_object().into_iter().flatten() {
            let name = text(body, "/name");
            out.push_str(&format!("  {kind:<6} {} {name}\n", text(body, "/repoURL")));
        }
    }
    line(out, "Last Freight", &text(warehouse, "/status/lastFreightID"));
    line(out, "Discovered", &when(&text(warehouse, "/status/discoveredArtifacts/discoveredAt")));
    conditions(out, warehouse);
}

/// The newest events about the object.
async fn events(out: &mut String, client: &Client, project: &str, kind: Kind, name: &str) -> Result<(), ClientError> {
    let list = client.list(&format!("/v1/projects/{project}/events")).await?;
    let mut about: Vec<&Value> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| super::events::concerns(e, Some(&(kind.name().to_owned(), name.to_owned()))))
        .collect();
    about.sort_by_key(|e| std::cmp::Reverse(super::events::order_key(e)));
    out.push_str("Events:\n");
    if about.is_empty() {
        out.push_str("  <none>\n");
    }
    for event in about.iter().take(10) {
        out.push_str(&format!(
            "  {:>4}  {:<7} {:<30} {}\n",
            age(&text(event, "/lastTimestamp")),
            text(event, "/type"),
            text(event, "/reason"),
            text(event, "/message")
        ));
    }
    Ok(())
}
