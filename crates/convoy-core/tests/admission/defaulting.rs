//! Defaulting rules of reference §2.2 and §2.6.

use convoy_api::Subscription;

use super::rules::PIPELINE;
use super::*;

#[test]
fn warehouse_defaults() {
    let text = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\nmetadata: {name: w, namespace: p}\nspec:\n  shard: east\n  subscriptions:\n  - git: {repoURL: 'https://github.com/a/b'}\n  - image: {repoURL: ghcr.io/a/b, discoveryLimit: 0}\n  - chart: {repoURL: 'oci://ghcr.io/a/c'}\n  - feed: {name: f}\n  - image: {repoURL: ghcr.io/a/c, discoveryLimit: 5, strictSemvers: false, imageSelectionStrategy: Lexical}\n";
    let Resource::Warehouse(w) = admit_in(text, "").unwrap() else { panic!() };
    assert_eq!(w.spec.interval.as_deref(), Some("5m0s"));
    assert_eq!(w.spec.freight_creation_policy.as_deref(), Some("Automatic"));
    assert_eq!(w.metadata.labels.get("kargo.akuity.io/shard").map(String::as_str), Some("east"));
    let Subscription::Git(git) = &w.spec.subscriptions[0] else { panic!() };
    assert_eq!(git.commit_selection_strategy.as_deref(), Some("NewestFromBranch"));
    assert_eq!((git.strict_semvers, git.discovery_limit), (Some(true), Some(20)));
    let Subscription::Image(image) = &w.spec.subscriptions[1] else { panic!() };
    assert_eq!(image.image_selection_strategy.as_deref(), Some("SemVer"));
    assert_eq!((image.strict_semvers, image.discovery_limit), (Some(true), Some(20)), "0 means unset");
    let Subscription::Chart(chart) = &w.spec.subscriptions[2] else { panic!() };
    assert_eq!(chart.discovery_limit, Some(20));
    let Subscription::Generic { body, .. } = &w.spec.subscriptions[3] else { panic!() };
    assert_eq!(body.discovery_limit, Some(20));
    let Subscription::Image(kept) = &w.spec.subscriptions[4] else { panic!() };
    assert_eq!((kept.strict_semvers, kept.discovery_limit), (Some(false), Some(5)));
    assert_eq!(kept.image_selection_strategy.as_deref(), Some("Lexical"));
}

#[test]
fn stage_shard_label_follows_spec() {
    let text = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\nmetadata:\n  name: s\n  namespace: p\n  labels: {kargo.akuity.io/shard: old}\nspec:\n  requestedFreight:\n  - origin: {kind: Warehouse, name: w}\n    sources: {direct: true}\n";
    let Resource::Stage(s) = admit_in(text, WAREHOUSE).unwrap() else { panic!() };
    assert!(!s.metadata.labels.contains_key("kargo.akuity.io/shard"), "no spec.shard removes the label");
}

const FREIGHT: &str = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Freight\nmetadata: {name: my-own-name, namespace: p}\norigin: {kind: Warehouse, name: w}\nimages: [{repoURL: ghcr.io/example/app, tag: '1.0.0'}]\ncommits: [{repoURL: 'https://github.com/example/config', id: abc}]\n";

