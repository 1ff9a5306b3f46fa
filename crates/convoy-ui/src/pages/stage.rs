//! `/p/{project}/stages/{stage}`: where the Stage is, its promotions and verifications, and the
//! promote fragment (`?fragment=promote`): the Freight it may take, and why not the rest.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use convoy_api::time::Timestamp;
use convoy_api::{Event, Freight, Kind, Promotion, Stage};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::json;

use crate::Ui;
use crate::pages::pipeline::artifacts;
use crate::view::{ago, badge, decode, encode, fragment, freight_newest_first, get, list, not_found, shell, signed_in};

#[derive(Deserialize, Default)]
pub struct StageQuery {
    #[serde(default)]
    fragment: Option<String>,
    /// The Freight to show first in the promote fragment (dropped onto the Stage).
    #[serde(default)]
    freight: Option<String>,
}

/// Freight the promote fragment lists per origin.
const CANDIDATES: usize = 25;

pub async fn page(
    State(ui): State<Ui>,
    headers: HeaderMap,
    Path((project, name)): Path<(String, String)>,
    Query(query): Query<StageQuery>,
) -> Response {
    render(&ui, &headers, &project, &name, &query).await.unwrap_or_else(|r| r)
}

async fn render(
    ui: &Ui,
    headers: &HeaderMap,
    project: &str,
    name: &str,
    query: &StageQuery,
) -> Result<Response, Response> {
    let here = format!("/p/{}/stages/{}", encode(project), encode(name));
    let session = signed_in(ui, headers, &here, Some(project)).await?;
    let Some(stage) = get::<Stage>(ui, Kind::Stage, project, name).await? else {
        return Err(not_found(&format!("Stage {name:?} not found in project {project:?}")));
    };
    let now = Timestamp::now();
    if query.fragment.as_deref() == Some("promote") {
        let freight = candidates(&stage, freight_newest_first(ui, project).await?, query.freight.as_deref());
        return Ok(fragment(promote(project, &stage, freight, now)));
    }
    let mut promotions: Vec<Promotion> = list(ui, Kind::Promotion, project).await?;
    promotions.retain(|p| p.spec.stage == name);
    promotions.sort_by(|a, b| b.metadata.name().cmp(a.metadata.name()));
    let mut events: Vec<Event> = list(ui, Kind::Event, project).await?;
    events.retain(|e| {
        let (kind, about) = (e.involved_object["kind"].as_str(), e.involved_object["name"].as_str().unwrap_or(""));
        (kind == Some("Stage") && about == name)
            || (kind == Some("Promotion") && convoy_core::names::stage_of_promotion(about) == Some(name))
    });
    events
        .sort_by_cached_key(|e| std::cmp::Reverse(e.last_timestamp.clone().or(e.metadata.creation_timestamp.clone())));
    events.truncate(20);
    let body = details(project, &stage, &promotions, &events, now);
    if query.fragment.as_deref() == Some("live") {
        return Ok(fragment(body));
    }
    Ok(shell(
        name,
        Some(&session),
        Some(project),
        html! {
            h1 { "Stage " (name) }
            div.toolbar {
                button.primary type="button" data-promote=(name) data-project=(project) { "Promote…" }
                button type="button" data-api={ "POST /v1/projects/" (encode(project)) "/stages/" (encode(name)) "/verify" }
                    data-body=(json!({}).to_string()) data-done="Verification started again." { "Reverify" }
                button type="button" data-api={ "POST /v1/projects/" (encode(project)) "/stages/" (encode(name)) "/refresh" }
                    data-done="Refresh requested." { "Refresh" }
                @for origin in stage.status.iter().flat_map(|s| s.effective_auto_promotion_holds.keys()) {
                    @if let Some(warehouse) = origin.strip_prefix("Warehouse/") {
                        button type="button" data-api={ "POST /v1/projects/" (encode(project)) "/stages/" (encode(name)) "/promote" }
                            data-body=(json!({"warehouse": warehouse}).to_string())
                            title="Promote the Freight auto-promotion would choose: that lifts the hold" {
                            "Resume auto-promotion from " (warehouse)
                        }
                    }
                }
                @if running_verification(&stage) {
                    button type="button" data-api={ "POST /v1/projects/" (encode(project)) "/stages/" (encode(name)) "/verify" }
                        data-body=(json!({"abort": true}).to_string()) data-confirm="Abort the running verification?"
                        data-done="Verification abort requested." { "Abort verification" }
                }
                @for reference in stage.status.iter().flat_map(|s| s.freight_history.first()).flat_map(|c| c.items.values()) {
                    button type="button" data-api={ "POST /v1/projects/" (encode(project)) "/stages/" (encode(name)) "/promote-downstream" }
                        data-body=(json!({"freight": reference.name}).to_string())
                        data-done="Promotions created for the Stages downstream." {
                        "Promote " (reference.name.chars().take(7).collect::<String>()) " downstream"
                    }
                }
            }
            div #live { (body) }
        },
    ))
}

