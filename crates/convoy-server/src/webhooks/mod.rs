//! Webhook receivers (reference §9.2): `POST /webhooks/<type>/<hash>`, configured in a
//! ProjectConfig's `spec.webhookReceivers`. The hash is the hex SHA-256 of project, receiver
//! name and secret, so the path itself is unguessable; GitHub, GitLab, Gitea and Harbor requests
//! are also checked against their signature or token. A push refreshes the project's Warehouses
//! subscribed to the repository (or image) it names; generic receivers do what their actions say
//! (`generic.rs`).

mod generic;
mod providers;

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use convoy_api::{Kind, Subscription, Warehouse};
use convoy_store::{LabelSelector, Store};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::annotations::{refresh_token, request_refresh};
use crate::error::ApiError;
pub use convoy_controllers::receivers::CLUSTER_SECRETS_PROJECT;
use convoy_controllers::receivers::{Receiver, hex};

/// HMAC-SHA256 (RFC 2104).
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(message).finalize();
    Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize().to_vec()
}

/// Compares without stopping at the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn reply(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"msg": message.into()}))).into_response()
}

pub async fn receive(
    State(state): State<Arc<AppState>>,
    Path((kind, hash)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let all = match state.receivers.current(&*state.store).await {
        Ok(all) => all,
        Err(e) => return reply(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    };
    let wanted = format!("/webhooks/{kind}/{hash}");
    let Some((_, receiver, _)) = all.iter().find(|(_, _, path)| same(path.as_bytes(), wanted.as_bytes())) else {
        return reply(StatusCode::NOT_FOUND, "no webhook receiver at this path");
    };
    let receiver = receiver.clone();
    if let Err(message) = providers::authenticate(&receiver, &headers, &body) {
        tracing::info!(project = %receiver.project, kind = %receiver.kind, "webhook refused: {message}");
        return reply(StatusCode::UNAUTHORIZED, message);
    }
    if receiver.kind == "generic" {
        return generic::handle(&*state.store, &receiver, &wanted, &headers, &body).await;
    }
    let event = match providers::event(&receiver, &headers, &body) {
        Ok(event) => event,
        Err((status, message)) => return reply(status, message),
    };
    if let Some(message) = event.ping {
        return reply(StatusCode::OK, message);
    }
    if let Some(url) = &event.pull_request {
        return match wake_waiting(&*state.store, &receiver.project, url).await {
            Ok(woken) => {
                record_refreshes(&*state.store, &receiver, &woken, &headers).await;
                reply(StatusCode::OK, format!("refreshed {} promotion(s)", woken.len()))
            }
            Err(e) => reply(StatusCode::SERVICE_UNAVAILABLE, e.message),
        };
    }
    match refresh_subscribers(&*state.store, &receiver.project, &event).await {
        Ok(refreshed) => {
            record_refreshes(&*state.store, &receiver, &refreshed, &headers).await;
            reply(StatusCode::OK, format!("refreshed {} warehouse(s)", refreshed.len()))
        }
        Err(e) => reply(StatusCode::SERVICE_UNAVAILABLE, e.message),
    }
}

/// Running Promotions of `project` (every project for the ClusterConfig's receivers) with a
/// `git-wait-for-pr` step, at or before the current one, that recorded the PR `url`: asked to
/// look again now rather than at the next poll (Kargo v1.11's PR wake-up).
async fn wake_waiting(store: &dyn Store, project: &str, url: &str) -> Result<Vec<convoy_store::Key>, ApiError> {
    let scope = Some(project).filter(|p| !p.is_empty());
    let (promotions, _) = store.list(Kind::Promotion, scope, &LabelSelector::everything()).await?;
    let token = refresh_token();
    let mut woken = Vec::new();
    for stored in promotions.iter().filter(|p| waits_for(&p.object, url)) {
        request_refresh(store, &stored.key, &token).await?;
        woken.push(stored.key.clone());
    }
    Ok(woken)
}

/// Whether a Promotion is running and one of its `git-wait-for-pr` steps so far waits for `url`
/// (compared byte for byte, as Kargo's index does).
fn waits_for(promotion: &Value, url: &str) -> bool {
    if promotion.pointer("/status/phase").and_then(Value::as_str) != Some("Running") {
        return false;
    }
    let current = promotion.pointer("/status/currentStep").and_then(Value::as_u64).unwrap_or(0) as usize;
    let steps = promotion.pointer("/spec/steps").and_then(Value::as_array).cloned().unwrap_or_default();
    steps.iter().take(current + 1).enumerate().any(|(i, step)| {
        let alias = step["as"].as_str().map(str::to_owned).unwrap_or_else(|| format!("step-{}", i + 1));
        step["uses"] == "git-wait-for-pr"
            && promotion
                .pointer(&format!("/status/state/{}/pr/url", alias.replace('~', "~0").replace('/', "~1")))
                .and_then(Value::as_str)
                == Some(url)
    })
}

/// The audit trail's records of a receiver's refreshes.
pub(super) async fn record_refreshes(
    store: &dyn Store,
    receiver: &convoy_controllers::receivers::Receiver,
    refreshed: &[convoy_store::Key],
    headers: &HeaderMap,
) {
    let at = convoy_store::now_rfc3339();
    let request_id = headers.get(crate::audit::REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
    let records = refreshed
        .iter()
        .map(|key| convoy_store::AuditRecord {
            id: 0,
            at: at.clone(),
            actor: format!("receiver:{}/{}", receiver.kind, receiver.project),
            groups: Vec::new(),
            verb: "refresh".into(),
            project: key.project.clone(),
            kind: key.kind.name().into(),
            name: key.name.clone(),
            summary: format!("refresh requested by a {} event", receiver.kind),
            request_id: request_id.chars().take(64).collect(),
            source: String::new(),
            outcome: "allowed".into(),
            status: 200,
        })
        .collect();
    crate::audit::append(store, records).await;
}

/// Whether a receiver of `project` may refresh the Warehouse `key`.
pub(super) fn receiver_may_refresh(project: &str, key: &convoy_store::Key) -> bool {
    let request =
        convoy_core::access::Request { verb: "patch", resource: "warehouses", project: &key.project, name: &key.name };
    match convoy_core::access::decide(&receiver_role(project), &request) {
        Ok(()) => true,
        Err(denied) => {
            tracing::warn!(warehouse = %key, %denied, "a receiver was refused a refresh");
            false
        }
    }
}

/// What a receiver may do: refresh the Warehouses of its project (of every project for the
/// ClusterConfig's receivers).
fn receiver_role(project: &str) -> Vec<convoy_core::access::Granted> {
    let scope = if project.is_empty() {
        convoy_core::access::Scope::System
    } else {
        convoy_core::access::Scope::Project(project.to_owned())
    };
    let rules = vec![convoy_api::rbac::PolicyRule::new(&["patch"], &["warehouses"])];
    vec![convoy_core::access::Granted { scope, role: "receiver".into(), rules }]
}

/// Sets the refresh annotation on every Warehouse of `project` with a subscription to one of
/// the event's repositories that one of its qualifiers can matter to (all of them when the event
/// has none).
async fn refresh_subscribers(
    store: &dyn Store,
    project: &str,
    event: &providers::Event,
) -> Result<Vec<convoy_store::Key>, ApiError> {
    // Pushed images also name `oci://` chart repositories.
    let charts: Vec<String> = event.images.iter().map(|i| format!("oci://{i}")).collect();
    // The empty project (a ClusterConfig receiver) is every project.
    let scope = Some(project).filter(|p| !p.is_empty());
    let (warehouses, _) = store.list(Kind::Warehouse, scope, &LabelSelector::everything()).await?;
    let token = refresh_token();
    let mut refreshed = Vec::new();
    for stored in warehouses {
        let Ok(warehouse) = serde_json::from_value::<Warehouse>(stored.object.clone()) else { continue };
        let subscribed = warehouse.spec.subscriptions.iter().any(|s| {
            let urls = match s {
                Subscription::Git(_) => &event.git_urls,
                Subscription::Image(_) => &event.images,
                Subscription::Chart(_) => &charts,
                Subscription::Generic { .. } => return false,
            };
            let named = urls.iter().any(|url| s.subscribes_to(url));
            named
                && (event.qualifiers.is_empty()
                    || event.qualifiers.iter().any(|q| convoy_discovery::qualify::wants(s, q)))
        });
        if !subscribed {
            continue;
        }
        // The receiver acts with the one permission it has: refreshing its project's Warehouses.
        if !receiver_may_refresh(project, &stored.key) {
            continue;
        }
        request_refresh(store, &stored.key, &token).await?;
        refreshed.push(stored.key);
    }
    Ok(refreshed)
}

/// The repository of an image reference: without `:tag` or `@digest`.
fn image_repository(reference: &str) -> &str {
    let without_digest = reference.split('@').next().unwrap_or(reference);
    match without_digest.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo,
        _ => without_digest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_repositories() {
        assert_eq!(image_repository("harbor.example.com/library/app:1.0"), "harbor.example.com/library/app");
        assert_eq!(image_repository("localhost:5000/app@sha256:abc"), "localhost:5000/app");
        assert_eq!(image_repository("localhost:5000/app"), "localhost:5000/app");
    }

    #[test]
    fn hmac_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex(&mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn hmac_long_key_rfc4231_case_6() {
        let key = [0xaa_u8; 131];
        let mac = hmac_sha256(&key, b"Test Using Larger Than Block-Size Key - Hash Key First");
        assert_eq!(hex(&mac), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    }
}

#[cfg(test)]
mod receiver_rights {
    use convoy_api::Kind;
    use convoy_store::Key;

    #[test]
    fn a_receiver_refreshes_its_projects_warehouses_only() {
        let shop = Key::new(Kind::Warehouse, "shop", "app");
        let bank = Key::new(Kind::Warehouse, "bank", "app");
        assert!(super::receiver_may_refresh("shop", &shop));
        assert!(!super::receiver_may_refresh("shop", &bank));
        // The ClusterConfig's receivers serve every project.
        assert!(super::receiver_may_refresh("", &bank));
    }
}

#[cfg(test)]
mod pull_request_wake_up {
    use serde_json::json;

    fn promotion(phase: &str, current: u64, url: &str) -> serde_json::Value {
        json!({
            "spec": {"steps": [
                {"uses": "git-open-pr", "as": "open"},
                {"uses": "git-wait-for-pr", "as": "wait"},
                {"uses": "argocd-update"},
            ]},
            "status": {"phase": phase, "currentStep": current, "state": {"wait": {"pr": {"url": url, "open": true}}}},
        })
    }

    #[test]
    fn only_running_promotions_waiting_for_that_pr_are_woken() {
        let url = "https://github.com/o/config/pull/7";
        assert!(super::waits_for(&promotion("Running", 1, url), url));
        assert!(!super::waits_for(&promotion("Running", 1, url), "https://github.com/o/config/pull/70"));
        assert!(!super::waits_for(&promotion("Succeeded", 2, url), url), "finished: nothing to wake");
        assert!(!super::waits_for(&promotion("Running", 0, url), url), "the wait step has not started");
    }
}
