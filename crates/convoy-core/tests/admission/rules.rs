//! Validation rules of reference §2.5 and the schema rules of §1, each with Kargo's message.

use super::*;

fn stage(spec: &str) -> String {
    format!("apiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\nmetadata: {{name: s, namespace: p}}\nspec:\n{spec}")
}

fn warehouse(subscriptions: &str) -> String {
    format!(
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\nmetadata: {{name: w, namespace: p}}\nspec:\n  subscriptions:\n{subscriptions}"
    )
}

const DIRECT: &str = "  requestedFreight:\n  - origin: {kind: Warehouse, name: w}\n    sources: {direct: true}\n";

fn template(steps: &str) -> String {
    format!("{DIRECT}  promotionTemplate:\n    spec:\n      steps:\n{steps}")
}

// ---- Stage -------------------------------------------------------------------------------

/// Kargo admits a Stage whose Warehouse is missing and fails only when Freight is looked for;
/// Convoy refuses it at apply (complete view) and warns in lint (some files only).
#[test]
fn stage_origin_warehouse_must_exist_when_applied() {
    let p = problems_of(&stage(DIRECT), "");
    assert_error(&p, "spec.requestedFreight[0].origin.name", "Warehouse \"w\" not found in project \"p\"");
    let mut partial = Catalog::partial();
    partial.insert(one("apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata: {name: p}\n"));
    let p = match admit(one(&stage(DIRECT)), Operation::Create, &partial, &mut FixedEnv::default()) {
        Ok(admitted) => admitted.warnings,
        Err(problems) => problems,
    };
    let warning = p.iter().find(|p| p.path == "spec.requestedFreight[0].origin.name").expect("a finding");
    assert!(!warning.is_error() && warning.message.contains("Kargo would find it only at run time"), "{warning:?}");
    assert!(problems_of(&stage(DIRECT), WAREHOUSE).iter().all(|p| p.path != "spec.requestedFreight[0].origin.name"));
}

#[test]
fn stage_duplicate_origin() {
    let spec = "  requestedFreight:\n  - origin: {kind: Warehouse, name: w}\n    sources: {direct: true}\n  - origin: {kind: Warehouse, name: w}\n    sources: {direct: true}\n";
    assert_error(
        &problems_of(&stage(spec), WAREHOUSE),
        "spec.requestedFreight",
        "freight with origin Warehouse/w requested multiple times in spec.requestedFreight",
    );
}

#[test]
fn stage_match_upstream_rules() {
    let direct = "  requestedFreight:\n  - origin: {kind: Warehouse, name: w}\n    sources:\n      direct: true\n      stages: [a]\n      autoPromotionOptions: {selectionPolicy: MatchUpstream}\n";
    let p = problems_of(&stage(direct), WAREHOUSE);
    assert_error(
        &p,
        "spec.requestedFreight[0].sources.autoPromotionOptions.selectionPolicy",
        "selection policy 'MatchUpstream' cannot be used when accepting Freight directly from its origin",
    );
    let two = "  requestedFreight:\n  - origin: {kind: Warehouse, name: w}\n    sources:\n      stages: [a, b]\n      autoPromotionOptions: {selectionPolicy: MatchUpstream}\n";
    assert_error(
        &problems_of(&stage(two), WAREHOUSE),
        "spec.requestedFreight[0].sources.autoPromotionOptions.selectionPolicy",
        "selection policy 'MatchUpstream' requires exactly one upstream Stage to be specified",
    );
}

#[test]
fn stage_reserved_and_duplicate_aliases() {
    let p = problems_of(
        &stage(&template("      - uses: fail\n        as: step-1\n      - uses: fail\n        as: task-12\n")),
        WAREHOUSE,
    );
    assert_error(&p, "spec.promotionTemplate.spec.steps[0].as", "step alias is reserved");
    assert_error(&p, "spec.promotionTemplate.spec.steps[1].as", "step alias is reserved");
    let p = problems_of(
        &stage(&template("      - uses: fail\n        as: x\n      - uses: fail\n        as: ' x '\n")),
        WAREHOUSE,
    );
    assert_error(
        &p,
        "spec.promotionTemplate.spec.steps[1].as",
        "step alias duplicates that of spec.promotionTemplate.spec.steps[0]",
    );
    // step-1x is not reserved
    let p = problems_of(&stage(&template("      - uses: fail\n        as: step-1x\n")), WAREHOUSE);
    assert!(p.iter().all(|p| !p.is_error()), "{p:?}");
}

