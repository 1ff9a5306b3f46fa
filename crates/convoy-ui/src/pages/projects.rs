//! `/`: every project with its counts.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use convoy_api::promotion::Phase;
use convoy_api::{Kind, Promotion};
use convoy_store::LabelSelector;
use maud::html;

use crate::Ui;
use crate::view::{encode, list, shell, signed_in, store_error};

pub async fn page_handler(ui: &Ui, headers: &HeaderMap) -> Result<Response, Response> {
    let session = signed_in(ui, headers, "/", None).await?;
    let (projects, _) = ui.store.list(Kind::Project, None, &LabelSelector::everything()).await.map_err(store_error)?;
    // Only the projects this sign-in may read, as the API lists them.
    let token = crate::session::session_token(headers).unwrap_or_default();
    let readable =
        ui.gate.readable(&token, projects.iter().map(|p| p.key.name.clone()).collect()).await.unwrap_or_default();
    let projects: Vec<_> = projects.into_iter().filter(|p| readable.contains(&p.key.name)).collect();
    let mut rows = Vec::new();
    for project in &projects {
        let name = project.key.name.clone();
        let count = |kind| {
            let store = ui.store.clone();
            let name = name.clone();
            async move { store.list(kind, Some(&name), &LabelSelector::everything()).await.map(|l| l.0.len()).unwrap_or(0) }
        };
        let promotions: Vec<Promotion> = list(ui, Kind::Promotion, &name).await?;
        let running = promotions.iter().filter(|p| !p.is_finished()).count();
        let failed = promotions.iter().filter(|p| matches!(p.phase(), Some(Phase::Failed | Phase::Errored))).count();
        rows.push((
            name.clone(),
            count(Kind::Stage).await,
            count(Kind::Warehouse).await,
            count(Kind::Freight).await,
            running,
            failed,
        ));
    }
    Ok(shell(
        "Projects",
        Some(&session),
        None,
        html! {
            h1 { "Projects" }
            @if rows.is_empty() {
                p { "No project yet. Apply one: " code { "convoy apply -f examples -R" } }
            } @else {
                div.toolbar { input #filter type="search" placeholder="Search projects" aria-label="Search projects"; }
                table {
                    thead { tr { th { "Project" } th { "Stages" } th { "Warehouses" } th { "Freight" } th { "Promotions running" } th { "Failed" } } }
                    tbody {
                        @for (name, stages, warehouses, freight, running, failed) in &rows {
                            tr data-search=(name.to_lowercase()) {
                                td { a href={ "/p/" (encode(name)) } { (name) } }
                                td { (stages) } td { (warehouses) } td { (freight) } td { (running) }
                                td { @if *failed > 0 { span.badge.bad { (failed) } } @else { "0" } }
                            }
                        }
                    }
                }
            }
        },
    ))
}

pub async fn page(axum::extract::State(ui): State<Ui>, headers: HeaderMap) -> Response {
    page_handler(&ui, &headers).await.unwrap_or_else(|r| r)
}
