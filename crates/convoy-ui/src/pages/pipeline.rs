//! `/p/{project}`: Warehouses and Stages as a graph laid out here (or `?view=list`), the newest
//! Freight as chips to drag onto a Stage; live.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use convoy_api::time::Timestamp;
use convoy_api::{Freight, Kind, Promotion, Stage, Warehouse};
use maud::{Markup, html};
use serde::Deserialize;

use crate::Ui;
use crate::graph::{CARD_HEIGHT, CARD_WIDTH, COLUMN, ROW, layout};
use crate::view::{ago, alias_of, badge, decode, encode, fragment, freight_newest_first, list, shell, signed_in};

#[derive(Deserialize, Default)]
pub struct PipelineQuery {
    #[serde(default)]
    view: Option<String>,
    #[serde(default)]
    fragment: Option<String>,
}

/// How many Freight the strip shows (the timeline has the rest).
const STRIP: usize = 20;

pub async fn page(
    State(ui): State<Ui>,
    headers: HeaderMap,
    Path(project): Path<String>,
    Query(query): Query<PipelineQuery>,
) -> Response {
    render(&ui, &headers, &project, &query).await.unwrap_or_else(|r| r)
}

async fn render(ui: &Ui, headers: &HeaderMap, project: &str, query: &PipelineQuery) -> Result<Response, Response> {
    let here = format!("/p/{}", encode(project));
    let session = signed_in(ui, headers, &here, Some(project)).await?;
    if crate::view::get::<convoy_api::Project>(ui, Kind::Project, "", project).await?.is_none() {
        return Err(crate::view::not_found(&format!("project {project:?} not found")));
    }
    let stages: Vec<Stage> = list(ui, Kind::Stage, project).await?;
    let warehouses: Vec<Warehouse> = list(ui, Kind::Warehouse, project).await?;
    let stored_freight = freight_newest_first(ui, project).await?;
    let promotions: Vec<Promotion> = list(ui, Kind::Promotion, project).await?;
    let aliases: HashMap<&str, &str> =
        stored_freight.iter().filter_map(|f| Some((f.pointer("/metadata/name")?.as_str()?, alias_of(f)))).collect();
    let freight: Vec<Freight> = stored_freight.iter().take(STRIP).filter_map(decode).collect();
    let freight_count = stored_freight.len();
    let running: HashMap<&str, &Promotion> =
        promotions.iter().filter(|p| !p.is_finished()).map(|p| (p.spec.stage.as_str(), p)).collect();
    let now = Timestamp::now();
    let list_view = query.view.as_deref() == Some("list");
    let body = html! {
        div.strip aria-label="Newest Freight (drag onto a Stage, or select and press p on a Stage)" {
            @for f in &freight {
                button.chip type="button" draggable="true" aria-pressed="false" data-freight=(f.metadata.name())
                    title={ (f.origin.name) ": " (artifacts(f)) } {
                    (f.alias.as_deref().unwrap_or(f.metadata.name()))
                }
            }
            @if freight_count > STRIP { a href={ "/p/" (encode(project)) "/freight" } { "all " (freight_count) " Freight" } }
        }
        @if list_view { (table(project, &stages, &aliases, &running, now)) }
        @else { (graph(project, &stages, &warehouses, &aliases, &running, now)) }
    };
    if query.fragment.as_deref() == Some("live") {
        return Ok(fragment(body));
    }
    let switch = if list_view {
        html! { a href=(here) { "Graph" } }
    } else {
        html! { a href={ (here) "?view=list" } { "List" } }
    };
    Ok(shell(
        project,
        Some(&session),
        Some(project),
        html! {
            h1 { (project) }
            div.toolbar {
                input #filter type="search" placeholder="Filter Stages (name, phase, health)" aria-label="Filter Stages";
                @if !list_view {
                    button type="button" data-zoom="0.8" aria-label="Zoom out" { "−" }
                    button type="button" data-zoom="1.25" aria-label="Zoom in" { "+" }
                }
                (switch)
                span.muted { (stages.len()) " Stages · " (warehouses.len()) " Warehouses · " (freight_count) " Freight" }
            }
            div #live { (body) }
        },
    ))
}

/// A Freight's artifacts in a line: image tag (and digest), commit (and message), chart version.
pub fn artifacts(f: &Freight) -> String {
    let short = |text: &str, n: usize| text.chars().take(n).collect::<String>();
    let mut parts: Vec<String> = f
        .images
        .iter()
        .map(|i| {
            let digest =
                i.digest.strip_prefix("sha256:").map(|d| format!(" (sha256:{})", short(d, 12))).unwrap_or_default();
            format!("{}:{}{digest}", i.repo_url, i.tag)
        })
        .collect();
    parts.extend(f.commits.iter().map(|c| {
        let message =
            c.message.lines().next().map(|m| format!(" \u{201c}{}\u{201d}", short(m, 60))).unwrap_or_default();
        format!("{}@{}{message}", c.repo_url, short(&c.id, 7))
    }));
    parts.extend(f.charts.iter().map(|c| format!("{}:{}", c.name, c.version)));
    parts.join(", ")
}

