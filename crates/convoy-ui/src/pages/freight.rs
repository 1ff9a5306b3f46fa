//! `/p/{project}/freight`: the Freight timeline, newest first, a page at a time; `?compare=A,B`
//! sets two Freight side by side.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use convoy_api::time::Timestamp;
use convoy_api::{Freight, Kind, Stage};
use maud::{Markup, html};
use serde::Deserialize;

use crate::Ui;
use crate::pages::pipeline::artifacts;
use crate::view::{ago, decode, encode, fragment, freight_newest_first, list, shell, signed_in};

#[derive(Deserialize, Default)]
pub struct FreightQuery {
    #[serde(default)]
    page: Option<usize>,
    #[serde(default)]
    compare: Option<String>,
    #[serde(default)]
    fragment: Option<String>,
}

const PAGE: usize = 50;

pub async fn page(
    State(ui): State<Ui>,
    headers: HeaderMap,
    Path(project): Path<String>,
    Query(query): Query<FreightQuery>,
) -> Response {
    render(&ui, &headers, &project, &query).await.unwrap_or_else(|r| r)
}

async fn render(ui: &Ui, headers: &HeaderMap, project: &str, query: &FreightQuery) -> Result<Response, Response> {
    let here = format!("/p/{}/freight", encode(project));
    let session = signed_in(ui, headers, &here, Some(project)).await?;
    let stored = freight_newest_first(ui, project).await?;
    let now = Timestamp::now();
    let page_index = query.page.unwrap_or(0);
    let pages = stored.len().div_ceil(PAGE).max(1);
    let shown: Vec<Freight> = stored.iter().skip(page_index * PAGE).take(PAGE).filter_map(decode).collect();
    // Stages that ask Freight to soak upstream: where each shown Freight stands with them.
    let mut soaking_stages: Vec<Stage> = list(ui, Kind::Stage, project).await?;
    soaking_stages.retain(|s| s.spec.requested_freight.iter().any(|r| r.sources.required_soak_time.is_some()));
    let body = html! {
        @if let Some((a, b)) = query.compare.as_deref().and_then(|c| c.split_once(',')) {
            (compare(&stored, a, b))
        }
        table {
            thead { tr { th { "Freight" } th { "Origin" } th { "Artifacts" } th { "Discovered" } th { "In" } th { "Verified in" } th { "Approved for" } th { "Soak left" } } }
            tbody {
                @for f in &shown {
                    @let status = &f.status;
                    tr {
                        td { strong { (f.alias.as_deref().unwrap_or("")) } br; span.muted { (f.metadata.name().chars().take(12).collect::<String>()) } }
                        td { (f.origin.name) }
                        td { (artifacts(f)) }
                        td.muted { (ago(f.discovered_at.as_deref().or(f.metadata.creation_timestamp.as_deref()), now)) }
                        td { (status.currently_in.keys().cloned().collect::<Vec<_>>().join(", ")) }
                        td { (status.verified_in.keys().cloned().collect::<Vec<_>>().join(", ")) }
                        td { (status.approved_for.keys().cloned().collect::<Vec<_>>().join(", ")) }
                        td { (soak_left(f, &soaking_stages, now)) }
                    }
                }
            }
        }
        nav.toolbar aria-label="Pages" {
            @if page_index > 0 { a href={ (here) "?page=" (page_index - 1) } rel="prev" { "Newer" } }
            span.muted { "page " (page_index + 1) " of " (pages) " · " (stored.len()) " Freight" }
            @if page_index + 1 < pages { a href={ (here) "?page=" (page_index + 1) } rel="next" { "Older" } }
        }
    };
    if query.fragment.as_deref() == Some("live") {
        return Ok(fragment(body));
    }
    Ok(shell(
        "Freight",
        Some(&session),
        Some(project),
        html! {
            h1 { "Freight of " (project) }
            form.toolbar method="get" {
                label for="compare" { "Compare two (name or alias, comma between):" }
                input #compare type="text" name="compare" value=(query.compare.clone().unwrap_or_default());
                button type="submit" { "Compare" }
            }
            div #live { (body) }
        },
    ))
}

