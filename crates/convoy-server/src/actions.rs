//! Action routes: `POST .../stages/{s}/promote`, `POST .../warehouses/{w}/refresh`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use convoy_api::{Kind, Resource};
use convoy_store::LabelSelector;
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::auth::{Action, Identity, authorize};
use crate::error::ApiError;
use crate::writes::{Mode, decode_body, plan};

/// The body of a promote request: the Freight by name or alias.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PromoteRequest {
    #[serde(default)]
    pub freight: Option<String>,
    #[serde(default)]
    pub freight_alias: Option<String>,
    /// Run the steps without effects outside a throwaway work tree and report the diff.
    #[serde(default)]
    pub dry_run: bool,
}

/// Creates a Promotion of the Freight into the Stage (201 with the Promotion), or for a dry run
/// runs it without storing anything (200 with the report of `controllers::dry_run`).
pub async fn promote(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    Path((project, stage)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    if !authorize(&identity, Action::Write, &project) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            format!("no write access to project {project:?}"),
        ));
    }
    let request: PromoteRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("promote request: {e}; expected {{\"freight\": NAME}} or {{\"freightAlias\": ALIAS}}, optionally \"dryRun\": true")))?;
    let freight = freight_name(&state, &project, &request).await?;
    let promotion = json!({
        "apiVersion": "kargo.akuity.io/v1alpha1",
        "kind": "Promotion",
        "metadata": {"generateName": format!("{stage}-"), "namespace": project},
        "spec": {"stage": stage, "freight": freight},
    });
    let resources = decode_body(&promotion.to_string(), Some(&project))?;
    let outcome = plan(&*state.store, resources, Mode::Create).await?.remove(0);
    if !request.dry_run {
        let write = outcome.write.ok_or_else(|| ApiError::bad_request("nothing to write"))?;
        let stored = state.store.apply(vec![write]).await?.remove(0).object;
        return Ok((StatusCode::CREATED, Json(stored)).into_response());
    }
    let Some(data_dir) = &state.data_dir else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Unavailable",
            "this server has no data directory to run dry runs in",
        ));
    };
    let Ok(Some(Resource::Promotion(admitted))) = Resource::decode(&outcome.object) else {
        return Err(ApiError::bad_request("the admitted Promotion does not decode"));
    };
    let report = crate::controllers::dry_run::dry_run(&*state.store, data_dir, &admitted)
        .await
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "DryRunFailed", e))?;
    Ok(Json(report).into_response())
}

async fn freight_name(state: &AppState, project: &str, request: &PromoteRequest) -> Result<String, ApiError> {
    match (&request.freight, &request.freight_alias) {
        (Some(name), None) => Ok(name.clone()),
        (None, Some(alias)) => {
            let selector = LabelSelector::parse(&format!("kargo.akuity.io/alias={alias}"))
                .map_err(|e| ApiError::bad_request(format!("freightAlias: {e}")))?;
            let (found, _) = state.store.list(Kind::Freight, Some(project), &selector).await?;
            found
                .first()
                .map(|f| f.key.name.clone())
                .ok_or_else(|| ApiError::not_found(format!("no Freight with alias {alias:?} in project {project:?}")))
        }
        _ => Err(ApiError::bad_request("give exactly one of freight and freightAlias")),
    }
}

/// `POST /v1/projects/{p}/warehouses/{w}/refresh`: sets Kargo's refresh annotation to a new
/// token; the Warehouse controller discovers at once and records the token it handled in
/// `status.lastHandledRefresh`.
pub async fn refresh_warehouse(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    Path((project, warehouse)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    if !authorize(&identity, Action::Write, &project) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            format!("no write access to project {project:?}"),
        ));
    }
    let key = convoy_store::Key::new(Kind::Warehouse, &project, &warehouse);
    let token = format!(
        "{}",
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos()
    );
    for _ in 0..10 {
        let stored =
            state.store.get(&key).await?.ok_or_else(|| {
                ApiError::not_found(format!("Warehouse {warehouse:?} not found in project {project:?}"))
            })?;
        let mut object = stored.object.clone();
        if !object["metadata"]["annotations"].is_object() {
            object["metadata"]["annotations"] = json!({});
        }
        object["metadata"]["annotations"][crate::controllers::warehouses::REFRESH_ANNOTATION] = json!(token);
        match state.store.apply(vec![convoy_store::Write::Put { object, expected: Some(stored.revision) }]).await {
            Ok(_) => return Ok(Json(json!({"warehouse": warehouse, "refresh": token})).into_response()),
            Err(convoy_store::StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::new(StatusCode::CONFLICT, "Conflict", "the Warehouse kept changing; try again"))
}
