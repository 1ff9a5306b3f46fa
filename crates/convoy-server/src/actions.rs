//! Action routes: `POST .../stages/{s}/promote`, `.../warehouses/{w}/refresh`, `.../freight/{f}/approve`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use convoy_api::{Kind, Resource};
use convoy_store::LabelSelector;
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::annotations::{annotate, refresh_token, request_refresh};
use crate::audit::{Note, noted};
use crate::auth::Identity;
use crate::error::ApiError;
use crate::guard::allow;
use convoy_controllers::writes::{Mode, plan};

/// The body of a promote request: the Freight by name or alias.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PromoteRequest {
    #[serde(default)]
    pub freight: Option<String>,
    #[serde(default)]
    pub freight_alias: Option<String>,
    /// Promote the auto-promotion candidate from this Warehouse (what auto-promotion would pick).
    #[serde(default)]
    pub warehouse: Option<String>,
    /// Run the steps without effects outside a throwaway work tree and report the diff.
    #[serde(default)]
    pub dry_run: bool,
    /// Promote through a closed promotion window; the reason is kept on the Promotion.
    #[serde(default)]
    pub override_window: Option<String>,
}

/// Creates a Promotion of the Freight into the Stage (201 with the Promotion), or for a dry run
/// runs it without storing anything (200 with the report of `controllers::dry_run`).
pub async fn promote(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    Path((project, stage)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    allow(&state, &identity, "promote", Kind::Stage, &project, &stage).await?;
    let request: PromoteRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("promote request: {e}; expected {{\"freight\": NAME}} or {{\"freightAlias\": ALIAS}}, optionally \"dryRun\": true")))?;
    if request.override_window.is_some() {
        // Whoever may change the windows may step through one.
        allow(&state, &identity, "update", Kind::ProjectConfig, &project, &project).await?;
    }
    let freight = match &request.warehouse {
        Some(warehouse) if request.freight.is_none() && request.freight_alias.is_none() => {
            candidate(&state, &project, &stage, warehouse).await?
        }
        Some(_) => return Err(ApiError::bad_request("give one of freight, freightAlias and warehouse")),
        None => freight_name(&state, &project, &request).await?,
    };
    let mut promotion = convoy_api::Promotion::request(&project, &stage, &freight, &identity.actor);
    if let Some((annotation, origin)) = hold_intent(&state, &project, &stage, &freight).await? {
        promotion.metadata.annotations.insert(annotation.to_owned(), origin);
    }
    if let Some(reason) = request.override_window.as_deref().map(str::trim) {
        if reason.is_empty() {
            return Err(ApiError::bad_request("overrideWindow needs a reason (it is recorded on the Promotion)"));
        }
        let annotation = convoy_core::windows::OVERRIDE_ANNOTATION.to_owned();
        promotion.metadata.annotations.insert(annotation, format!("{}: {reason}", identity.actor));
    }
    let resources = vec![Resource::Promotion(promotion)];
    let mode = if request.dry_run { Mode::Preview } else { Mode::Create };
    let outcome = plan(&*state.store, resources, mode).await?.remove(0);
    if !request.dry_run {
        let write = outcome.write.ok_or_else(|| ApiError::bad_request("nothing to write"))?;
        let stored = state.store.apply(vec![write]).await?.remove(0).object;
        promotion_created(&state, &project, &outcome.name, &stage, &freight, &identity.actor).await;
        if let Some(serde_json::Value::String(origin)) =
            stored.pointer("/metadata/annotations/kargo.akuity.io~1auto-promotion-hold")
        {
            // Beyond Kargo: the hold is announced, not only recorded in the Stage's status.
            let about = convoy_controllers::events::Involved { kind: "Stage", project: &project, name: &stage };
            let message = format!(
                "auto-promotion of {origin} is held: {} promoted Freight {freight:?}, not the one auto-promotion would choose; promoting that one resumes it",
                identity.actor
            );
            convoy_controllers::events::record(&*state.store, about, "AutoPromotionHeld", &message, false).await;
        }
        let summary = format!("Promotion {} of Freight {freight}", outcome.name);
        return Ok(noted(
            (StatusCode::CREATED, Json(stored)),
            vec![Note::new("promote", "Stage", &project, &stage, summary)],
        ));
    }
    let (Some(data_dir), Some(mirrors)) = (&state.data_dir, &state.mirrors) else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Unavailable",
            "this server has no data directory to run dry runs in",
        ));
    };
    let Ok(Some(Resource::Promotion(admitted))) = Resource::decode(&outcome.object) else {
        return Err(ApiError::bad_request("the admitted Promotion does not decode"));
    };
    let mut report = convoy_controllers::dry_run::dry_run(&*state.store, mirrors.clone(), data_dir, &admitted)
        .await
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "DryRunFailed", e))?;
    // What admission noted (Freight not available yet, so a real promotion would be refused).
    report["warnings"] = serde_json::to_value(&outcome.warnings).unwrap_or_default();
    Ok(noted(Json(report), Vec::new()))
}