#[test]
fn stage_task_step_cannot_have_if_or_config() {
    let steps = "      - task: {name: promote}\n        if: ${{ true }}\n        config: {a: 1}\n        vars: [{name: image, value: x}]\n";
    let p = problems_of(&stage(&template(steps)), &format!("{WAREHOUSE}---{TASK}"));
    assert_error(
        &p,
        "spec.promotionTemplate.spec.steps[0].if",
        "PromotionTemplate step referencing a task cannot have an 'if' condition",
    );
    assert_error(
        &p,
        "spec.promotionTemplate.spec.steps[0].config",
        "PromotionTemplate step referencing a task cannot have a config",
    );
}

#[test]
fn stage_step_needs_exactly_one_of_uses_or_task() {
    let p = problems_of(
        &stage(&template("      - as: nothing\n      - uses: fail\n        task: {name: promote}\n")),
        &format!("{WAREHOUSE}---{TASK}"),
    );
    assert_error(&p, "spec.promotionTemplate.spec.steps[0]", "step must set exactly one of uses or task");
    assert_error(&p, "spec.promotionTemplate.spec.steps[1]", "step must set exactly one of uses or task");
}

#[test]
fn stage_task_step_cannot_retry_or_continue() {
    let steps = "      - task: {name: promote}\n        continueOnError: true\n        retry: {errorThreshold: 3}\n        vars: [{name: image, value: x}]\n";
    let p = problems_of(&stage(&template(steps)), &format!("{WAREHOUSE}---{TASK}"));
    assert_error(
        &p,
        "spec.promotionTemplate.spec.steps[0].continueOnError",
        "a step referencing a task cannot set continueOnError",
    );
    assert_error(&p, "spec.promotionTemplate.spec.steps[0].retry", "a step referencing a task cannot set retry");
}

#[test]
fn stage_missing_task_is_rejected_at_write() {
    let p = problems_of(&stage(&template("      - task: {name: promte}\n")), &format!("{WAREHOUSE}---{TASK}"));
    assert_error(
        &p,
        "spec.promotionTemplate.spec.steps[0].task.name",
        "PromotionTask \"promte\" not found in project \"p\"",
    );
    let hint = p.iter().find(|p| p.path.ends_with("task.name")).unwrap().hint.clone();
    assert_eq!(hint.as_deref(), Some("did you mean \"promote\"?"));
    let p = problems_of(
        &stage(&template("      - task: {name: promote, kind: ClusterPromotionTask}\n")),
        &format!("{WAREHOUSE}---{TASK}"),
    );
    assert_error(&p, "spec.promotionTemplate.spec.steps[0].task.name", "ClusterPromotionTask \"promote\" not found");
}

#[test]
fn stage_unknown_task_kind() {
    let p =
        problems_of(&stage(&template("      - task: {name: promote, kind: Task}\n")), &format!("{WAREHOUSE}---{TASK}"));
    assert_error(
        &p,
        "spec.promotionTemplate.spec.steps[0].task.kind",
        "Unsupported value: \"Task\": supported values: \"PromotionTask\", \"ClusterPromotionTask\"",
    );
}

#[test]
fn stage_required_task_var_must_be_set() {
    let p = problems_of(&stage(&template("      - task: {name: promote}\n")), &format!("{WAREHOUSE}---{TASK}"));
    assert_error(
        &p,
        "spec.promotionTemplate.spec.steps[0]",
        "missing value for variable \"image\" required by task \"promote\"",
    );
    // satisfied by a Stage var, a template var or the step's own vars
    for spec in [
        format!("  vars: [{{name: image, value: a}}]\n{}", template("      - task: {name: promote}\n")),
        template("      - task: {name: promote}\n        vars: [{name: image, value: a}]\n"),
        format!(
            "{DIRECT}  promotionTemplate:\n    spec:\n      vars: [{{name: image, value: a}}]\n      steps:\n      - task: {{name: promote}}\n"
        ),
    ] {
        let p = problems_of(&stage(&spec), &format!("{WAREHOUSE}---{TASK}"));
        assert!(p.iter().all(|p| !p.is_error()), "{spec}\n{p:#?}");
    }
}