fn compare(freight: &[serde_json::Value], a: &str, b: &str) -> Markup {
    let find = |key: &str| {
        let key = key.trim();
        freight
            .iter()
            .find(|f| {
                f.pointer("/metadata/name").and_then(|n| n.as_str()) == Some(key) || f["alias"].as_str() == Some(key)
            })
            .and_then(decode::<Freight>)
    };
    let (Some(a), Some(b)) = (find(a), find(b)) else {
        return html! { p.error { "Both must name Freight of this project (name or alias)." } };
    };
    let rows = |f: &Freight| -> Vec<String> {
        let mut out: Vec<String> = f
            .images
            .iter()
            .map(|i| {
                format!(
                    "image {} {}{}",
                    i.repo_url,
                    i.tag,
                    if i.digest.is_empty() { String::new() } else { format!(" ({})", i.digest) }
                )
            })
            .collect();
        out.extend(f.commits.iter().map(|c| {
            format!(
                "commit {} {} {}",
                c.repo_url,
                c.id.chars().take(12).collect::<String>(),
                c.message.lines().next().unwrap_or("")
            )
        }));
        out.extend(f.charts.iter().map(|c| format!("chart {} {} {}", c.repo_url, c.name, c.version)));
        out
    };
    let (left, right) = (rows(&a), rows(&b));
    html! {
        h2 { "Compare" }
        table {
            thead { tr { th { (a.alias.as_deref().unwrap_or(a.metadata.name())) } th { (b.alias.as_deref().unwrap_or(b.metadata.name())) } } }
            tbody {
                @for i in 0..left.len().max(right.len()) {
                    @let (l, r) = (left.get(i).cloned().unwrap_or_default(), right.get(i).cloned().unwrap_or_default());
                    tr { td.(if l == r { "" } else { "del" }) { (l) } td.(if l == r { "" } else { "add" }) { (r) } }
                }
            }
        }
    }
}

/// `/p/{project}/freight/{name}`: one Freight, by name or alias.
pub async fn detail(
    State(ui): State<Ui>,
    headers: HeaderMap,
    Path((project, name)): Path<(String, String)>,
) -> Response {
    let here = format!("/p/{}/freight/{}", encode(&project), encode(&name));
    let session = match signed_in(&ui, &headers, &here, Some(&project)).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let freight: Vec<Freight> = match list(&ui, Kind::Freight, &project).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let Some(f) = freight.iter().find(|f| f.metadata.name() == name || f.alias.as_deref() == Some(name.as_str()))
    else {
        return crate::view::not_found(&format!("Freight {name:?} not found in project {project:?}"));
    };
    let now = Timestamp::now();
    shell(
        f.alias.as_deref().unwrap_or(&name),
        Some(&session),
        Some(&project),
        html! {
            h1 { "Freight " (f.alias.as_deref().unwrap_or("")) " " span.muted { (f.metadata.name()) } }
            p { "From " (f.origin.kind) " " (f.origin.name) ", discovered " (ago(f.discovered_at.as_deref().or(f.metadata.creation_timestamp.as_deref()), now)) }
            form.toolbar data-alias={ "/v1/projects/" (encode(&project)) "/freight/" (encode(f.metadata.name())) } {
                label for="alias" { "Alias" }
                input #alias type="text" name="alias" value=(f.alias.clone().unwrap_or_default()) required pattern="[a-z0-9]([-a-z0-9]*[a-z0-9])?";
                button type="submit" { "Rename" }
            }
            h2 { "Artifacts" }
            ul {
                @for i in &f.images { li { "image " code { (i.repo_url) ":" (i.tag) } @if !i.digest.is_empty() { " " span.muted { (i.digest) } } } }
                @for c in &f.commits { li { "commit " code { (c.repo_url) " " (c.id) } " " (c.message.lines().next().unwrap_or("")) } }
                @for c in &f.charts { li { "chart " code { (c.repo_url) " " (c.name) " " (c.version) } } }
            }
            h2 { "Where it is" }
            table {
                tbody {
                    tr { th { "In" } td { (f.status.currently_in.keys().cloned().collect::<Vec<_>>().join(", ")) } }
                    tr { th { "Verified in" } td { (f.status.verified_in.keys().cloned().collect::<Vec<_>>().join(", ")) } }
                    tr { th { "Approved for" } td { (f.status.approved_for.keys().cloned().collect::<Vec<_>>().join(", ")) } }
                }
            }
        },
    )
}

/// For each Stage waiting on this Freight's soak upstream: how long is left.
fn soak_left(freight: &Freight, stages: &[Stage], now: Timestamp) -> String {
    stages
        .iter()
        .filter_map(|stage| match convoy_core::availability::availability(stage, freight, now) {
            Err(convoy_core::availability::Unavailable::Soaking { stage: upstream, remaining }) => {
                Some(format!("{}: {} in {upstream}", stage.metadata.name(), convoy_core::duration::format(remaining)))
            }
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("; ")
}