/// The Freight auto-promotion would choose for `stage` from `warehouse`.
async fn candidate(state: &AppState, project: &str, stage: &str, warehouse: &str) -> Result<String, ApiError> {
    let stored = state
        .store
        .get(&convoy_store::Key::new(Kind::Stage, project, stage))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("Stage {stage:?} not found in project {project:?}")))?;
    let stage_object: convoy_api::Stage = serde_json::from_value(stored.object)
        .map_err(|e| ApiError::bad_request(format!("the stored Stage does not decode: {e}")))?;
    let (stored, _) = state.store.list(Kind::Freight, Some(project), &LabelSelector::everything()).await?;
    let freight: Vec<convoy_api::Freight> =
        stored.into_iter().filter_map(|s| serde_json::from_value(s.object).ok()).collect();
    let refs: Vec<&convoy_api::Freight> = freight.iter().collect();
    let origin = convoy_api::FreightOrigin::warehouse(warehouse);
    let now = convoy_api::time::Timestamp::now();
    if let Some(found) = convoy_core::availability::auto_promotion_candidate(&stage_object, &origin, &refs, now) {
        return Ok(found.metadata.name().to_owned());
    }
    // Say why the newest Freight is not available (which upstream, how much soak is left).
    let newest = refs.iter().filter(|f| f.origin == origin).max_by_key(|f| {
        (f.discovered_at.clone().or(f.metadata.creation_timestamp.clone()), f.metadata.name().to_owned())
    });
    let why = newest
        .and_then(|f| {
            convoy_core::availability::availability(&stage_object, f, now)
                .err()
                .map(|e| format!(": the newest, {}, is {e}", f.metadata.name()))
        })
        .unwrap_or_default();
    Err(ApiError::not_found(format!("no Freight from Warehouse {warehouse:?} is available to Stage {stage:?}{why}")))
}