#[test]
fn stage_step_kinds() {
    let p = problems_of(
        &stage(&template("      - uses: git-clon\n      - uses: helm-template\n      - uses: git-clone\n")),
        WAREHOUSE,
    );
    assert!(!p.iter().any(|p| p.path.contains("steps[2]")), "git-clone runs: {p:#?}");
    assert_error(&p, "spec.promotionTemplate.spec.steps[0].uses", "unknown step kind \"git-clon\"");
    assert_eq!(p[0].hint.as_deref(), Some("did you mean \"git-clone\"?"));
    assert!(!p.iter().any(|p| p.path.contains("steps[1]")), "helm-template runs: {p:#?}");
}

#[test]
fn stage_requested_freight_rules() {
    let p = problems_of(&stage("  requestedFreight: []\n"), WAREHOUSE);
    assert_error(&p, "spec.requestedFreight", "must have at least 1 item");
    let bad = "  requestedFreight:\n  - origin: {kind: Stage, name: w}\n    sources: {stages: [up], requiredSoakTime: 1d, availabilityStrategy: Any}\n";
    let p = problems_of(&stage(bad), WAREHOUSE);
    assert_error(
        &p,
        "spec.requestedFreight[0].origin.kind",
        "Unsupported value: \"Stage\": supported values: \"Warehouse\"",
    );
    assert_error(
        &p,
        "spec.requestedFreight[0].sources.requiredSoakTime",
        "\"1d\" is not a duration; use a number with a unit s, m or h, e.g. 5m0s or 1h30m",
    );
    assert_error(
        &p,
        "spec.requestedFreight[0].sources.availabilityStrategy",
        "Unsupported value: \"Any\": supported values: \"All\", \"OneOf\"",
    );
    assert_warning(
        &p,
        "spec.requestedFreight[0].sources.stages[0]",
        "upstream Stage \"up\" not found in project \"p\"",
    );
}

#[test]
fn stage_var_names() {
    let p = problems_of(
        &stage(&format!("  vars: [{{name: 1x, value: a}}, {{name: ok_1, value: b}}]\n{DIRECT}")),
        WAREHOUSE,
    );
    assert_error(&p, "spec.vars[0].name", "Invalid value: \"1x\": should match '^[a-zA-Z_]\\w*$'");
    assert_eq!(p.iter().filter(|p| p.is_error()).count(), 1, "{p:#?}");
}

// ---- Warehouse ---------------------------------------------------------------------------

#[test]
fn warehouse_git_rules() {
    let p = problems_of(
        &warehouse(
            "  - git: {repoURL: 'not a url', branch: '-bad', commitSelectionStrategy: Newest, semverConstraint: '>=1.0.0 <', discoveryLimit: 101}\n",
        ),
        "",
    );
    assert_error(&p, "spec.subscriptions[0].git.repoURL", "must be a valid Git repository URL");
    assert_error(&p, "spec.subscriptions[0].git.branch", "must be a valid branch name");
    assert_error(
        &p,
        "spec.subscriptions[0].git.commitSelectionStrategy",
        "Unsupported value: \"Newest\": supported values: \"Lexical\", \"NewestFromBranch\", \"NewestTag\", \"SemVer\"",
    );
    assert_error(&p, "spec.subscriptions[0].git.semverConstraint", "improper constraint: >=1.0.0 <");
    assert_error(&p, "spec.subscriptions[0].git.discoveryLimit", "must be <= 100");
    let p = problems_of(
        &warehouse("  - git: {repoURL: 'https://github.com/a/b', discoveryLimit: -1, branch: 'release/1.x'}\n"),
        "",
    );
    assert_error(&p, "spec.subscriptions[0].git.discoveryLimit", "must be >= 1");
    assert!(!p.iter().any(|p| p.path.ends_with("branch")));
}

#[test]
fn warehouse_git_url_forms() {
    for ok in ["https://github.com/a/b.git", "http://127.0.0.1:8080/a.git", "file:///srv/git/app.git"] {
        let p = problems_of(&warehouse(&format!("  - git: {{repoURL: '{ok}'}}\n")), "");
        assert!(p.is_empty(), "{ok}: {p:#?}");
    }
    for ssh in ["git@github.com:a/b.git", "ssh://git@github.com/a/b.git"] {
        let p = problems_of(&warehouse(&format!("  - git: {{repoURL: '{ssh}'}}\n")), "");
        assert_warning(
            &p,
            "spec.subscriptions[0].git.repoURL",
            "SSH URLs are deprecated by Kargo since v1.10 and removed in v1.13",
        );
    }
}

