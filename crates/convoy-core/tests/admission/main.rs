//! Admission tests: one case per validation and defaulting rule of reference §2, expected
//! messages and paths written from the reference, not from Convoy's output.

mod availability;
mod defaulting;
mod expansion;
mod freight_id;
mod rules;
mod schema;

use convoy_api::Resource;
use convoy_api::yaml::parse_documents;
use convoy_core::{Catalog, Env, Operation, Problem, admit};

/// A fixed clock (2024-05-01T12:00:00Z) and a deterministic random sequence.
pub struct FixedEnv {
    pub millis: u64,
    state: u64,
}

impl Default for FixedEnv {
    fn default() -> Self {
        FixedEnv { millis: 1_714_564_800_000, state: 7 }
    }
}

impl Env for FixedEnv {
    fn now_millis(&self) -> u64 {
        self.millis
    }
    fn random(&mut self) -> u64 {
        self.state = self.state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.state
    }
}

pub fn resources(yaml: &str) -> Vec<Resource> {
    parse_documents(yaml)
        .expect("fixture is valid YAML")
        .iter()
        .map(|d| Resource::decode(&d.value).expect("fixture decodes").expect("known kind"))
        .collect()
}

pub fn one(yaml: &str) -> Resource {
    resources(yaml).remove(0)
}

/// A complete catalog holding project `p` and the given objects.
pub fn world(yaml: &str) -> Catalog {
    let mut catalog = Catalog::complete();
    catalog.insert(one("apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata: {name: p}\n"));
    if !yaml.trim().is_empty() {
        for r in resources(yaml) {
            catalog.insert(r);
        }
    }
    catalog
}

pub fn admit_in(target: &str, world_yaml: &str) -> Result<Resource, Vec<Problem>> {
    admit(one(target), Operation::Create, &world(world_yaml), &mut FixedEnv::default()).map(|a| a.resource)
}

pub fn problems_of(target: &str, world_yaml: &str) -> Vec<Problem> {
    match admit(one(target), Operation::Create, &world(world_yaml), &mut FixedEnv::default()) {
        Ok(admitted) => admitted.warnings,
        Err(problems) => problems,
    }
}

/// Asserts that an error with exactly this path and message was reported.
#[track_caller]
pub fn assert_error(problems: &[Problem], path: &str, message: &str) {
    assert!(
        problems.iter().any(|p| p.is_error() && p.path == path && p.message == message),
        "expected error {path}: {message}\n got: {problems:#?}"
    );
}

#[track_caller]
pub fn assert_warning(problems: &[Problem], path: &str, message: &str) {
    assert!(
        problems.iter().any(|p| !p.is_error() && p.path == path && p.message == message),
        "expected warning {path}: {message}\n got: {problems:#?}"
    );
}

pub const WAREHOUSE: &str = "
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {name: w, namespace: p}
spec:
  subscriptions:
  - image: {repoURL: ghcr.io/example/app}
  - git: {repoURL: https://github.com/example/config.git}
";

pub const TASK: &str = "
apiVersion: kargo.akuity.io/v1alpha1
kind: PromotionTask
metadata: {name: promote, namespace: p}
spec:
  vars:
  - name: image
  - name: branch
    value: main
  steps:
  - uses: git-clone
    config: {repoURL: x}
  - uses: kustomize-set-image
    as: update-image
  - uses: git-commit
    as: commit
";
