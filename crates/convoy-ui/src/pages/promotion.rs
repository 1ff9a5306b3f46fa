//! `/p/{project}/promotions/{name}`: the steps, live while it runs.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use convoy_api::time::Timestamp;
use convoy_api::{Kind, Promotion};
use maud::{Markup, html};
use serde::Deserialize;

use crate::Ui;
use crate::view::{badge, encode, fragment, get, not_found, shell, signed_in};

#[derive(Deserialize, Default)]
pub struct PromotionQuery {
    #[serde(default)]
    fragment: Option<String>,
}

pub async fn page(
    State(ui): State<Ui>,
    headers: HeaderMap,
    Path((project, name)): Path<(String, String)>,
    Query(query): Query<PromotionQuery>,
) -> Response {
    render(&ui, &headers, &project, &name, &query).await.unwrap_or_else(|r| r)
}

async fn render(
    ui: &Ui,
    headers: &HeaderMap,
    project: &str,
    name: &str,
    query: &PromotionQuery,
) -> Result<Response, Response> {
    let here = format!("/p/{}/promotions/{}", encode(project), encode(name));
    let session = signed_in(ui, headers, &here, Some(project)).await?;
    let Some(promotion) = get::<Promotion>(ui, Kind::Promotion, project, name).await? else {
        return Err(not_found(&format!("Promotion {name:?} not found in project {project:?}")));
    };
    let body = steps(project, &promotion);
    if query.fragment.as_deref() == Some("live") {
        return Ok(fragment(body));
    }
    Ok(shell(
        name,
        Some(&session),
        Some(project),
        html! {
            h1 { "Promotion " (name) }
            p {
                "Stage " a href={ "/p/" (encode(project)) "/stages/" (encode(&promotion.spec.stage)) } { (promotion.spec.stage) }
                " · Freight " a href={ "/p/" (encode(project)) "/freight/" (encode(&promotion.spec.freight)) } { (promotion.spec.freight) }
            }
            div #live { (body) }
        },
    ))
}

fn seconds(meta: &serde_json::Value) -> String {
    let at = |k: &str| meta[k].as_str().and_then(|t| Timestamp::parse(t).ok());
    match (at("startedAt"), at("finishedAt")) {
        (Some(a), Some(b)) => format!("{} s", (b.0 - a.0).max(0)),
        (Some(_), None) => "running".to_owned(),
        _ => String::new(),
    }
}

fn steps(project: &str, promotion: &Promotion) -> Markup {
    let status = promotion.status.clone().unwrap_or_default();
    let phase = promotion.phase().map(|p| p.as_str()).unwrap_or("");
    let metas: Vec<serde_json::Value> = serde_json::to_value(&status)
        .ok()
        .and_then(|s| s["stepExecutionMetadata"].as_array().cloned())
        .unwrap_or_default();
    let state = serde_json::to_value(&status).ok().map(|s| s["state"].clone()).unwrap_or_default();
    html! {
        p { "Phase: " (badge(phase)) " " (status.message.clone().unwrap_or_default()) }
        @if !promotion.is_finished() {
            button type="button" data-api={ "POST /v1/projects/" (encode(project)) "/promotions/" (encode(promotion.metadata.name())) "/abort" }
                data-confirm="Abort this promotion?" data-done="Abort requested." { "Abort" }
        }
        h2 { "Steps" }
        ol.steps {
            @for (i, step) in promotion.spec.steps.iter().enumerate() {
                @let meta = metas.get(i).cloned().unwrap_or_default();
                @let alias = step.alias.clone().unwrap_or_else(|| format!("step-{}", i + 1));
                @let task = alias.split_once("::").map(|(t, _)| t.to_owned());
                @let previous_task = i.checked_sub(1).and_then(|p| promotion.spec.steps[p].alias.as_deref()).and_then(|a| a.split_once("::")).map(|(t, _)| t.to_owned());
                @if task.is_some() && task != previous_task {
                    li.task { strong { "task " (task.clone().unwrap_or_default()) } }
                }
                @let word = meta["status"].as_str().unwrap_or(if i as i64 == status.current_step.unwrap_or(0) && !promotion.is_finished() { "Pending" } else { "" });
                li {
                    strong { (alias) } " " span.muted { (step.uses.clone().unwrap_or_default()) } " " (badge(word)) " " span.muted { (seconds(&meta)) }
                    @if let Some(message) = meta["message"].as_str().filter(|m| !m.is_empty()) { div.error { (message) } }
                    @if let Some(url) = state.get(&alias).and_then(|o| o["commitURL"].as_str()).filter(|u| u.starts_with("https://") || u.starts_with("http://")) {
                        " " a href=(url) rel="noopener noreferrer" { "commit " (state[&alias]["commit"].as_str().unwrap_or("").chars().take(7).collect::<String>()) }
                    }
                    @if let Some(output) = state.get(&alias).filter(|o| !o.is_null()) {
                        details { summary { "Output" } pre { (serde_json::to_string_pretty(output).unwrap_or_default()) } }
                    }
                    // What the step was given (Secret values masked by the engine); before it ran, as written.
                    @if let Some(config) = meta.get("config").filter(|c| !c.is_null()) {
                        details.config { summary { "Config, as evaluated" } pre { (serde_json::to_string_pretty(config).unwrap_or_default()) } }
                    } @else if let Some(config) = &step.config {
                        details.config { summary { "Config, as written" } pre { (serde_json::to_string_pretty(config).unwrap_or_default()) } }
                    }
                }
            }
        }
    }
}