/// Whether the current Freight's latest verification is running.
fn running_verification(stage: &Stage) -> bool {
    let status = stage.status.as_ref();
    let latest = status.and_then(|s| s.freight_history.first()).and_then(|c| c.verification_history.first());
    latest.is_some_and(|r| r["phase"] == "Running")
}

fn details(project: &str, stage: &Stage, promotions: &[Promotion], events: &[Event], now: Timestamp) -> Markup {
    let status = stage.status.clone().unwrap_or_default();
    let current = status.freight_history.first();
    html! {
        h2 { "Conditions" }
        table {
            tbody {
                @for c in &status.conditions {
                    tr { th { (c.type_) } td { (badge(&c.status)) } td { (c.reason) } td { (c.message) } }
                }
            }
        }
        @if let Some(health) = status.health.as_ref().filter(|h| h.is_object()) {
            h2 { "Health" }
            p { (badge(health["status"].as_str().unwrap_or(""))) }
            @if let Some(issues) = health["issues"].as_array().filter(|i| !i.is_empty()) {
                ul { @for issue in issues { li.error { (issue.as_str().unwrap_or("")) } } }
            }
            @let apps: Vec<&serde_json::Value> = health["output"].as_array().into_iter().flatten()
                .flat_map(|o| o["applicationStatuses"].as_array().into_iter().flatten()).collect();
            @if !apps.is_empty() {
                table {
                    thead { tr { th { "Application" } th { "Health" } th { "Sync" } } }
                    tbody {
                        @for app in apps {
                            tr {
                                td { (app["Namespace"].as_str().unwrap_or("")) "/" (app["Name"].as_str().unwrap_or("")) }
                                td { (badge(app.pointer("/health/status").and_then(|v| v.as_str()).unwrap_or(""))) }
                                td { (app.pointer("/sync/status").and_then(|v| v.as_str()).unwrap_or("")) }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(window) = &status.promotion_window_status {
            p { "Promotion window: "
                @if window.closed { span.badge.bad { "closed" } " " (window.reason.clone().unwrap_or_default())
                    @if let Some(at) = &window.next_open { " · opens " (at) } }
                @else { span.badge.ok { "open" } @if let Some(at) = &window.next_close { " · closes " (at) } }
            }
        }
        h2 { "Current Freight" }
        @match current {
            Some(collection) => {
                table {
                    tbody {
                        @for (origin, reference) in &collection.items {
                            tr { th { (origin) } td { a href={ "/p/" (encode(project)) "/freight/" (encode(&reference.name)) } { (reference.name) } } }
                        }
                    }
                }
                h2 { "Verifications" }
                @if collection.verification_history.is_empty() { p.muted { "None." } }
                ul {
                    @for record in &collection.verification_history {
                        li {
                            (badge(record["phase"].as_str().unwrap_or(""))) " " (record["message"].as_str().unwrap_or(""))
                            " " span.muted { (ago(record["finishTime"].as_str(), now)) }
                            @if let Some(results) = record["metricResults"].as_array() {
                                table {
                                    thead { tr { th { "Metric" } th { "Phase" } th { "Measurements (oldest first)" } } }
                                    tbody {
                                        @for metric in results {
                                            tr {
                                                td { (metric["name"].as_str().unwrap_or("")) }
                                                td { (badge(metric["phase"].as_str().unwrap_or(""))) }
                                                td {
                                                    (metric["count"].as_u64().unwrap_or(0)) " measurements: "
                                                    @for m in metric["measurements"].as_array().into_iter().flatten() {
                                                        (badge(m["phase"].as_str().unwrap_or(""))) " "
                                                        code { (m["value"].as_str().or(m["message"].as_str()).unwrap_or("")) } " "
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            None => p.muted { "No Freight yet." }
        }
        @if status.freight_history.len() > 1 {
            h2 { "Freight history" }
            table {
                thead { tr { th { "Freight" } th { "Verification" } } }
                tbody {
                    @for collection in status.freight_history.iter().skip(1) {
                        tr {
                            td { @for r in collection.items.values() { a href={ "/p/" (encode(project)) "/freight/" (encode(&r.name)) } { (r.name.chars().take(12).collect::<String>()) } " " } }
                            td { (badge(collection.verification_history.first().and_then(|v| v["phase"].as_str()).unwrap_or(""))) }
                        }
                    }
                }
            }
        }
        h2 { "Promotions" }
        @if promotions.is_empty() { p.muted { "None yet." } }
        table {
            tbody {
                @for p in promotions.iter().take(20) {
                    @let phase = p.phase().map(|p| p.as_str()).unwrap_or("");
                    tr {
                        td { a href={ "/p/" (encode(project)) "/promotions/" (encode(p.metadata.name())) } { (p.metadata.name()) } }
                        td { (badge(phase)) }
                        td.muted { (ago(p.status.as_ref().and_then(|s| s.finished_at.as_deref()), now)) }
                        td { (p.status.as_ref().and_then(|s| s.message.clone()).unwrap_or_default()) }
                    }
                }
            }
        }
        h2 { "Events" }
        @if events.is_empty() { p.muted { "None." } }
        ul {
            @for e in events {
                li { span.muted { (ago(e.last_timestamp.as_deref().or(e.metadata.creation_timestamp.as_deref()), now)) } " " (e.reason) ": " (e.message) }
            }
        }
    }
}

/// The newest Freight of the Stage's origins (`first`, the one dropped on it, ahead), decoded.
fn candidates(stage: &Stage, stored: Vec<serde_json::Value>, first: Option<&str>) -> Vec<Freight> {
    let origins: Vec<String> = stage.spec.requested_freight.iter().map(|r| r.origin.key()).collect();
    let text = |f: &serde_json::Value, p: &str| f.pointer(p).and_then(|v| v.as_str()).unwrap_or("").to_owned();
    let mut ours: Vec<&serde_json::Value> = stored
        .iter()
        .filter(|f| origins.contains(&format!("{}/{}", text(f, "/origin/kind"), text(f, "/origin/name"))))
        .collect();
    if let Some(at) = ours.iter().position(|f| Some(text(f, "/metadata/name").as_str()) == first) {
        let dropped = ours.remove(at);
        ours.insert(0, dropped);
    }
    ours.into_iter().take(CANDIDATES).filter_map(decode).collect()
}

/// The candidates, each available or with the reason it is not.
fn promote(project: &str, stage: &Stage, freight: Vec<Freight>, now: Timestamp) -> Markup {
    let name = stage.metadata.name();
    let api = format!("/v1/projects/{}/stages/{}/promote", encode(project), encode(name));
    html! {
        h2 { "Promote to " (name) }
        @if freight.is_empty() { p { "No Freight from this Stage's origins yet." } }
        table {
            thead { tr { th { "Freight" } th { "Artifacts" } th { "Available?" } th {} } }
            tbody {
                @for (i, f) in freight.iter().enumerate() {
                    @let fname = f.metadata.name();
                    @let available = convoy_core::availability::availability(stage, f, now);
                    @let target = format!("dry-{i}");
                    tr {
                        td { strong { (f.alias.as_deref().unwrap_or(fname)) } br; span.muted { (fname.chars().take(12).collect::<String>()) } }
                        td { (artifacts(f)) }
                        td { @match &available { Ok(_) => span.badge.ok { "available" }, Err(why) => span.badge.warn { (why.to_string()) } } }
                        td {
                            button type="button" data-api={ "POST " (api) } data-body=(json!({"freight": fname, "dryRun": true}).to_string())
                                data-show={ "#" (target) } { "Dry run" }
                            " "
                            @if available.is_ok() {
                                button.primary type="button" data-api={ "POST " (api) } data-body=(json!({"freight": fname}).to_string()) { "Promote" }
                            } @else {
                                button type="button" data-api={ "POST /v1/projects/" (encode(project)) "/freight/" (encode(fname)) "/approve" }
                                    data-body=(json!({"stage": name}).to_string()) data-done="Approved: it may be promoted now." { "Approve" }
                            }
                        }
                    }
                    tr { td colspan="4" { div id=(target) {} } }
                }
            }
        }
    }
}
