use convoy_api::rbac::{Claim, PolicyRule, Role};
use serde_json::json;

use super::*;

fn project(role: &str, project: &str) -> Granted {
    Granted { scope: Scope::Project(project.into()), role: role.into(), rules: project_role(role).unwrap() }
}

fn system(role: &str) -> Granted {
    Granted { scope: Scope::System, role: role.into(), rules: system_role(role).unwrap() }
}

fn custom(project: &str, rules: Vec<PolicyRule>) -> Granted {
    Granted { scope: Scope::Project(project.into()), role: "custom".into(), rules }
}

fn request<'a>(verb: &'a str, resource: &'a str, project: &'a str, name: &'a str) -> Request<'a> {
    Request { verb, resource, project, name }
}

#[test]
fn a_promoter_promotes_and_approves_in_its_project_only() {
    let held = [project("kargo-promoter", "shop")];
    assert!(decide(&held, &request("promote", "stages", "shop", "prod")).is_ok());
    assert!(decide(&held, &request("patch", "freights/status", "shop", "abc")).is_ok());
    assert!(decide(&held, &request("create", "promotions", "shop", "")).is_ok());
    assert!(decide(&held, &request("get", "stages", "shop", "prod")).is_ok());
    // Not Stage or Warehouse edits, not Secrets, nothing elsewhere.
    assert!(decide(&held, &request("update", "stages", "shop", "prod")).is_err());
    assert!(decide(&held, &request("get", "secrets", "shop", "git")).is_err());
    assert!(decide(&held, &request("promote", "stages", "bank", "prod")).is_err());
    assert!(decide(&held, &request("list", "projects", "", "")).is_err());
}

#[test]
fn a_viewer_reads_but_never_writes_nor_reads_secrets() {
    let held = [project("kargo-viewer", "shop")];
    for resource in ["stages", "warehouses", "freights", "promotions", "events", "projects"] {
        assert!(decide(&held, &request("list", resource, "shop", "")).is_ok(), "{resource}");
    }
    for verb in ["create", "update", "patch", "delete", "promote"] {
        let denied = decide(&held, &request(verb, "stages", "shop", "test")).unwrap_err();
        assert!(denied.to_string().contains(&format!("{verb} stages/test in project shop")), "{denied}");
    }
    assert!(decide(&held, &request("get", "secrets", "shop", "x")).is_err());
    assert!(decide(&[system("kargo-viewer")], &request("list", "secrets", "shop", "")).is_err());
    assert!(decide(&[system("kargo-viewer")], &request("list", "stages", "any", "")).is_ok());
}

#[test]
fn a_star_verb_includes_promote() {
    // Kargo #2864: `*` granted in the UI did not include the custom verb.
    let held = [custom("shop", vec![PolicyRule::new(&["*"], &["stages"])])];
    assert!(decide(&held, &request("promote", "stages", "shop", "prod")).is_ok());
}

#[test]
fn resource_names_limit_a_rule_and_never_match_unnamed_requests() {
    let mut rule = PolicyRule::new(&["promote", "get"], &["stages"]);
    rule.resource_names = vec!["dev".into(), "staging".into()];
    let held = [custom("shop", vec![rule])];
    assert!(decide(&held, &request("promote", "stages", "shop", "dev")).is_ok());
    assert!(decide(&held, &request("promote", "stages", "shop", "prod")).is_err());
    assert!(decide(&held, &request("get", "stages", "shop", "")).is_err());
}

#[test]
fn system_roles() {
    assert!(decide(&[system("kargo-admin")], &request("delete", "projects", "x", "x")).is_ok());
    let user = [system("kargo-user")];
    assert!(decide(&user, &request("list", "projects", "", "")).is_ok());
    assert!(decide(&user, &request("create", "projects", "new", "new")).is_err());
    assert!(decide(&user, &request("list", "stages", "shop", "")).is_err());
    let creator = [system("kargo-project-creator")];
    assert!(decide(&creator, &request("create", "projects", "new", "new")).is_ok());
    assert!(decide(&[], &request("get", "projects", "x", "x")).unwrap_err().to_string().contains("no role"));
}

#[test]
fn nobody_grants_more_than_they_hold() {
    let admin = [project("kargo-admin", "shop")];
    let shop = Scope::Project("shop".into());
    assert!(covers(&admin, &shop, &project_role("kargo-promoter").unwrap()).is_ok());
    assert!(covers(&admin, &shop, &project_role("kargo-admin").unwrap()).is_ok());
    // Not in another project, not system-wide.
    assert!(covers(&admin, &Scope::Project("bank".into()), &project_role("kargo-viewer").unwrap()).is_err());
    assert!(covers(&admin, &Scope::System, &system_role("kargo-user").unwrap()).is_err());
    // A wildcard is only given by one who holds the wildcard.
    let named = {
        let mut rule = PolicyRule::new(&["promote"], &["stages"]);
        rule.resource_names = vec!["dev".into()];
        rule
    };
    let promoter_dev = [custom("shop", vec![named.clone()])];
    assert!(covers(&promoter_dev, &shop, std::slice::from_ref(&named)).is_ok());
    assert!(covers(&promoter_dev, &shop, &[PolicyRule::new(&["promote"], &["stages"])]).is_err());
    assert!(covers(&admin, &shop, &[PolicyRule::new(&["*"], &["*"])]).is_err());
    assert!(covers(&[system("kargo-admin")], &shop, &[PolicyRule::new(&["*"], &["*"])]).is_ok());
}

#[test]
fn claims_match_any_value_of_any_claim() {
    let role = Role {
        claims: vec![
            Claim { name: "groups".into(), values: vec!["devops".into(), "sre".into()] },
            Claim { name: "email".into(), values: vec!["carl@example.com".into()] },
        ],
        ..Role::default()
    };
    assert!(claims_match(&role, &json!({"groups": ["eng", "sre"]})));
    assert!(claims_match(&role, &json!({"email": "carl@example.com", "groups": []})));
    assert!(!claims_match(&role, &json!({"groups": ["eng"], "email": "dana@example.com"})));
    assert!(!claims_match(&role, &json!({"groups": "devopsx"})));
    assert!(!claims_match(&Role::default(), &json!({"groups": ["devops"]})));
}

#[test]
fn role_admission_names_the_field() {
    let role = Role {
        rules: vec![PolicyRule::new(&["promot"], &["stage"])],
        claims: vec![Claim { name: "groups".into(), values: vec![] }],
        ..Role::default()
    };
    let mut problems = Problems::default();
    validate_role(&role, &mut problems);
    let text: String = problems
        .into_vec()
        .iter()
        .map(|p| format!("{}: {} ({})\n", p.path, p.message, p.hint.clone().unwrap_or_default()))
        .collect();
    assert!(text.contains("rules[0].verbs[0]") && text.contains("\"promote\""), "{text}");
    assert!(text.contains("rules[0].resources[0]") && text.contains("\"stages\""), "{text}");
    assert!(text.contains("claims[0].values"), "{text}");
}
