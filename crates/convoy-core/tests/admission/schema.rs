//! Every `required`, `minItems` and enum of Kargo's CRD schemas (reference §1), each enforced
//! when a manifest is read and admitted: a table of (document, field path, words of the error).
//! The paths and constraints come from the reference, one row per constraint.

use convoy_api::Resource;
use convoy_api::yaml::parse_documents;
use convoy_core::{Operation, admit};

use super::{FixedEnv, WAREHOUSE, world};

/// The errors of one document, read leniently as a manifest is and admitted against a world
/// holding project `p` and Warehouse `w`: (path, message).
fn errors_of(yaml: &str) -> Vec<(String, String)> {
    let value = parse_documents(yaml).expect("valid YAML").remove(0).value;
    let resource = match Resource::read(&value) {
        Ok(Some(read)) => read.resource,
        Ok(None) => panic!("not a kind Convoy manages"),
        Err(errors) => return errors.into_iter().map(|e| (e.path, e.message)).collect(),
    };
    match admit(resource, Operation::Create, &world(WAREHOUSE), &mut FixedEnv::default()) {
        Ok(_) => Vec::new(),
        Err(problems) => problems.into_iter().filter(|p| p.is_error()).map(|p| (p.path, p.message)).collect(),
    }
}

const KARGO: &str = "apiVersion: kargo.akuity.io/v1alpha1";

fn stage(spec: &str) -> String {
    format!("{KARGO}\nkind: Stage\nmetadata: {{name: s, namespace: p}}\nspec:\n{spec}")
}

fn warehouse(spec: &str) -> String {
    format!("{KARGO}\nkind: Warehouse\nmetadata: {{name: w2, namespace: p}}\nspec:\n{spec}")
}

const REQUEST: &str = "  requestedFreight:\n  - origin: {kind: Warehouse, name: w}\n    sources: {direct: true}\n";

fn with_steps(steps: &str) -> String {
    stage(&format!("{REQUEST}  promotionTemplate:\n    spec:\n      steps:\n{steps}"))
}

fn task(steps: &str) -> String {
    format!("{KARGO}\nkind: PromotionTask\nmetadata: {{name: t, namespace: p}}\nspec:\n  steps:\n{steps}")
}

