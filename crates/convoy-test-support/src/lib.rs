//! What Convoy's tests repeat, in one place: builders for Kargo objects
//! ([`objects`]), a clock a test moves by hand ([`clock`]), and git repositories built from a
//! short script ([`repo`]), doubles of the Kubernetes API and of the forges' REST APIs
//! ([`kube_api`], [`forges`]). A dev-dependency only; nothing here ships.

pub mod argocd;
pub mod clock;
pub mod forges;
pub mod kube_api;
pub mod objects;
pub mod repo;