#[test]
fn warehouse_image_rules() {
    let p = problems_of(
        &warehouse("  - image: {repoURL: 'https://ghcr.io/a/b', platform: linux, imageSelectionStrategy: Digest}\n"),
        "",
    );
    assert_error(&p, "spec.subscriptions[0].image.repoURL", "must be a valid image repository URL");
    assert_error(&p, "spec.subscriptions[0].image.platform", "must be in format <os>/<arch>");
    assert_error(&p, "spec.subscriptions[0].image.constraint", "must be set when imageSelectionStrategy is Digest");
    // Kargo parses an OCI platform: os/arch, with an optional variant.
    for (platform, valid) in
        [("linux/arm64/v8", true), ("linux/amd64", true), ("linux/arm64/v8/x", false), ("linux//v8", false)]
    {
        let p = problems_of(&warehouse(&format!("  - image: {{repoURL: ghcr.io/a/b, platform: {platform}}}\n")), "");
        let flagged = p.iter().any(|p| p.path == "spec.subscriptions[0].image.platform");
        assert_eq!(flagged, !valid, "{platform}: {p:?}");
    }
    let p = problems_of(
        &warehouse("  - image: {repoURL: ghcr.io/a/b, constraint: '^1.x.y', allowTags: '^v', ignoreTags: [latest]}\n"),
        "",
    );
    assert_error(&p, "spec.subscriptions[0].image.constraint", "improper constraint: ^1.x.y");
    assert_error(
        &p,
        "spec.subscriptions[0].image.allowTags",
        "AllowTags is deprecated and unsupported as of v1.11.0; use AllowTagsRegexes instead",
    );
    assert_error(
        &p,
        "spec.subscriptions[0].image.ignoreTags",
        "IgnoreTags is deprecated and unsupported as of v1.11.0; use IgnoreTagsRegexes instead",
    );
    let p = problems_of(
        &warehouse("  - image: {repoURL: 'localhost:5000/team/app', platform: linux/arm64, allowTagsRegexes: ['(']}\n"),
        "",
    );
    assert_eq!(p.len(), 1, "{p:#?}");
    assert!(p[0].message.starts_with("invalid regular expression"), "{p:#?}");
}

#[test]
fn warehouse_chart_rules() {
    let p = problems_of(
        &warehouse(
            "  - chart: {repoURL: 'ftp://charts', name: x}\n  - chart: {repoURL: 'oci://ghcr.io/a/chart', name: chart}\n  - chart: {repoURL: 'https://charts.example.com'}\n",
        ),
        "",
    );
    assert_error(&p, "spec.subscriptions[0].chart.repoURL", "must be a valid Helm repository URL");
    assert_error(&p, "spec.subscriptions[1].chart.name", "must be empty if repoURL starts with oci://");
    assert_error(
        &p,
        "spec.subscriptions[2].chart.name",
        "must be non-empty if repoURL starts with http:// or https://",
    );
}

#[test]
fn warehouse_duplicate_subscriptions() {
    let subs = "  - git: {repoURL: 'https://github.com/A/b.git'}\n  - git: {repoURL: 'https://github.com/a/b'}\n  - image: {repoURL: ghcr.io/a/b}\n  - image: {repoURL: ghcr.io/a/b}\n  - chart: {repoURL: 'https://c.example.com', name: n}\n  - chart: {repoURL: 'https://c.example.com/', name: n}\n  - chart: {repoURL: 'oci://ghcr.io/x/c'}\n  - chart: {repoURL: 'oci://GHCR.io/x/c'}\n  - feed: {name: f}\n  - feed: {name: f}\n";
    let p = problems_of(&warehouse(subs), "");
    assert_error(
        &p,
        "spec.subscriptions[1].git",
        "subscription for Git repository already exists at \"spec.subscriptions[0].git\"",
    );
    assert_error(
        &p,
        "spec.subscriptions[3].image",
        "subscription for image repository already exists at \"spec.subscriptions[2].image\"",
    );
    assert_error(
        &p,
        "spec.subscriptions[5].chart",
        "subscription for chart \"n\" already exists at \"spec.subscriptions[4].chart\"",
    );
    assert_error(
        &p,
        "spec.subscriptions[7].chart",
        "subscription for chart already exists at \"spec.subscriptions[6].chart\"",
    );
    assert_error(
        &p,
        "spec.subscriptions[9].feed",
        "subscription with name \"f\" already exists at \"spec.subscriptions[8].feed\"",
    );
}

