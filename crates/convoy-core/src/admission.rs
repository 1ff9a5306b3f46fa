//! Admission: the one function every write path calls (API, apply, lint, controllers, engine).
//!
//! ```text
//!  object ──▶ metadata checks ──▶ defaulting / building ──▶ validation ──▶ Admitted | problems
//!              (name, project)    (Freight id, alias,      (Kargo's webhook
//!                                  Promotion from Stage,     rules + Convoy's
//!                                  task expansion)           early checks)
//! ```
//! Pure: the caller supplies the view of other objects, the time and randomness.

use convoy_api::{Kind, Resource};

use crate::problem::{Problem, Problems};
use crate::time::Timestamp;
use crate::validate::{check_metadata, config, freight, promotion, stage, task, warehouse};
use crate::view::View;

/// Time and randomness, supplied by the caller so admission stays deterministic under test.
pub trait Env {
    fn now_millis(&self) -> u64;
    fn random(&mut self) -> u64;
}

/// Whether the object is new or replaces a stored one.
#[derive(Debug, Clone, Copy)]
pub enum Operation<'a> {
    Create,
    /// A creation that will not be stored (a dry run): Freight not available yet is admitted
    /// with a warning, so the run can show what the promotion would do.
    Preview,
    Update {
        old: &'a Resource,
    },
}

/// An object that passed admission, as it will be stored, with its warnings.
#[derive(Debug, Clone)]
pub struct Admitted {
    pub resource: Resource,
    pub warnings: Vec<Problem>,
}

/// Defaults, expands and validates one object. On rejection, every problem found (errors and
/// warnings) is returned.
pub fn admit(
    mut resource: Resource,
    operation: Operation<'_>,
    view: &dyn View,
    env: &mut dyn Env,
) -> Result<Admitted, Vec<Problem>> {
    let mut problems = Problems::default();
    let kind = resource.kind();
    let creating = matches!(operation, Operation::Create | Operation::Preview);
    let preview = matches!(operation, Operation::Preview);
    let now = Timestamp((env.now_millis() / 1000) as i64);
    match (&mut resource, operation) {
        (Resource::Warehouse(w), _) => {
            warehouse::default(w);
            warehouse::validate(w, &mut problems);
        }
        (Resource::Stage(s), _) => {
            stage::default(s);
            stage::validate(s, view, &mut problems);
        }
        (Resource::Freight(f), op) => {
            // Applied again without it: the discovery time stays what it was, not "now".
            if let Operation::Update { old: Resource::Freight(old) } = &op
                && f.discovered_at.is_none()
            {
                f.discovered_at = old.discovered_at.clone();
            }
            freight::default(f, creating, view, env);
            freight::validate(f, view, &mut problems);
            if let Operation::Update { old: Resource::Freight(old) } = op {
                freight::check_immutable(old, f, &mut problems);
            }
        }
        (Resource::Promotion(p), Operation::Create | Operation::Preview) => {
            if promotion::build(p, view, env, &mut problems).is_some() {
                promotion::validate(p, view, now, preview, &mut problems);
            }
        }
        (Resource::Promotion(p), Operation::Update { old }) => {
            if let Resource::Promotion(old) = old
                && old.spec != p.spec
            {
                problems.error("spec", "spec is immutable").with_hint("create a new Promotion instead");
            }
        }
        (Resource::PromotionTask(t) | Resource::ClusterPromotionTask(t), _) => task::validate(t, &mut problems),
        (Resource::ProjectConfig(c), _) => config::validate_project_config(c, &mut problems),
        (Resource::ClusterConfig(c), _) => config::validate_cluster_config(c, &mut problems),
        (Resource::Role(r), _) => crate::access::validate_role(r, &mut problems),
        (
            Resource::Project(_)
            | Resource::Secret(_)
            | Resource::ConfigMap(_)
            | Resource::AnalysisTemplate(_)
            | Resource::ClusterAnalysisTemplate(_)
            | Resource::Event(_),
            _,
        ) => {}
    }
    // After defaulting: Freight and Promotions are named by admission itself.
    let unnamed_by_failed_build = kind == Kind::Promotion && creating && resource.metadata().name().is_empty();
    check_metadata(kind, resource.metadata(), !unnamed_by_failed_build, view, &mut problems);
    if kind == Kind::Secret {
        validate_secret(&resource, &mut problems);
    }
    if problems.has_errors() {
        return Err(problems.into_vec());
    }
    Ok(Admitted { resource, warnings: problems.into_vec() })
}

fn validate_secret(resource: &Resource, problems: &mut Problems) {
    let Resource::Secret(secret) = resource else { return };
    for (key, value) in &secret.data {
        if !is_base64(value) {
            // Name the key only: the value is secret.
            problems
                .error(format!("data.{key}"), "value is not valid base64")
                .with_hint("put plain text under stringData instead of data");
        }
    }
}

fn is_base64(value: &str) -> bool {
    let trimmed = value.trim_end_matches('=');
    value.len().is_multiple_of(4)
        && value.len() - trimmed.len() <= 2
        && trimmed.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}
