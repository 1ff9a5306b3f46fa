//! Label selectors: Convoy renders them, the API double (written from the Kubernetes grammar)
//! parses them, and both must agree on which Applications match.

use convoy_argocd::selector::LabelSelector;
use convoy_test_support::kube_api::Selector;
use serde_json::{Value, json};

fn selector(config: Value) -> LabelSelector {
    serde_json::from_value(config).unwrap()
}

fn object(labels: Value) -> Value {
    json!({"metadata": {"labels": labels}})
}

#[test]
fn rendered_selectors_match_what_the_api_matches() {
    let objects = [
        object(json!({"env": "prod", "team": "platform"})),
        object(json!({"env": "staging", "team": "platform"})),
        object(json!({"env": "dev"})),
        object(json!({"team": "web", "tier": "front"})),
        object(json!({})),
    ];
    let cases = [
        (json!({"matchLabels": {"team": "platform", "env": "prod"}}), "env=prod,team=platform", vec![0]),
        (
            json!({"matchExpressions": [{"key": "env", "operator": "In", "values": ["staging", "prod"]}]}),
            "env in (prod,staging)",
            vec![0, 1],
        ),
        (
            json!({"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]}),
            "env notin (prod)",
            vec![1, 2, 3, 4],
        ),
        (json!({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}), "tier", vec![3]),
        (json!({"matchExpressions": [{"key": "env", "operator": "DoesNotExist"}]}), "!env", vec![3, 4]),
        (
            json!({"matchLabels": {"team": "platform"}, "matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["dev", "prod"]}]}),
            "env notin (dev,prod),team=platform",
            vec![1],
        ),
    ];
    for (config, query, expected) in cases {
        let ours = selector(config.clone());
        assert_eq!(ours.to_query().unwrap(), query, "{config}");
        let api = Selector::parse(query).unwrap();
        let by_api: Vec<usize> = (0..objects.len()).filter(|i| api.matches(&objects[*i])).collect();
        let by_us: Vec<usize> =
            (0..objects.len()).filter(|i| ours.matches(objects[*i]["metadata"]["labels"].as_object())).collect();
        assert_eq!(by_api, expected, "the API's reading of {query}");
        assert_eq!(by_us, expected, "Convoy's reading of {config}");
    }
}

#[test]
fn bad_selectors_get_kargos_messages() {
    let error = |config: Value| selector(config).to_query().unwrap_err();
    assert_eq!(error(json!({})), "error building label selector: selector must have at least one match criterion");
    assert_eq!(
        error(json!({"matchExpressions": [{"key": "env", "operator": "Near", "values": ["x"]}]})),
        "error building label selector: invalid operator: Near"
    );
    assert_eq!(
        error(json!({"matchExpressions": [{"key": "env", "operator": "In", "values": []}]})),
        "error building label selector: invalid matchExpression: for 'in', 'notin' operators, values set can't be empty"
    );
    assert_eq!(
        error(json!({"matchExpressions": [{"key": "env", "operator": "Exists", "values": ["x"]}]})),
        "error building label selector: invalid matchExpression: values set must be empty for exists and does not exist"
    );
    assert!(
        error(json!({"matchLabels": {"env": "no spaces"}}))
            .starts_with("error building label selector: invalid matchLabel env=no spaces: ")
    );
    // Hostile keys cannot smuggle extra terms into the query.
    assert!(selector(json!({"matchLabels": {"a,b": "c"}})).to_query().is_err());
    assert!(selector(json!({"matchLabels": {"a": "b,c=d"}})).to_query().is_err());
}