#[test]
fn warehouse_spec_rules() {
    let text = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\nmetadata: {name: w, namespace: p}\nspec:\n  interval: 5 minutes\n  freightCreationPolicy: Sometimes\n  subscriptions: []\n";
    let p = problems_of(text, "");
    assert_error(
        &p,
        "spec.interval",
        "\"5 minutes\" is not a duration; use a number with a unit s, m or h, e.g. 5m0s or 1h30m",
    );
    assert_error(
        &p,
        "spec.freightCreationPolicy",
        "Unsupported value: \"Sometimes\": supported values: \"Automatic\", \"Manual\"",
    );
    assert_error(&p, "spec.subscriptions", "must have at least 1 item");
    let p = problems_of(&warehouse("  - feed: {name: ''}\n"), "");
    assert_error(&p, "spec.subscriptions[0].feed.name", "must be at least 1 character long");
}

// ---- Freight -----------------------------------------------------------------------------

fn freight(body: &str) -> String {
    format!(
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Freight\nmetadata: {{name: x, namespace: p}}\norigin: {{kind: Warehouse, name: w}}\n{body}"
    )
}

const BOTH: &str = "images: [{repoURL: ghcr.io/example/app, tag: '1.0.0'}]\ncommits: [{repoURL: 'https://github.com/example/config', id: abc}]\n";

#[test]
fn freight_needs_artifacts() {
    assert_error(
        &problems_of(&freight(""), WAREHOUSE),
        "",
        "freight must contain at least one commit, image, or chart",
    );
}

#[test]
fn freight_alias_unique_in_project() {
    let existing = format!("{WAREHOUSE}---\n{}", freight(&format!("alias: taken\n{}", BOTH.replace("abc", "def"))));
    let p = problems_of(&freight(&format!("alias: taken\n{BOTH}")), &existing);
    assert_error(&p, "alias", "alias already used by another piece of Freight in namespace \"p\"");
}

#[test]
fn freight_warehouse_must_exist() {
    assert_error(&problems_of(&freight(BOTH), ""), "origin.name", "warehouse does not exist");
}

#[test]
fn freight_artifacts_match_subscriptions() {
    let p = problems_of(&freight("images: [{repoURL: ghcr.io/other/app, tag: '1'}]\n"), WAREHOUSE);
    assert_error(&p, "images[0]", "no subscription found for image repository in Warehouse \"w\"");
    assert_error(&p, "images", "no artifact found for subscription \"ghcr.io/example/app\" of Warehouse \"w\"");
    assert_error(
        &p,
        "commits",
        "no artifact found for subscription \"https://github.com/example/config\" of Warehouse \"w\"",
    );
    let two = "images: [{repoURL: ghcr.io/example/app, tag: '1'}, {repoURL: ghcr.io/example/app, tag: '2'}]\ncommits: [{repoURL: 'https://github.com/example/config.git', id: a}]\ncharts: [{repoURL: 'https://c.example.com', name: n, version: '1.0.0'}]\n";
    let p = problems_of(&freight(two), WAREHOUSE);
    assert_error(&p, "images", "multiple artifacts found for subscription \"ghcr.io/example/app\" of Warehouse \"w\"");
    assert_error(&p, "charts[0]", "no subscription found for Helm chart in Warehouse \"w\"");
    assert!(!p.iter().any(|p| p.path.starts_with("commits")), "normalised URLs match: {p:#?}");
    assert!(problems_of(&freight(BOTH), WAREHOUSE).is_empty());
}

