//! The OpenAPI document served at `/v1/openapi.json`, describing the paths of the API.

use serde_json::{Value, json};

pub fn document() -> Value {
    let object = json!({"type": "object", "description": "a Kargo-format object (kargo.akuity.io/v1alpha1, v1 Secret/ConfigMap, argoproj AnalysisTemplate)"});
    let error = json!({"type": "object", "properties": {
        "code": {"type": "string"}, "message": {"type": "string"},
        "details": {"type": "array", "items": {"type": "object", "properties": {"path": {"type": "string"}, "message": {"type": "string"}, "hint": {"type": "string"}, "severity": {"type": "string"}}}}
    }});
    let errors = json!({
        "400": {"description": "malformed request", "content": {"application/json": {"schema": error}}},
        "401": {"description": "missing or wrong bearer token"},
        "404": {"description": "not found"},
        "409": {"description": "stale resourceVersion or already exists"},
        "422": {"description": "admission rejected the object(s); details name each field"}
    });
    let list_params = json!([
        {"name": "labelSelector", "in": "query", "schema": {"type": "string"}},
        {"name": "watch", "in": "query", "schema": {"type": "boolean"}, "description": "Server-Sent Events: event ADDED|MODIFIED|DELETED, id = revision; resume with Last-Event-ID"},
        {"name": "resourceVersion", "in": "query", "schema": {"type": "string"}}
    ]);
    let item = json!({
        "get": {"summary": "read one object", "responses": {"200": {"description": "the object", "content": {"application/json": {"schema": object}}}}},
        "put": {"summary": "create or replace (admission runs first; resourceVersion checked when given)", "parameters": [{"name": "dryRun", "in": "query", "schema": {"type": "boolean"}}], "requestBody": {"content": {"application/json": {"schema": object}, "application/yaml": {"schema": object}}}, "responses": errors},
        "patch": {"summary": "JSON merge patch", "requestBody": {"content": {"application/merge-patch+json": {"schema": object}}}, "responses": errors},
        "delete": {"summary": "delete (resourceVersion checked when given)", "responses": errors}
    });
    let collection = json!({
        "get": {"summary": "list, or watch with ?watch=true", "parameters": list_params, "responses": {"200": {"description": "{apiVersion: v1, kind: List, items}"}}},
        "post": {"summary": "create (names assigned for Freight and Promotions)", "requestBody": {"content": {"application/json": {"schema": object}}}, "responses": errors}
    });
    json!({
        "openapi": "3.0.3",
        "info": {"title": "Convoy API", "version": env!("CARGO_PKG_VERSION")},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": {
            "/healthz": {"get": {"summary": "liveness", "security": []}},
            "/readyz": {"get": {"summary": "readiness: the store answers", "security": []}},
            "/version": {"get": {"summary": "server version", "security": []}},
            "/v1/apply": {"post": {"summary": "admit and write a set of documents in one transaction", "parameters": [{"name": "dryRun", "in": "query", "schema": {"type": "boolean"}}, {"name": "mode", "in": "query", "schema": {"type": "string", "enum": ["apply", "create"]}}], "requestBody": {"content": {"application/yaml": {"schema": {"type": "string"}}}}, "responses": errors}},
            "/v1/{plural}": collection.clone(),
            "/v1/{plural}/{name}": item.clone(),
            "/v1/projects/{project}/stages/{stage}/promote": {"post": {"summary": "promote Freight into the Stage: 201 with the new Promotion; with dryRun, 200 with {phase, steps, diffs} and nothing stored or pushed", "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {"freight": {"type": "string"}, "freightAlias": {"type": "string"}, "dryRun": {"type": "boolean"}}}}}}, "responses": errors}},
            "/v1/projects/{project}/{plural}": collection,
            "/v1/projects/{project}/{plural}/{name}": item
        }
    })
}