#[test]
fn freight_name_discovered_at_and_alias() {
    let Resource::Freight(f) = admit_in(FREIGHT, WAREHOUSE).unwrap() else { panic!() };
    let name = f.metadata.name().to_owned();
    assert_eq!(name.len(), 40);
    assert!(name.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    assert_ne!(name, "my-own-name", "a given name is replaced by the content hash");
    assert_eq!(f.discovered_at.as_deref(), Some("2024-05-01T12:00:00Z"), "defaults to now");
    let alias = f.alias.clone().unwrap();
    assert_eq!(alias.split('-').count(), 2, "adjective-animal: {alias}");
    assert_eq!(f.metadata.labels.get("kargo.akuity.io/alias"), Some(&alias));

    let with_time = FREIGHT.replace("namespace: p}", "namespace: p, creationTimestamp: '2023-01-02T03:04:05Z'}");
    let Resource::Freight(f) = admit_in(&with_time, WAREHOUSE).unwrap() else { panic!() };
    assert_eq!(f.discovered_at.as_deref(), Some("2023-01-02T03:04:05Z"));

    let given = FREIGHT.replace("origin:", "alias: mine\norigin:");
    let Resource::Freight(f) = admit_in(&given, WAREHOUSE).unwrap() else { panic!() };
    assert_eq!(f.alias.as_deref(), Some("mine"));
    assert_eq!(f.metadata.labels.get("kargo.akuity.io/alias").map(String::as_str), Some("mine"));
}

#[test]
fn generated_alias_avoids_aliases_in_use() {
    let catalog = world(WAREHOUSE);
    let Resource::Freight(first) =
        admit(one(FREIGHT), Operation::Create, &catalog, &mut FixedEnv::default()).unwrap().resource
    else {
        panic!()
    };
    let mut catalog = catalog;
    catalog.insert(Resource::Freight(first.clone()));
    // Same random sequence: the first choice is now taken, so another is picked.
    let other = FREIGHT.replace("id: abc", "id: def");
    let Resource::Freight(second) =
        admit(one(&other), Operation::Create, &catalog, &mut FixedEnv::default()).unwrap().resource
    else {
        panic!()
    };
    assert_ne!(first.alias, second.alias);
}

#[test]
fn freight_update_with_empty_alias_drops_the_label() {
    let catalog = world(WAREHOUSE);
    let created = admit(one(FREIGHT), Operation::Create, &catalog, &mut FixedEnv::default()).unwrap().resource;
    let mut cleared = created.clone();
    if let Resource::Freight(f) = &mut cleared {
        f.alias = None;
    }
    let Resource::Freight(f) =
        admit(cleared, Operation::Update { old: &created }, &catalog, &mut FixedEnv::default()).unwrap().resource
    else {
        panic!()
    };
    assert!(!f.metadata.labels.contains_key("kargo.akuity.io/alias"));
}

/// Decodes the 48-bit millisecond prefix of a ULID (Crockford base32), independently of the
/// encoder under test.
fn ulid_millis(ulid: &str) -> u64 {
    const ALPHABET: &str = "0123456789abcdefghjkmnpqrstvwxyz";
    ulid[..10].chars().fold(0u64, |acc, c| acc * 32 + ALPHABET.find(c).expect("crockford digit") as u64)
}

#[test]
fn promotion_is_built_from_its_stage() {
    let world = format!("{WAREHOUSE}---{TASK}---{PIPELINE}");
    let submitted = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Promotion\nmetadata: {generateName: promo-, namespace: p}\nspec:\n  stage: dev\n  freight: f1\n  vars: [{name: smuggled, value: x}]\n  steps: [{uses: fail}]\n";
    let Resource::Promotion(p) = admit_in(submitted, &world).unwrap() else { panic!() };
    let name = p.metadata.name().to_owned();
    let parts: Vec<&str> = name.split('.').collect();
    assert_eq!(parts.len(), 3, "{name}");
    assert_eq!(parts[0], "dev");
    assert_eq!(parts[1].len(), 26);
    assert_eq!(ulid_millis(parts[1]), 1_714_564_800_000);
    assert_eq!(parts[2], "f1", "first 7 characters of the Freight name");
    assert_eq!(p.metadata.generate_name, None);
    let aliases: Vec<_> = p.spec.steps.iter().map(|s| s.alias.clone().unwrap()).collect();
    assert_eq!(aliases, ["task-1::step-1", "task-1::update-image", "task-1::commit"], "submitted steps are discarded");
    assert_eq!(
        p.spec.vars.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(),
        ["image"],
        "Stage vars then template vars"
    );
    assert_eq!(p.metadata.labels.get("kargo.akuity.io/stage").map(String::as_str), Some("dev"));
    assert_eq!(p.metadata.annotations.get("kargo.akuity.io/stage").map(String::as_str), Some("dev"));
    let owner = &p.metadata.owner_references[0];
    assert_eq!((owner.kind.as_str(), owner.name.as_str(), owner.controller), ("Stage", "dev", Some(true)));
}

#[test]
fn promotion_origin_resolves_to_the_candidate() {
    let world = format!("{WAREHOUSE}---{TASK}---{PIPELINE}");
    let submitted = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Promotion\nmetadata: {namespace: p}\nspec:\n  stage: dev\n  origin: {kind: Warehouse, name: w}\n";
    let Resource::Promotion(p) = admit_in(submitted, &world).unwrap() else { panic!() };
    assert_eq!(p.spec.freight, "f1");
    assert_eq!(p.spec.origin, None);
}

#[test]
fn promotion_steps_without_aliases_get_step_n_and_are_admitted() {
    let stage = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\nmetadata: {name: qa, namespace: p}\nspec:\n  requestedFreight:\n  - origin: {kind: Warehouse, name: w}\n    sources: {direct: true}\n  promotionTemplate:\n    spec:\n      vars: [{name: image, value: ghcr.io/example/app}]\n      steps:\n      - uses: fail\n      - uses: fail\n        as: named\n      - task: {name: promote}\n      - uses: fail\n";
    let freight = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Freight\nmetadata: {name: f1, namespace: p}\norigin: {kind: Warehouse, name: w}\nimages: [{repoURL: ghcr.io/example/app, tag: '1.0.0'}]\n";
    let world = format!("{WAREHOUSE}---{TASK}---\n{stage}---\n{freight}");
    let submitted = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Promotion\nmetadata: {namespace: p}\nspec: {stage: qa, freight: f1}\n";
    let Resource::Promotion(p) = admit_in(submitted, &world).unwrap() else { panic!() };
    let aliases: Vec<_> = p.spec.steps.iter().map(|s| s.alias.clone().unwrap()).collect();
    assert_eq!(
        aliases,
        ["step-1", "named", "task-3::step-1", "task-3::update-image", "task-3::commit", "step-4"],
        "reference §2.3: plain steps get step-<i+1>, task steps task-<i+1>::…"
    );
}