#[test]
fn freight_is_immutable() {
    let world = world(WAREHOUSE);
    let old = admit(one(&freight(BOTH)), Operation::Create, &world, &mut FixedEnv::default()).unwrap().resource;
    let mut changed = old.clone();
    if let Resource::Freight(f) = &mut changed {
        f.images[0].tag = "2.0.0".into();
    }
    let p = admit(changed, Operation::Update { old: &old }, &world, &mut FixedEnv::default()).unwrap_err();
    assert_error(&p, "images", "Freight is immutable");
}

// ---- Promotion ---------------------------------------------------------------------------

fn promotion(spec: &str) -> String {
    format!(
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Promotion\nmetadata: {{generateName: promo-, namespace: p}}\nspec:\n{spec}"
    )
}

pub const PIPELINE: &str = "
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata: {name: dev, namespace: p}
spec:
  vars: [{name: image, value: ghcr.io/example/app}]
  requestedFreight:
  - origin: {kind: Warehouse, name: w}
    sources: {direct: true}
  promotionTemplate:
    spec:
      steps:
      - task: {name: promote}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata: {name: prod, namespace: p}
spec:
  requestedFreight:
  - origin: {kind: Warehouse, name: w}
    sources: {stages: [dev]}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata: {name: staging, namespace: p}
spec:
  requestedFreight:
  - origin: {kind: Warehouse, name: w}
    sources: {stages: [dev]}
  promotionTemplate:
    spec:
      steps:
      - uses: fail
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Freight
metadata: {name: f1, namespace: p}
origin: {kind: Warehouse, name: w}
images: [{repoURL: ghcr.io/example/app, tag: '1.0.0'}]
commits: [{repoURL: 'https://github.com/example/config', id: abc}]
";

fn pipeline() -> String {
    format!("{WAREHOUSE}---{TASK}---{PIPELINE}")
}

#[test]
fn promotion_stage_must_exist() {
    assert_error(
        &problems_of(&promotion("  stage: nope\n  freight: f1\n"), &pipeline()),
        "spec.stage",
        "could not find Stage \"nope\" in namespace \"p\"",
    );
}

#[test]
fn promotion_exactly_one_of_freight_or_origin() {
    let p = problems_of(&promotion("  stage: dev\n  freight: f1\n  origin: {kind: Warehouse, name: w}\n"), &pipeline());
    assert_error(&p, "spec", "exactly one of spec.freight or spec.origin must be set");
    let p = problems_of(&promotion("  stage: dev\n"), &pipeline());
    assert_error(&p, "spec", "exactly one of spec.freight or spec.origin must be set");
}

#[test]
fn promotion_to_control_flow_stage() {
    let p = problems_of(&promotion("  stage: prod\n  freight: f1\n"), &pipeline());
    assert_error(&p, "spec.stage", "Stage \"prod\" in namespace \"p\" defines no promotion steps");
}

#[test]
fn promotion_freight_must_be_available() {
    let p = problems_of(&promotion("  stage: staging\n  freight: f1\n"), &pipeline());
    assert_error(&p, "spec.freight", "Freight is not available to this Stage");
    let hint = p.iter().find(|p| p.path == "spec.freight").unwrap().hint.clone().unwrap();
    assert_eq!(hint, "not yet verified in upstream Stage(s) dev");
}

#[test]
fn promotion_origin_without_candidate() {
    let p = problems_of(&promotion("  stage: staging\n  origin: {kind: Warehouse, name: w}\n"), &pipeline());
    assert_error(
        &p,
        "spec.origin",
        "no auto-promotion candidate found for origin \"Warehouse/w\" on Stage \"staging\"",
    );
}

#[test]
fn promotion_missing_task_var() {
    let world = pipeline().replace("  vars: [{name: image, value: ghcr.io/example/app}]\n", "");
    let p = problems_of(&promotion("  stage: dev\n  freight: f1\n"), &world);
    assert_error(
        &p,
        "spec.steps",
        "failed to inflate Promotion steps: inflate task steps for task \"promote\" (\"task-1\"): missing value for variable \"image\"",
    );
}

#[test]
fn promotion_spec_is_immutable() {
    let world = world(&pipeline());
    let created =
        admit(one(&promotion("  stage: dev\n  freight: f1\n")), Operation::Create, &world, &mut FixedEnv::default())
            .unwrap()
            .resource;
    let mut changed = created.clone();
    if let Resource::Promotion(p) = &mut changed {
        p.spec.steps.pop();
    }
    let p = admit(changed, Operation::Update { old: &created }, &world, &mut FixedEnv::default()).unwrap_err();
    assert_error(&p, "spec", "spec is immutable");
}