#[test]
fn every_required_field_min_items_and_enum_is_enforced() {
    let cases: Vec<(&str, String, &str, &str)> = vec![
        // Warehouse (§1.5)
        ("subscriptions minItems 1", warehouse("  subscriptions: []\n"), "spec.subscriptions", "at least 1"),
        (
            "git repoURL required",
            warehouse("  subscriptions:\n  - git: {branch: main}\n"),
            "spec.subscriptions[0].git.repoURL",
            "required",
        ),
        (
            "image repoURL required",
            warehouse("  subscriptions:\n  - image: {constraint: ^1}\n"),
            "spec.subscriptions[0].image.repoURL",
            "required",
        ),
        (
            "chart repoURL required",
            warehouse("  subscriptions:\n  - chart: {name: c}\n"),
            "spec.subscriptions[0].chart.repoURL",
            "required",
        ),
        (
            "freightCreationPolicy enum",
            warehouse("  freightCreationPolicy: Sometimes\n  subscriptions:\n  - image: {repoURL: ghcr.io/a/b}\n"),
            "spec.freightCreationPolicy",
            "Unsupported value: \"Sometimes\"",
        ),
        (
            "commitSelectionStrategy enum",
            warehouse("  subscriptions:\n  - git: {repoURL: 'https://g/r.git', commitSelectionStrategy: Newest}\n"),
            "spec.subscriptions[0].git.commitSelectionStrategy",
            "Unsupported value: \"Newest\"",
        ),
        (
            "imageSelectionStrategy enum",
            warehouse("  subscriptions:\n  - image: {repoURL: ghcr.io/a/b, imageSelectionStrategy: Latest}\n"),
            "spec.subscriptions[0].image.imageSelectionStrategy",
            "Unsupported value: \"Latest\"",
        ),
        (
            // 0 is Go's zero value, defaulted to 20 by Kargo's webhook (subscriptions are raw JSON).
            "discoveryLimit minimum 1",
            warehouse("  subscriptions:\n  - image: {repoURL: ghcr.io/a/b, discoveryLimit: -1}\n"),
            "spec.subscriptions[0].image.discoveryLimit",
            "must be >= 1",
        ),
        (
            "discoveryLimit maximum 100",
            warehouse("  subscriptions:\n  - chart: {repoURL: 'oci://r/c', discoveryLimit: 101}\n"),
            "spec.subscriptions[0].chart.discoveryLimit",
            "must be <= 100",
        ),
        (
            "interval pattern",
            warehouse("  interval: 5 minutes\n  subscriptions:\n  - image: {repoURL: ghcr.io/a/b}\n"),
            "spec.interval",
            "",
        ),
        // Stage (§1.7)
        ("requestedFreight minItems 1", stage("  requestedFreight: []\n"), "spec.requestedFreight", "at least 1"),
        (
            "origin required",
            stage("  requestedFreight:\n  - sources: {direct: true}\n"),
            "spec.requestedFreight[0].origin",
            "required",
        ),
        (
            "sources required",
            stage("  requestedFreight:\n  - origin: {kind: Warehouse, name: w}\n"),
            "spec.requestedFreight[0].sources",
            "required",
        ),
        (
            "origin kind enum",
            stage("  requestedFreight:\n  - origin: {kind: Stage, name: w}\n    sources: {direct: true}\n"),
            "spec.requestedFreight[0].origin.kind",
            "Unsupported value: \"Stage\"",
        ),
        (
            "origin name required",
            stage("  requestedFreight:\n  - origin: {kind: Warehouse}\n    sources: {direct: true}\n"),
            "spec.requestedFreight[0].origin.name",
            "required",
        ),
        (
            "availabilityStrategy enum",
            stage(
                "  requestedFreight:\n  - origin: {kind: Warehouse, name: w}\n    sources: {direct: true, availabilityStrategy: Some}\n",
            ),
            "spec.requestedFreight[0].sources.availabilityStrategy",
            "Unsupported value: \"Some\"",
        ),
        (
            "selectionPolicy enum",
            stage(
                "  requestedFreight:\n  - origin: {kind: Warehouse, name: w}\n    sources: {direct: true, autoPromotionOptions: {selectionPolicy: Oldest}}\n",
            ),
            "spec.requestedFreight[0].sources.autoPromotionOptions.selectionPolicy",
            "Unsupported value: \"Oldest\"",
        ),
        (
            "template steps minItems 1",
            stage(&format!("{REQUEST}  promotionTemplate:\n    spec:\n      steps: []\n")),
            "spec.promotionTemplate.spec.steps",
            "at least 1",
        ),
        (
            "step: exactly one of uses and task",
            with_steps("      - as: nothing\n"),
            "spec.promotionTemplate.spec.steps[0]",
            "",
        ),
        (
            "task name required",
            with_steps("      - task: {kind: PromotionTask}\n"),
            "spec.promotionTemplate.spec.steps[0].task.name",
            "required",
        ),
        (
            "task kind enum",
            with_steps("      - task: {name: t, kind: Task}\n"),
            "spec.promotionTemplate.spec.steps[0].task.kind",
            "Unsupported value: \"Task\"",
        ),
        ("uses minLength 1", with_steps("      - uses: ''\n"), "spec.promotionTemplate.spec.steps[0].uses", ""),
        (
            "analysisTemplates name required",
            stage(&format!("{REQUEST}  verification:\n    analysisTemplates:\n    - kind: AnalysisTemplate\n")),
            "spec.verification.analysisTemplates[0].name",
            "required",
        ),
        (
            "analysisTemplates kind enum",
            stage(&format!("{REQUEST}  verification:\n    analysisTemplates:\n    - {{name: a, kind: Template}}\n")),
            "spec.verification.analysisTemplates[0].kind",
            "Unsupported value: \"Template\"",
        ),
        ("var name required", stage(&format!("  vars:\n  - value: x\n{REQUEST}")), "spec.vars[0].name", ""),
        // Freight (§1.6)
        (
            "Freight origin required",
            format!(
                "{KARGO}\nkind: Freight\nmetadata: {{namespace: p}}\nimages: [{{repoURL: ghcr.io/a/b, tag: '1'}}]\n"
            ),
            "origin",
            "",
        ),
        (
            "Freight origin kind enum",
            format!(
                "{KARGO}\nkind: Freight\nmetadata: {{namespace: p}}\norigin: {{kind: Stage, name: w}}\nimages: [{{repoURL: ghcr.io/a/b, tag: '1'}}]\n"
            ),
            "origin.kind",
            "Unsupported value: \"Stage\"",
        ),
        // Promotion (§1.8)
        (
            "Promotion stage required",
            format!("{KARGO}\nkind: Promotion\nmetadata: {{name: x, namespace: p}}\nspec: {{freight: abc}}\n"),
            "spec.stage",
            "",
        ),
        // PromotionTask (§1.10)
        (
            "PromotionTask steps minItems 1",
            task("  []\n").replace("steps:\n  []", "steps: []"),
            "spec.steps",
            "at least 1",
        ),
        (
            "PromotionTask step must use a kind",
            task("  - task: {name: other}\n"),
            "spec.steps[0]",
            "PromotionTask step must have uses set and must not reference another task",
        ),
    ];
    let mut failures = Vec::new();
    for (name, yaml, path, words) in &cases {
        let errors = errors_of(yaml);
        let hit = errors.iter().any(|(p, m)| (p == path || p.starts_with(&format!("{path}."))) && m.contains(words));
        if !hit {
            failures.push(format!("{name}: expected an error at {path} containing {words:?}; got {errors:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} constraints not enforced:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
