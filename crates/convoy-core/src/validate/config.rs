//! ProjectConfig and ClusterConfig.

use std::collections::HashMap;

use convoy_api::project::{PromotionWindow, WebhookReceiverConfig};
use convoy_api::{ClusterConfig, FieldPath, ProjectConfig};

use crate::problem::Problems;

pub(crate) fn validate_project_config(config: &ProjectConfig, problems: &mut Problems) {
    let (name, project) = (config.metadata.name(), config.metadata.namespace());
    if !project.is_empty() && name != project {
        problems
            .error("metadata.name", format!("name {name:?} must match project name {project:?}"))
            .with_hint(format!("a project has one ProjectConfig, named after the project: {project}"));
    }
    let spec = FieldPath::root("spec");
    let policies = spec.child("promotionPolicies");
    let mut exact: HashMap<&str, FieldPath> = HashMap::new();
    for (i, policy) in config.spec.promotion_policies.iter().enumerate() {
        let path = policies.index(i);
        if policy.stage.is_some() == policy.stage_selector.is_some() {
            problems
                .error(path.to_string(), "PromotionPolicy must have exactly one of stage or stageSelector set")
                .with_hint("use stageSelector: {name: ...} (stage is deprecated)");
        }
        let selector_name = policy.stage_selector.as_ref().and_then(|s| s.name.as_deref());
        let name_path =
            if policy.stage.is_some() { path.child("stage") } else { path.child("stageSelector").child("name") };
        let Some(stage_name) = policy.stage.as_deref().or(selector_name) else { continue };
        match stage_name.split_once(':') {
            Some((kind, pattern)) => check_pattern(&name_path, kind, pattern, problems),
            None => {
                if let Some(first) = exact.get(stage_name) {
                    problems.error(name_path.to_string(), format!("stage name already defined at {first}"));
                } else {
                    exact.insert(stage_name, name_path);
                }
            }
        }
    }
    validate_receivers(&spec.child("webhookReceivers"), &config.spec.webhook_receivers, problems);
    validate_windows(&spec.child("promotionWindows"), &config.spec.promotion_windows, false, problems);
}

fn check_pattern(path: &FieldPath, kind: &str, pattern: &str, problems: &mut Problems) {
    match kind {
        "regex" | "regexp" => {
            if let Err(e) = regex::Regex::new(pattern) {
                let why = e.to_string().lines().last().unwrap_or("").trim().to_owned();
                problems.error(path.to_string(), format!("invalid regular expression: {why}"));
            }
        }
        "glob" => {}
        other => {
            problems
                .error(
                    path.to_string(),
                    format!("invalid pattern identifier {other:?}: must be \"regex\", \"regexp\" or \"glob\""),
                )
                .with_hint("write glob:PATTERN, regex:PATTERN or an exact Stage name");
        }
    }
}

pub(crate) fn validate_cluster_config(config: &ClusterConfig, problems: &mut Problems) {
    let name = config.metadata.name();
    if name != "cluster" {
        problems
            .error("metadata.name", format!("name {name:?} must be \"cluster\""))
            .with_hint("there is one ClusterConfig, named cluster");
    }
    let spec = FieldPath::root("spec");
    validate_receivers(&spec.child("webhookReceivers"), &config.spec.webhook_receivers, problems);
    validate_windows(&spec.child("promotionWindows"), &config.spec.promotion_windows, true, problems);
}

/// Names unique and DNS-like, selectors readable, times and recurrence parseable.
fn validate_windows(path: &FieldPath, windows: &[PromotionWindow], cluster: bool, problems: &mut Problems) {
    let mut names: HashMap<&str, FieldPath> = HashMap::new();
    for (i, window) in windows.iter().enumerate() {
        let item = path.index(i);
        let name_ok = !window.name.is_empty()
            && window.name.len() <= 253
            && window.name.split('.').all(|part| {
                !part.is_empty()
                    && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    && !part.starts_with('-')
                    && !part.ends_with('-')
            });
        if !name_ok {
            problems
                .error(item.child("name").to_string(), format!("window name {:?} is not a valid name", window.name))
                .with_hint("lower-case letters, digits, '-' and '.', e.g. holiday-freeze");
        } else if let Some(first) = names.get(window.name.as_str()) {
            problems.error(item.child("name").to_string(), format!("window name already defined at {first}"));
        } else {
            names.insert(&window.name, item.child("name"));
        }
        if window.project_selector.is_some() && !cluster {
            problems
                .error(item.child("projectSelector").to_string(), "projectSelector is only allowed in a ClusterConfig")
                .with_hint("a ProjectConfig's windows apply to its own project; remove projectSelector");
        }
        for (field, selector) in
            [("stageSelector", &window.stage_selector), ("projectSelector", &window.project_selector)]
        {
            if let Some((kind, pattern)) =
                selector.as_ref().and_then(|s| s.name.as_deref()).and_then(|n| n.split_once(':'))
            {
                check_pattern(&item.child(field).child("name"), kind, pattern, problems);
            }
        }
        if let Err(e) = crate::windows::Window::compile(window) {
            problems.error(item.child(e.field).to_string(), e.message).with_hint(match e.field {
                "rrule" => "an RFC 5545 rule such as FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
                "kind" => "Deny freezes promotions while active; Allow permits them only while active",
                _ => "an iCal time such as 20261224T000000Z or TZID=Europe/Berlin:20261224T000000",
            });
        }
    }
}

fn validate_receivers(path: &FieldPath, receivers: &[WebhookReceiverConfig], problems: &mut Problems) {
    let mut names: HashMap<&str, FieldPath> = HashMap::new();
    for (i, receiver) in receivers.iter().enumerate() {
        let item = path.index(i);
        let types = receiver.providers();
        if types.len() > 1 {
            problems
                .error(
                    item.to_string(),
                    format!(
                        "cannot define a receiver that is of more than one type, found {}: {}",
                        types.len(),
                        types.join(", ")
                    ),
                )
                .with_hint("split it into one receiver per provider");
        } else if types.is_empty() {
            problems.error(item.to_string(), "receiver must be of one type").with_hint(
                "add one of github, gitlab, bitbucket, dockerhub, harbor, quay, artifactory, azure, gitea or generic",
            );
        }
        if let Some(first) = names.get(receiver.name.as_str()) {
            problems.error(item.child("name").to_string(), format!("webhook receiver name already defined at {first}"));
        } else {
            names.insert(&receiver.name, item.child("name"));
        }
        if let Some(generic) = &receiver.generic {
            for (a, action) in generic.actions.iter().enumerate() {
                for (t, target) in action.target_selection_criteria.iter().enumerate() {
                    if target.name.is_none() && target.label_selector.is_none() && target.index_selector.is_none() {
                        let p =
                            item.child("generic").child("actions").index(a).child("targetSelectionCriteria").index(t);
                        problems.error(
                            p.to_string(),
                            "at least one of name, labelSelector, or indexSelector must be specified for target",
                        );
                    }
                }
            }
        }
    }
}