// ---- PromotionTask -----------------------------------------------------------------------

#[test]
fn task_steps_cannot_reference_tasks() {
    for kind in ["PromotionTask", "ClusterPromotionTask"] {
        let ns = if kind == "PromotionTask" { ", namespace: p" } else { "" };
        let text = format!(
            "apiVersion: kargo.akuity.io/v1alpha1\nkind: {kind}\nmetadata: {{name: t{ns}}}\nspec:\n  steps:\n  - task: {{name: other}}\n  - as: step-2\n    uses: fail\n"
        );
        let p = problems_of(&text, "");
        assert_error(&p, "spec.steps[0]", "PromotionTask step must have uses set and must not reference another task");
        assert_error(&p, "spec.steps[1].as", "step alias is reserved");
    }
    let empty = "apiVersion: kargo.akuity.io/v1alpha1\nkind: PromotionTask\nmetadata: {name: t, namespace: p}\nspec: {steps: []}\n";
    assert_error(&problems_of(empty, ""), "spec.steps", "must have at least 1 item");
}

// ---- ProjectConfig / ClusterConfig -------------------------------------------------------

fn project_config(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: ProjectConfig\nmetadata: {{name: {name}, namespace: p}}\nspec:\n{spec}"
    )
}

#[test]
fn project_config_rules() {
    let p = problems_of(&project_config("other", "  promotionPolicies: []\n"), "");
    assert_error(&p, "metadata.name", "name \"other\" must match project name \"p\"");
    let policies = "  promotionPolicies:\n  - stage: a\n    stageSelector: {name: a}\n  - stageSelector: {name: 'foo:bar'}\n  - stageSelector: {name: dev}\n  - stageSelector: {name: dev}\n  - stageSelector: {name: 'regex:('}\n  - stageSelector: {name: 'glob:prod-*'}\n";
    let p = problems_of(&project_config("p", policies), "");
    assert_error(
        &p,
        "spec.promotionPolicies[0]",
        "PromotionPolicy must have exactly one of stage or stageSelector set",
    );
    assert_error(
        &p,
        "spec.promotionPolicies[1].stageSelector.name",
        "invalid pattern identifier \"foo\": must be \"regex\", \"regexp\" or \"glob\"",
    );
    assert_error(
        &p,
        "spec.promotionPolicies[3].stageSelector.name",
        "stage name already defined at spec.promotionPolicies[2].stageSelector.name",
    );
    assert!(p.iter().any(|p| p.path == "spec.promotionPolicies[4].stageSelector.name"
        && p.message.starts_with("invalid regular expression")));
    assert!(!p.iter().any(|p| p.path.starts_with("spec.promotionPolicies[5]")));
}

#[test]
fn webhook_receiver_rules() {
    let receivers = "  webhookReceivers:\n  - name: r\n    github: {secretRef: {name: s}}\n    gitlab: {secretRef: {name: s}}\n  - name: r\n    generic:\n      secretRef: {name: s}\n      actions:\n      - action: Refresh\n        targetSelectionCriteria: [{kind: Warehouse}]\n";
    let p = problems_of(&project_config("p", receivers), "");
    assert_error(
        &p,
        "spec.webhookReceivers[0]",
        "cannot define a receiver that is of more than one type, found 2: github, gitlab",
    );
    assert_error(
        &p,
        "spec.webhookReceivers[1].name",
        "webhook receiver name already defined at spec.webhookReceivers[0].name",
    );
    assert_error(
        &p,
        "spec.webhookReceivers[1].generic.actions[0].targetSelectionCriteria[0]",
        "at least one of name, labelSelector, or indexSelector must be specified for target",
    );
    let cluster = "apiVersion: kargo.akuity.io/v1alpha1\nkind: ClusterConfig\nmetadata: {name: main}\nspec: {}\n";
    assert_error(&problems_of(cluster, ""), "metadata.name", "name \"main\" must be \"cluster\"");
}

// ---- Metadata ----------------------------------------------------------------------------