/// One line per origin: `Warehouse/app: tired-sloth`.
fn current(stage: &Stage, aliases: &HashMap<&str, &str>) -> Vec<(String, String)> {
    let status = stage.status.as_ref();
    let collection = status.and_then(|s| s.freight_history.first());
    collection
        .map(|c| {
            c.items
                .iter()
                .map(|(origin, r)| {
                    (
                        origin.trim_start_matches("Warehouse/").to_owned(),
                        aliases.get(r.name.as_str()).copied().unwrap_or(&r.name).to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

struct Summary {
    ready: String,
    reason: String,
    health: String,
    last: String,
    last_when: String,
    auto: bool,
    held: bool,
    /// Why promotions are frozen (a closed promotion window), if they are.
    frozen: Option<String>,
    /// The phase of the current Freight's latest verification.
    verification: String,
}

fn summary(stage: &Stage, now: Timestamp) -> Summary {
    let status = stage.status.clone().unwrap_or_default();
    let ready = status.conditions.iter().find(|c| c.type_ == "Ready");
    let last = status.last_promotion.as_ref();
    Summary {
        ready: ready.map(|c| c.status.clone()).unwrap_or_default(),
        reason: ready.map(|c| c.reason.clone()).unwrap_or_default(),
        health: status.health.as_ref().and_then(|h| h["status"].as_str()).unwrap_or("").to_owned(),
        last: last.and_then(|p| p.status.as_ref()).and_then(|s| s["phase"].as_str()).unwrap_or("").to_owned(),
        last_when: ago(last.and_then(|p| p.finished_at.as_deref()), now),
        auto: status.auto_promotion_enabled == Some(true),
        held: !status.effective_auto_promotion_holds.is_empty(),
        verification: status
            .freight_history
            .first()
            .and_then(|c| c.verification_history.first())
            .and_then(|r| r["phase"].as_str())
            .unwrap_or("")
            .to_owned(),
        frozen: status.promotion_window_status.as_ref().filter(|w| w.closed).map(|w| {
            let until = w.next_open.as_ref().map(|t| format!(" until {t}")).unwrap_or_default();
            format!("{}{until}", w.reason.clone().unwrap_or_default())
        }),
    }
}

fn graph(
    project: &str,
    stages: &[Stage],
    warehouses: &[Warehouse],
    aliases: &HashMap<&str, &str>,
    running: &HashMap<&str, &Promotion>,
    now: Timestamp,
) -> Markup {
    let id = |kind: &str, name: &str| format!("{kind}/{name}");
    let mut nodes: Vec<String> = warehouses.iter().map(|w| id("w", w.metadata.name())).collect();
    nodes.extend(stages.iter().map(|s| id("s", s.metadata.name())));
    let mut edges = Vec::new();
    for stage in stages {
        for request in &stage.spec.requested_freight {
            if request.sources.direct {
                edges.push((id("w", &request.origin.name), id("s", stage.metadata.name())));
            }
            for upstream in &request.sources.stages {
                edges.push((id("s", upstream), id("s", stage.metadata.name())));
            }
        }
    }
    edges.sort();
    edges.dedup();
    let placed = layout(&nodes, &edges);
    let at: HashMap<&str, (f64, f64)> =
        placed.iter().map(|p| (p.id.as_str(), (16.0 + p.layer as f64 * COLUMN, 16.0 + p.row as f64 * ROW))).collect();
    let width = at.values().map(|(x, _)| x + CARD_WIDTH + 16.0).fold(320.0, f64::max);
    let height = at.values().map(|(_, y)| y + CARD_HEIGHT + 16.0).fold(200.0, f64::max);
    let stage_by: HashMap<&str, &Stage> = stages.iter().map(|s| (s.metadata.name(), s)).collect();
    let warehouse_by: HashMap<&str, &Warehouse> = warehouses.iter().map(|w| (w.metadata.name(), w)).collect();
    // One path per edge, named by its ends: collapsing a subtree hides its edges too.
    let paths: Vec<(String, String, String)> = edges
        .iter()
        .filter_map(|(from, to)| {
            let ((x1, y1), (x2, y2)) = (at.get(from.as_str())?, at.get(to.as_str())?);
            let (sx, sy, ex, ey) = (x1 + CARD_WIDTH, y1 + CARD_HEIGHT / 2.0, *x2, y2 + CARD_HEIGHT / 2.0);
            let mid = (sx + ex) / 2.0;
            let d = format!("M{sx:.0},{sy:.0} C{mid:.0},{sy:.0} {mid:.0},{ey:.0} {ex:.0},{ey:.0}");
            Some((from.clone(), to.clone(), d))
        })
        .collect();
    let mut downstream: HashMap<&str, Vec<&str>> = HashMap::new();
    for (from, to) in &edges {
        if let (Some(from), Some(to)) = (from.strip_prefix("s/"), to.strip_prefix("s/")) {
            downstream.entry(from).or_default().push(to);
        }
    }
    html! {
        div.graph-wrap tabindex="0" aria-label="Pipeline graph" {
            div.graph style={ "width:" (width) "px;height:" (height) "px" } {
                svg width=(width) height=(height) aria-hidden="true" {
                    @for (from, to, d) in &paths { path d=(d) data-from=(from) data-to=(to) {} }
                }
                @for p in &placed {
                    @let (x, y) = at[p.id.as_str()];
                    @let style = format!("left:{x:.0}px;top:{y:.0}px");
                    @if let Some(name) = p.id.strip_prefix("w/") {
                        div.node.warehouse style=(style) data-search=(name.to_lowercase()) data-key={ "w/" (name) } {
                            h2 { "⛁ " a href={ "/p/" (encode(project)) "/warehouses/" (encode(name)) } { (name) } }
                            @if let Some(w) = warehouse_by.get(name) {
                                div.row.muted { (w.spec.subscriptions.len()) " subscriptions" }
                            }
                        }
                    } @else if let Some(stage) = p.id.strip_prefix("s/").and_then(|n| stage_by.get(n)) {
                        @let below = downstream.get(stage.metadata.name()).map(|d| d.join(" ")).unwrap_or_default();
                        (card(project, stage, aliases, running.get(stage.metadata.name()).copied(), now, &style, &below))
                    }
                }
            }
        }
    }
}

/// A Stage's card; `below`: the Stages fed by it (space-separated), for collapsing.
fn card(
    project: &str,
    stage: &Stage,
    aliases: &HashMap<&str, &str>,
    running: Option<&Promotion>,
    now: Timestamp,
    style: &str,
    below: &str,
) -> Markup {
    let name = stage.metadata.name();
    let s = summary(stage, now);
    let search = format!("{} {} {} {}", name, s.reason, s.health, s.last).to_lowercase();
    html! {
        div.node style=(style) data-stage=(name) data-key=(name) data-project=(project) data-search=(search) tabindex="0"
            aria-label={ "Stage " (name) } {
            h2 {
                a href={ "/p/" (encode(project)) "/stages/" (encode(name)) } { (name) }
                @if !below.is_empty() {
                    " " button.collapse type="button" data-collapse=(below) aria-expanded="true"
                        aria-label={ "Hide the Stages after " (name) } { "▾" }
                }
            }
            @for (origin, alias) in current(stage, aliases) { div.row { span.muted { (origin) } span { (alias) } } }
            div.row {
                @if let Some(p) = running {
                    a href={ "/p/" (encode(project)) "/promotions/" (encode(p.metadata.name())) } { (badge("Running")) }
                } @else {
                    span { (badge(&s.last)) " " span.muted { (s.last_when) } }
                }
                span title="health, verification" { (badge(&s.health)) " " (badge(&s.verification)) }
            }
            div.row {
                span.muted {
                    @if s.auto { "auto" } @else { "manual" } @if s.held { " · held" }
                    @if let Some(why) = &s.frozen { " · " span.badge.warn title=(why) { "frozen" } }
                }
                button type="button" data-promote=(name) data-project=(project) { "Promote" }
            }
            @if s.ready == "False" { div.row.muted title=(s.reason) { (s.reason) } }
        }
    }
}

fn table(
    project: &str,
    stages: &[Stage],
    aliases: &HashMap<&str, &str>,
    running: &HashMap<&str, &Promotion>,
    now: Timestamp,
) -> Markup {
    html! {
        table {
            thead { tr { th { "Stage" } th { "Current Freight" } th { "Last promotion" } th { "Health" } th { "Ready" } th { "Auto" } th {} } }
            tbody {
                @for stage in stages {
                    @let name = stage.metadata.name();
                    @let s = summary(stage, now);
                    tr.node data-key=(name) data-search=({ format!("{} {} {}", name, s.reason, s.health).to_lowercase() }) {
                        td { a href={ "/p/" (encode(project)) "/stages/" (encode(name)) } { (name) } }
                        td { @for (origin, alias) in current(stage, aliases) { div { span.muted { (origin) ": " } (alias) } } }
                        td { @if running.contains_key(name) { (badge("Running")) } @else { (badge(&s.last)) " " span.muted { (s.last_when) } } }
                        td { (badge(&s.health)) }
                        td { (s.reason) }
                        td { @if s.auto { "on" } @else { "off" } @if s.held { " (held)" } @if let Some(why) = &s.frozen { " · frozen: " (why) } }
                        td { button type="button" data-promote=(name) data-project=(project) { "Promote" } }
                    }
                }
            }
        }
    }
}
