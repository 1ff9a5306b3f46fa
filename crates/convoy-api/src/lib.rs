//! Kargo-compatible resource types (`kargo.akuity.io/v1alpha1`) and their decoding.
//!
//! ```text
//!  YAML text ──yaml::parse_documents──▶ SourceDocument (JSON value + field positions)
//!                                            │ Resource::decode
//!                                            ▼
//!                          Resource (typed; unknown fields rejected with path + suggestion)
//! ```
//!
//! This crate is pure: no I/O, no async. Field names, enums and shapes follow Kargo v1.11.2.

pub mod common;
pub mod core_v1;
pub mod freight;
pub mod meta;
pub mod path;
pub mod project;
pub mod promotion;
pub mod rbac;
mod read;
mod resource;
pub mod stage;
pub mod suggest;
pub mod time;
pub mod urls;
pub mod warehouse;
pub mod yaml;

pub use common::*;
pub use core_v1::{AnalysisTemplate, ConfigMap, Event, Secret};
pub use freight::{Freight, FreightCollection, FreightReference, FreightStatus};
pub use meta::ObjectMeta;
pub use path::FieldPath;
pub use project::{ClusterConfig, Project, ProjectConfig};
pub use promotion::{ClusterPromotionTask, Promotion, PromotionTask};
pub use rbac::Role;
pub use read::{Read, rewrite_deprecated_tag_filters};
pub use resource::{DecodeError, Kind, Resource};
pub use stage::Stage;
pub use warehouse::{ChartSubscription, GitSubscription, ImageSubscription, Subscription, Warehouse};

/// Kargo's API group and version.
pub const KARGO_API_VERSION: &str = "kargo.akuity.io/v1alpha1";
/// Argo Rollouts' API group and version (AnalysisTemplate).
pub const ROLLOUTS_API_VERSION: &str = "argoproj.io/v1alpha1";
/// The project that holds resources shared by every project.
pub const SHARED_RESOURCES_PROJECT: &str = "kargo-shared-resources";
/// Label carrying a Freight's alias.
pub const ALIAS_LABEL: &str = "kargo.akuity.io/alias";
/// Label marking a Secret as credentials of a kind (`git`, `image`, `helm`, `generic`).
pub const CRED_TYPE_LABEL: &str = "kargo.akuity.io/cred-type";
/// Annotation requesting a refresh (Warehouse: discover now; Stage: reconcile); value: a token
/// the controller copies to `status.lastHandledRefresh`.
pub const REFRESH_ANNOTATION: &str = "kargo.akuity.io/refresh";
/// Annotation on a Stage: the id of the verification to run again.
pub const REVERIFY_ANNOTATION: &str = "kargo.akuity.io/reverify";
/// Annotation on a Stage: the id of the running verification to stop; on a Promotion: stop it.
pub const ABORT_ANNOTATION: &str = "kargo.akuity.io/abort";
/// Separator between a task alias and a task step alias after expansion.
pub const ALIAS_SEPARATOR: &str = "::";
