//! Generic receivers: each action (`Refresh`) runs when its `whenExpression` holds over the
//! request, on the Warehouses its `targetSelectionCriteria` select (by name, labels, or
//! `indexSelector` on `subscribedURLs`, whose values may be `${{ }}` templates over the request).
//! Expressions see `request.method`, `request.url`, `request.headers`, `request.body` (JSON when
//! it parses) and `request.header(name)`.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use convoy_api::{Kind, Warehouse};
use convoy_store::{LabelSelector, Store};
use serde_json::{Map, Value, json};

use super::{Receiver, reply};
use crate::annotations::{refresh_token, request_refresh};

const HEADER_FUNCTION: &str = "__requestHeader";

pub(super) async fn handle(
    store: &dyn Store,
    receiver: &Receiver,
    url: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let mut header_map = Map::new();
    for (name, value) in headers {
        let entry = header_map.entry(name.as_str().to_owned()).or_insert_with(|| json!([]));
        if let Value::Array(values) = entry {
            values.push(json!(value.to_str().unwrap_or_default()));
        }
    }
    let body = serde_json::from_slice::<Value>(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()));
    let request = json!({"method": "POST", "url": url, "headers": header_map, "body": body});
    let mut base = convoy_expr::Scope::default();
    if let Err(e) = base.insert("request", &request) {
        return reply(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
    }
    let evaluator = evaluator(&header_map);
    let projects = Some(receiver.project.as_str()).filter(|p| !p.is_empty());
    let (warehouses, _) = match store.list(Kind::Warehouse, projects, &LabelSelector::everything()).await {
        Ok(list) => list,
        Err(e) => return reply(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    };
    let token = refresh_token();
    let mut refreshed = Vec::new();
    for (i, action) in receiver.actions.iter().enumerate() {
        if action.action != "Refresh" {
            return reply(
                StatusCode::BAD_REQUEST,
                format!("actions[{i}]: action {:?} is not supported; use Refresh", action.action),
            );
        }
        // An action's parameters are `params` to its expressions.
        let mut scope = base.clone();
        if let Err(e) = scope.insert("params", &json!(action.parameters)) {
            return reply(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
        }
        if let Some(code) = action.when_expression.as_deref().filter(|c| !c.trim().is_empty()) {
            match evaluator.expression(&rewrite(code), &scope) {
                Ok(Value::Bool(true)) => {}
                Ok(Value::Bool(false)) => continue,
                Ok(other) => {
                    return reply(
                        StatusCode::BAD_REQUEST,
                        format!("actions[{i}].whenExpression must be a boolean, got {other}"),
                    );
                }
                Err(e) => return reply(StatusCode::BAD_REQUEST, format!("actions[{i}].whenExpression: {e}")),
            }
        }
        for stored in &warehouses {
            let Ok(warehouse) = serde_json::from_value::<Warehouse>(stored.object.clone()) else { continue };
            let selected = action.target_selection_criteria.iter().any(|c| {
                c.kind == "Warehouse"
                    && selects(c, &warehouse, |template| evaluator.template(&rewrite(template), &scope).ok())
            });
            if selected && super::receiver_may_refresh(&receiver.project, &stored.key) {
                match request_refresh(store, &stored.key, &token).await {
                    Ok(()) => refreshed.push(stored.key.clone()),
                    Err(e) => return reply(StatusCode::SERVICE_UNAVAILABLE, e.message),
                }
            }
        }
    }
    super::record_refreshes(store, receiver, &refreshed, headers).await;
    reply(StatusCode::OK, format!("refreshed {} warehouse(s)", refreshed.len()))
}

const HEADERS_FUNCTION: &str = "__requestHeaders";

/// `request.header(name)` (first value, or ""), `request.headers(name)` (every value) and
/// Kargo's `normalizeGit`, `normalizeImage`, `normalizeChart`.
fn evaluator(headers: &Map<String, Value>) -> convoy_expr::Evaluator<'static> {
    let mut evaluator = convoy_expr::Evaluator::new(&convoy_expr::NoData);
    let lookup = headers.clone();
    evaluator.add_function(HEADER_FUNCTION, move |args| {
        let [Value::String(name)] = args else { return Err("header() takes one header name".into()) };
        Ok(lookup.get(&name.to_ascii_lowercase()).and_then(|v| v.get(0)).cloned().unwrap_or(json!("")))
    });
    let lookup = headers.clone();
    evaluator.add_function(HEADERS_FUNCTION, move |args| {
        let [Value::String(name)] = args else { return Err("headers() takes one header name".into()) };
        Ok(lookup.get(&name.to_ascii_lowercase()).cloned().unwrap_or(json!([])))
    });
    for (name, normalize) in NORMALIZERS {
        evaluator.add_function(&format!("__{name}"), move |args| {
            let [Value::String(url)] = args else { return Err(format!("{name}() takes one URL")) };
            Ok(Value::String(normalize(url)))
        });
    }
    evaluator
}

/// `request.header(` and `request.headers(` calls become the functions above.
fn rewrite(code: &str) -> String {
    let mut code = code
        .replace("request.headers(", &format!("{HEADERS_FUNCTION}("))
        .replace("request.header(", &format!("{HEADER_FUNCTION}("));
    for (name, _) in NORMALIZERS {
        code = code.replace(&format!("{name}("), &format!("__{name}("));
    }
    code
}

type Normalize = fn(&str) -> String;

/// Kargo's URL normalizers, offered to generic receivers' expressions (helper functions are
/// `__`-named so that they never shadow Kargo's own; `rewrite` maps the calls).
const NORMALIZERS: [(&str, Normalize); 3] = [
    ("normalizeGit", convoy_api::urls::normalize_git),
    ("normalizeImage", convoy_api::urls::normalize_image),
    ("normalizeChart", convoy_api::urls::normalize_chart),
];

/// Whether a criterion picks `warehouse`: every given part must hold.
fn selects(
    criteria: &convoy_api::project::GenericWebhookTargetSelectionCriteria,
    warehouse: &Warehouse,
    evaluate: impl Fn(&str) -> Option<Value>,
) -> bool {
    // A name may be a template over the request (`${{ request.body.repository.name }}`).
    let name_ok = criteria.name.as_deref().is_none_or(|name| {
        let name = if name.contains("${") {
            match evaluate(name) {
                Some(Value::String(s)) => s,
                Some(other) => other.to_string(),
                None => return false,
            }
        } else {
            name.to_owned()
        };
        name == warehouse.metadata.name()
    });
    let labels_ok =
        criteria.label_selector.as_ref().is_none_or(|selector| selector.matches(&warehouse.metadata.labels));
    let index_ok = criteria.index_selector.as_ref().is_none_or(|selector| {
        let indices = selector.get("matchIndices").or_else(|| selector.get("matchExpressions"));
        indices.and_then(Value::as_array).into_iter().flatten().all(|index| {
            if index["key"] != "subscribedURLs" {
                return false;
            }
            let Some(value) = index["value"].as_str().and_then(&evaluate) else { return false };
            let wanted = value.as_str().map(str::to_owned).unwrap_or_else(|| value.to_string());
            let subscribed = warehouse.spec.subscriptions.iter().any(|s| s.subscribes_to(&wanted));
            match index["operator"].as_str().unwrap_or("Equals") {
                "NotEquals" | "NotEqual" => !subscribed,
                _ => subscribed,
            }
        })
    });
    name_ok && labels_ok && index_ok
}
