//! Error bodies: the `Status` kind, with the reasons and messages of the API conventions.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

#[derive(Debug)]
pub struct Failure {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Value,
}

impl Failure {
    pub fn not_found(resource: &Resource, name: &str) -> Failure {
        Failure {
            code: 404,
            reason: "NotFound",
            message: format!("{} {name:?} not found", resource.qualified()),
            details: json!({"name": name, "group": resource.group, "kind": resource.plural}),
        }
    }

    pub fn conflict(resource: &Resource, name: &str) -> Failure {
        Failure {
            code: 409,
            reason: "Conflict",
            message: format!(
                "Operation cannot be fulfilled on {} {name:?}: the object has been modified; please apply your changes to the latest version and try again",
                resource.qualified()
            ),
            details: json!({"name": name, "group": resource.group, "kind": resource.plural}),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Failure {
        Failure { code: 400, reason: "BadRequest", message: message.into(), details: json!({}) }
    }

    pub fn unsupported_media_type() -> Failure {
        Failure {
            code: 415,
            reason: "UnsupportedMediaType",
            message: "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml".into(),
            details: json!({}),
        }
    }

    pub fn forbidden(resource: &Resource, verb: &str, namespace: Option<&str>, name: Option<&str>) -> Failure {
        let object = name.map(|n| format!("{} {n:?}", resource.qualified())).unwrap_or_else(|| resource.qualified());
        let scope = match namespace {
            Some(ns) => format!("in the namespace {ns:?}"),
            None => "at the cluster scope".to_owned(),
        };
        Failure {
            code: 403,
            reason: "Forbidden",
            message: format!(
                "{object} is forbidden: User \"system:serviceaccount:convoy:convoy\" cannot {verb} resource {:?} in API group {:?} {scope}",
                resource.plural, resource.group
            ),
            details: json!({"group": resource.group, "kind": resource.plural}),
        }
    }

    pub fn invalid(kind: &str, name: &str, field: &str) -> Failure {
        Failure {
            code: 422,
            reason: "Invalid",
            message: format!("{kind} {name:?} is invalid: {field}: Required value"),
            details: json!({"name": name, "causes": [{"reason": "FieldValueRequired", "message": "Required value", "field": field}]}),
        }
    }

    pub fn body(&self) -> Value {
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": self.message, "reason": self.reason, "details": self.details, "code": self.code,
        })
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (code, axum::Json(self.body())).into_response()
    }
}

/// A resource type: `group/version/plural` (core: empty group).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Resource {
    pub group: String,
    pub version: String,
    pub plural: String,
}

impl Resource {
    pub fn qualified(&self) -> String {
        if self.group.is_empty() { self.plural.clone() } else { format!("{}.{}", self.plural, self.group) }
    }

    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.clone() } else { format!("{}/{}", self.group, self.version) }
    }
}
