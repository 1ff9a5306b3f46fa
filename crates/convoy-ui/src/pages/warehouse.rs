//! `/p/{project}/warehouses/{name}`: what it watches, what it found, and its last discovery's
//! error with the fix (the controller's words); Refresh.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use convoy_api::time::Timestamp;
use convoy_api::{Kind, Warehouse};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;

use crate::Ui;
use crate::view::{ago, badge, encode, fragment, get, not_found, shell, signed_in};

#[derive(Deserialize, Default)]
pub struct WarehouseQuery {
    #[serde(default)]
    fragment: Option<String>,
}

pub async fn page(
    State(ui): State<Ui>,
    headers: HeaderMap,
    Path((project, name)): Path<(String, String)>,
    Query(query): Query<WarehouseQuery>,
) -> Response {
    let here = format!("/p/{}/warehouses/{}", encode(&project), encode(&name));
    let session = match signed_in(&ui, &headers, &here, Some(&project)).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let warehouse = match get::<Warehouse>(&ui, Kind::Warehouse, &project, &name).await {
        Ok(Some(w)) => w,
        Ok(None) => return not_found(&format!("Warehouse {name:?} not found in project {project:?}")),
        Err(r) => return r,
    };
    let body = details(&warehouse);
    if query.fragment.as_deref() == Some("live") {
        return fragment(body);
    }
    shell(
        &name,
        Some(&session),
        Some(&project),
        html! {
            h1 { "Warehouse " (name) }
            div.toolbar {
                button type="button" data-api={ "POST /v1/projects/" (encode(&project)) "/warehouses/" (encode(&name)) "/refresh" }
                    data-done="Discovery requested." { "Refresh" }
            }
            div #live { (body) }
        },
    )
}

fn details(warehouse: &Warehouse) -> Markup {
    let now = Timestamp::now();
    let status = warehouse.status.clone().unwrap_or_default();
    let subscriptions: Vec<Value> =
        warehouse.spec.subscriptions.iter().filter_map(|s| serde_json::to_value(s).ok()).collect();
    let discovered = status.discovered_artifacts.as_ref();
    html! {
        h2 { "Last discovery" }
        @for c in &status.conditions {
            p { (badge(&c.status)) " " (c.reason) " " span.muted { (ago(c.last_transition_time.as_deref(), now)) } }
            @if c.status == "False" { p.error role="alert" { (c.message) } } @else { p.muted { (c.message) } }
        }
        h2 { "Subscriptions" }
        table {
            thead { tr { th { "Kind" } th { "Repository" } th { "Found" } } }
            tbody {
                @for (i, s) in subscriptions.iter().enumerate() {
                    @let (kind, spec) = s.as_object().and_then(|o| o.iter().next()).map(|(k, v)| (k.clone(), v.clone())).unwrap_or_default();
                    tr {
                        td { (kind) }
                        td { code { (spec["repoURL"].as_str().unwrap_or("")) } @if let Some(chart) = spec["name"].as_str() { " " (chart) } }
                        td { (found(discovered.map(|d| d.results.get(i).cloned().unwrap_or_default()).unwrap_or_default())) }
                    }
                }
            }
        }
    }
}

/// What one subscription's discovery found, in a few words.
fn found(result: Value) -> Markup {
    let count =
        ["commits", "references", "versions", "tags"].iter().find_map(|k| result[*k].as_array().map(|a| (k, a.len())));
    match count {
        Some((what, n)) => html! { (n) " " (what) },
        None if result.is_null() => html! { span.muted { "nothing yet" } },
        None => html! { code { (result.to_string().chars().take(120).collect::<String>()) } },
    }
}