#[test]
fn metadata_rules() {
    let no_ns = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\nmetadata: {name: w}\nspec: {subscriptions: [{image: {repoURL: a/b}}]}\n";
    assert_error(&problems_of(no_ns, ""), "metadata.namespace", "required: the project this object belongs to");
    let unknown_project = no_ns.replace("{name: w}", "{name: w, namespace: q}");
    assert_error(&problems_of(&unknown_project, ""), "metadata.namespace", "project \"q\" does not exist");
    let scoped = "apiVersion: kargo.akuity.io/v1alpha1\nkind: ClusterPromotionTask\nmetadata: {name: t, namespace: p}\nspec: {steps: [{uses: fail}]}\n";
    assert_error(
        &problems_of(scoped, ""),
        "metadata.namespace",
        "ClusterPromotionTask is cluster-scoped and cannot belong to a project",
    );
    let bad_name = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata: {name: My_Project}\n";
    assert!(problems_of(bad_name, "").iter().any(|p| p.path == "metadata.name" && p.is_error()));
}

#[test]
fn secret_data_must_be_base64_and_is_never_echoed() {
    let text = "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: p}\ndata: {password: 'hunter2!'}\n";
    let p = problems_of(text, "");
    assert_error(&p, "data.password", "value is not valid base64");
    assert!(!format!("{p:?}").contains("hunter2"));
}

// ---- Expressions -------------------------------------------------------------------------

#[test]
fn expressions_must_compile() {
    let steps = "      - uses: git-commit\n        if: success()\n        config:\n          message: ${{ vars.x + }}\n          path: ${{ ctx.stage\n";
    let p = problems_of(&stage(&template(steps)), WAREHOUSE);
    assert_error(&p, "spec.promotionTemplate.spec.steps[0].if", "expression must evaluate to a boolean, got string");
    assert!(
        p.iter().any(|p| p.is_error()
            && p.path == "spec.promotionTemplate.spec.steps[0].config.message"
            && p.message.starts_with("syntax error")),
        "{p:#?}"
    );
    assert_error(
        &p,
        "spec.promotionTemplate.spec.steps[0].config.path",
        "unclosed expression: expected \"}}\" but reached end of template",
    );
    let http = "      - uses: http\n        config:\n          url: https://x\n          successExpression: response.status ==\n";
    let p = problems_of(&stage(&template(http)), WAREHOUSE);
    assert!(
        p.iter().any(|p| p.is_error() && p.path.ends_with("config.successExpression")),
        "plain expressions are checked too: {p:#?}"
    );
}

#[test]
fn warehouse_expressions_must_compile() {
    let text = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\nmetadata: {name: w, namespace: p}\nspec:\n  freightCreationCriteria: {expression: 'imageFrom(\"a/b\").Tag =='}\n  subscriptions:\n  - git: {repoURL: 'https://github.com/a/b', expressionFilter: 'subject contains'}\n";
    let p = problems_of(text, "");
    assert!(p.iter().any(|p| p.is_error() && p.path == "spec.freightCreationCriteria.expression"), "{p:#?}");
    assert!(p.iter().any(|p| p.is_error() && p.path == "spec.subscriptions[0].git.expressionFilter"), "{p:#?}");
}

#[test]
fn vars_read_only_earlier_vars() {
    let spec = format!("  vars:\n  - name: a\n    value: ${{{{ vars.b }}}}\n  - name: b\n    value: x\n{DIRECT}");
    let p = problems_of(&stage(&spec), WAREHOUSE);
    assert_warning(&p, "spec.vars[0].value", "vars.b is not declared before \"a\"; it will be nil");
}

#[test]
fn undeclared_names_are_warnings() {
    let steps = "      - uses: yaml-update\n        as: first\n        config:\n          path: ${{ vars.imge }}\n      - uses: git-commit\n        config:\n          message: ${{ outputs.frist.commitMessage }}\n";
    let spec = format!("  vars: [{{name: image, value: x}}]\n{}", template(steps));
    let p = problems_of(&stage(&spec), WAREHOUSE);
    assert_warning(&p, "spec.promotionTemplate.spec.steps[0].config.path", "vars.imge is not declared; it will be nil");
    assert_warning(
        &p,
        "spec.promotionTemplate.spec.steps[1].config.message",
        "outputs[\"frist\"] refers to no earlier step; it will be nil",
    );
    assert!(p.iter().all(|p| !p.is_error()), "{p:#?}");
}
