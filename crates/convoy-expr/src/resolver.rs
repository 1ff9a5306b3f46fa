//! What expression functions may look up, behind a trait so this crate does no I/O.

use std::collections::BTreeMap;

use convoy_api::{FreightOrigin, FreightReference, Warehouse};
use serde_json::Value as Json;

/// One step's outcome so far, for `success()`, `failure()` and `status()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepOutcome {
    pub alias: String,
    pub status: String,
    pub continue_on_error: bool,
}

/// Data the Kargo functions read. Every method has an empty default, so a caller implements
/// only what its evaluation site offers (verification args have no step outcomes, say).
pub trait Resolver: Sync {
    /// The project evaluation happens in (for messages).
    fn project(&self) -> String {
        String::new()
    }
    /// The origins the Stage requests, in order (`requestedFreight[].origin`).
    fn requested_origins(&self) -> Vec<FreightOrigin> {
        Vec::new()
    }
    /// A Warehouse of the project, for matching subscriptions.
    fn warehouse(&self, _name: &str) -> Option<Warehouse> {
        None
    }
    /// The Freight collection being promoted (or verified).
    fn freight_collection(&self) -> Vec<FreightReference> {
        Vec::new()
    }
    fn freight_metadata(&self, _freight: &str) -> Option<BTreeMap<String, Json>> {
        None
    }
    fn stage_metadata(&self, _stage: &str) -> Option<BTreeMap<String, Json>> {
        None
    }
    /// ConfigMap data of the project; empty when there is none.
    fn config_map(&self, _name: &str) -> BTreeMap<String, String> {
        BTreeMap::new()
    }
    /// Secret data of the project (decoded); empty when there is none.
    fn secret(&self, _name: &str) -> BTreeMap<String, String> {
        BTreeMap::new()
    }
    fn shared_config_map(&self, _name: &str) -> BTreeMap<String, String> {
        BTreeMap::new()
    }
    /// Shared Secrets, only those labelled `kargo.akuity.io/cred-type: generic`.
    fn shared_secret(&self, _name: &str) -> BTreeMap<String, String> {
        BTreeMap::new()
    }
    /// Outcomes of the steps before the current one.
    fn step_outcomes(&self) -> Vec<StepOutcome> {
        Vec::new()
    }
    /// The alias of the step being evaluated (for `status()` inside tasks).
    fn current_step_alias(&self) -> Option<String> {
        None
    }
}

/// A resolver with nothing to offer.
pub struct NoData;

impl Resolver for NoData {}