/// `POST /v1/projects/{p}/stages/{s}/promote-downstream {freight | freightAlias}`: promotes the
/// Freight into every Stage that takes Freight from `s`; `{promotions, refused}`.
pub async fn promote_downstream(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    Path((project, stage)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let request: PromoteRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "promote request: {e}; expected {{\"freight\": NAME}} or {{\"freightAlias\": ALIAS}}"
        ))
    })?;
    let freight = freight_name(&state, &project, &request).await?;
    let (stages, _) = state.store.list(Kind::Stage, Some(&project), &LabelSelector::everything()).await?;
    let downstream: Vec<String> = stages
        .iter()
        .filter(|s| {
            s.object["spec"]["requestedFreight"].as_array().into_iter().flatten().any(|r| {
                r.pointer("/sources/stages")
                    .and_then(serde_json::Value::as_array)
                    .is_some_and(|up| up.iter().any(|u| u == stage.as_str()))
            })
        })
        .map(|s| s.key.name.clone())
        .collect();
    if downstream.is_empty() {
        return Err(ApiError::not_found(format!("no Stage of project {project:?} takes Freight from Stage {stage:?}")));
    }
    // Promoting downstream promotes into each of those Stages: each must be allowed.
    for target in &downstream {
        allow(&state, &identity, "promote", Kind::Stage, &project, target).await?;
    }
    let mut created = Vec::new();
    let mut refused = Vec::new();
    let mut notes = Vec::new();
    for target in downstream {
        let mut promotion = convoy_api::Promotion::request(&project, &target, &freight, &identity.actor);
        if let Some((annotation, origin)) = hold_intent(&state, &project, &target, &freight).await? {
            promotion.metadata.annotations.insert(annotation.to_owned(), origin);
        }
        let resources = vec![Resource::Promotion(promotion)];
        match plan(&*state.store, resources, Mode::Create).await {
            Ok(mut outcomes) => {
                let outcome = outcomes.remove(0);
                if let Some(write) = outcome.write {
                    state.store.apply(vec![write]).await?;
                }
                promotion_created(&state, &project, &outcome.name, &target, &freight, &identity.actor).await;
                let summary = format!("Promotion {} of Freight {freight} (downstream of {stage})", outcome.name);
                notes.push(Note::new("promote", "Stage", &project, &target, summary));
                created.push(json!({"stage": target, "promotion": outcome.name}));
            }
            Err(convoy_controllers::writes::WriteError::Rejected { details, .. }) => {
                let details: Vec<String> = details
                    .iter()
                    .map(|d| d.hint.clone().map_or_else(|| d.message.clone(), |h| format!("{} ({h})", d.message)))
                    .collect();
                refused.push(json!({"stage": target, "message": details.join("; ")}));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(noted((StatusCode::CREATED, Json(json!({"promotions": created, "refused": refused}))), notes))
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
    refresh(&state, &identity, Kind::Warehouse, &project, &warehouse).await
}

/// `POST /v1/projects/{p}/stages/{s}/refresh`: the Stage controller looks again at once.
pub async fn refresh_stage(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    Path((project, stage)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    refresh(&state, &identity, Kind::Stage, &project, &stage).await
}

async fn refresh(
    state: &AppState,
    identity: &Identity,
    kind: Kind,
    project: &str,
    name: &str,
) -> Result<Response, ApiError> {
    allow(state, identity, "patch", kind, project, name).await?;
    let key = convoy_store::Key::new(kind, project, name);
    let token = refresh_token();
    request_refresh(&*state.store, &key, &token).await?;
    let note = Note::new("refresh", kind.name(), project, name, "refresh requested");
    Ok(noted(Json(json!({kind.name().to_ascii_lowercase(): name, "refresh": token})), vec![note]))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApproveRequest {
    pub stage: String,
}

/// `POST /v1/projects/{p}/freight/{f}/approve {stage}`: Kargo's manual approval, recorded in
/// the Freight's `status.approvedFor[stage].approvedAt`; it bypasses upstream verification and soak.
pub async fn approve_freight(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    Path((project, freight)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    // Kargo's approval is a patch of the Freight's status.
    let request_on =
        convoy_core::access::Request { verb: "patch", resource: "freights/status", project: &project, name: &freight };
    crate::auth::authorize(&*state.store, &identity, request_on).await?;
    let request: ApproveRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("approve request: {e}; expected {{\"stage\": NAME}}")))?;
    let stage_key = convoy_store::Key::new(Kind::Stage, &project, &request.stage);
    if state.store.get(&stage_key).await?.is_none() {
        return Err(ApiError::not_found(format!("Stage {:?} not found in project {project:?}", request.stage)));
    }
    let key = convoy_store::Key::new(Kind::Freight, &project, &freight);
    if state.store.get(&key).await?.is_none() {
        return Err(ApiError::not_found(format!("Freight {freight:?} not found in project {project:?}")));
    }
    let now = convoy_api::time::Timestamp::now().to_string();
    convoy_controllers::status::update_typed_status(
        &*state.store,
        &key,
        |status: &mut convoy_api::freight::FreightStatus| {
            let approval = convoy_api::freight::ApprovedStage { approved_at: Some(now.clone()) };
            status.approved_for.insert(request.stage.clone(), approval);
        },
    )
    .await
    .map_err(|e| ApiError::new(StatusCode::CONFLICT, "Conflict", e))?;
    let about = convoy_controllers::events::Involved { kind: "Freight", project: &project, name: &freight };
    let message = format!("Freight approved for Stage {:?} by {}", request.stage, identity.actor);
    convoy_controllers::events::record(&*state.store, about, "FreightApproved", &message, false).await;
    let note = Note::new("approve", "Freight", &project, &freight, format!("approved for Stage {}", request.stage));
    Ok(noted(Json(json!({"freight": freight, "stage": request.stage, "approvedAt": now})), vec![note]))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    #[serde(default)]
    pub abort: bool,
}

/// `POST /v1/projects/{p}/stages/{s}/verify {abort?}`: runs the current Freight's verification
/// again, or stops the running one (Kargo's `reverify` / `abort` annotations, naming it by id).
pub async fn verify_stage(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    Path((project, stage)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    allow(&state, &identity, "patch", Kind::Stage, &project, &stage).await?;
    let request: VerifyRequest = if body.is_empty() {
        VerifyRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("verify request: {e}; expected {{\"abort\": true|false}}")))?
    };
    let key = convoy_store::Key::new(Kind::Stage, &project, &stage);
    let id = annotate(&*state.store, &key, |stored| {
        let latest = stored.pointer("/status/freightHistory/0/verificationHistory/0").cloned().unwrap_or_default();
        let Some(id) = latest["id"].as_str().map(str::to_owned) else {
            let message = format!("Stage {stage:?} has no verification yet; promote Freight into it first");
            return Err(ApiError::new(StatusCode::CONFLICT, "Conflict", message));
        };
        let running = latest["phase"] == "Running";
        if request.abort != running {
            let why = if request.abort {
                "no verification is running"
            } else {
                "a verification is already running; abort it first"
            };
            return Err(ApiError::new(StatusCode::CONFLICT, "Conflict", format!("Stage {stage:?}: {why}")));
        }
        let annotation = if request.abort { convoy_api::ABORT_ANNOTATION } else { convoy_api::REVERIFY_ANNOTATION };
        Ok((annotation, id))
    })
    .await?;
    let (verb, summary) = if request.abort {
        ("abort-verification", "verification aborted")
    } else {
        ("reverify", "verification run again")
    };
    let note = Note::new(verb, "Stage", &project, &stage, format!("{summary} ({id})"));
    Ok(noted(Json(json!({"stage": stage, "verification": id, "abort": request.abort})), vec![note]))
}

async fn promotion_created(state: &AppState, project: &str, promotion: &str, stage: &str, freight: &str, actor: &str) {
    let about = convoy_controllers::events::Involved { kind: "Promotion", project, name: promotion };
    let message = format!("Promotion created for Stage {stage:?} with Freight {freight:?} by {actor}");
    convoy_controllers::events::record(&*state.store, about, "PromotionCreated", &message, false).await;
}

/// For a user's Promotion into a Stage with auto-promotion on: resume when the Freight is the
/// candidate auto-promotion would choose, else hold that origin (Kargo §5.6). `None` otherwise.
async fn hold_intent(
    state: &AppState,
    project: &str,
    stage: &str,
    freight: &str,
) -> Result<Option<(&'static str, String)>, ApiError> {
    let Some(stored) = state.store.get(&convoy_store::Key::new(Kind::Stage, project, stage)).await? else {
        return Ok(None);
    };
    let Ok(stage_object) = serde_json::from_value::<convoy_api::Stage>(stored.object) else { return Ok(None) };
    let config = state.store.get(&convoy_store::Key::new(Kind::ProjectConfig, project, project)).await?;
    let policies = config
        .and_then(|c| serde_json::from_value::<convoy_api::ProjectConfig>(c.object).ok())
        .map(|c| c.spec.promotion_policies)
        .unwrap_or_default();
    if stage_object.is_control_flow() || !convoy_core::pipeline::auto_promotion_enabled(&policies, &stage_object) {
        return Ok(None);
    }
    let Some(promoted) = state.store.get(&convoy_store::Key::new(Kind::Freight, project, freight)).await? else {
        return Ok(None);
    };
    let Ok(promoted) = serde_json::from_value::<convoy_api::Freight>(promoted.object) else { return Ok(None) };
    let (all, _) = state.store.list(Kind::Freight, Some(project), &LabelSelector::everything()).await?;
    let all: Vec<convoy_api::Freight> = all.into_iter().filter_map(|s| serde_json::from_value(s.object).ok()).collect();
    let refs: Vec<&convoy_api::Freight> = all.iter().collect();
    let candidate = convoy_core::availability::auto_promotion_candidate(
        &stage_object,
        &promoted.origin,
        &refs,
        convoy_api::time::Timestamp::now(),
    );
    let intent = convoy_core::pipeline::hold_intent(candidate.map(|f| f.metadata.name()), freight);
    Ok(Some((intent, promoted.origin.key())))
}

/// `POST /v1/projects/{p}/promotions/{n}/abort`: Kargo's abort request (the
/// `kargo.akuity.io/abort` annotation); the engine stops before the next step.
pub async fn abort_promotion(
    State(state): State<Arc<AppState>>,
    Extension(identity): Extension<Identity>,
    Path((project, promotion)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    allow(&state, &identity, "patch", Kind::Promotion, &project, &promotion).await?;
    let key = convoy_store::Key::new(Kind::Promotion, &project, &promotion);
    let request = json!({"action": "terminate", "actor": identity.actor, "controlPlane": false}).to_string();
    annotate(&*state.store, &key, |stored| {
        let phase = stored.pointer("/status/phase").and_then(serde_json::Value::as_str).unwrap_or("Pending");
        if matches!(phase, "Succeeded" | "Failed" | "Errored" | "Aborted") {
            let message = format!("Promotion {promotion:?} already ended {phase}");
            return Err(ApiError::new(StatusCode::CONFLICT, "Conflict", message));
        }
        Ok(("kargo.akuity.io/abort", request.clone()))
    })
    .await?;
    let note = Note::new("abort", "Promotion", &project, &promotion, "abort requested");
    Ok(noted(Json(json!({"promotion": promotion, "abort": "requested"})), vec![note]))
}
