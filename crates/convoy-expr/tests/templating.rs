//! Templating of whole configs and of variable lists, and properties of the splitter.

use convoy_api::ExpressionVariable;
use convoy_expr::template::{has_expression, split};
use convoy_expr::{Evaluator, NoData, Scope};
use proptest::prelude::*;
use serde_json::json;

fn scope(values: serde_json::Value) -> Scope {
    Scope::from_json(values.as_object().unwrap()).unwrap()
}

#[test]
fn configs_are_templated_recursively_but_keys_never() {
    let evaluator = Evaluator::new(&NoData);
    let scope = scope(json!({"vars": {"tag": "1.2.3", "n": 2}}));
    let config = json!({
        "path": "./env/${{ vars.n }}",
        "${{ vars.tag }}": "key stays",
        "images": [{"image": "app", "tag": "${{ vars.tag }}"}, "${{ vars.n + 1 }}"],
        "count": 5,
        "flag": true,
        "nothing": null,
        "nested": {"deeper": ["${{ quote(vars.n) }}"]}
    });
    let out = evaluator.config(&config, &scope).unwrap();
    assert_eq!(
        out,
        json!({
            "path": "./env/2",
            "${{ vars.tag }}": "key stays",
            "images": [{"image": "app", "tag": "1.2.3"}, 3],
            "count": 5,
            "flag": true,
            "nothing": null,
            "nested": {"deeper": ["2"]}
        })
    );
}

#[test]
fn config_errors_carry_their_path() {
    let evaluator = Evaluator::new(&NoData);
    let config = json!({"images": [{"tag": "ok"}, {"tag": "${{ 1 + }}"}]});
    let err = evaluator.config(&config, &scope(json!({}))).unwrap_err();
    assert_eq!(err.path, "images[1].tag");
    assert!(err.to_string().starts_with("images[1].tag: syntax error"), "{err}");
}

#[test]
fn vars_see_the_ones_before_them() {
    let evaluator = Evaluator::new(&NoData);
    let mut scope = scope(json!({"ctx": {"stage": "dev"}}));
    let var = |name: &str, value: &str| ExpressionVariable { name: name.into(), value: Some(value.into()) };
    let vars = [
        var("base", "env/${{ ctx.stage }}"),
        var("path", "${{ vars.base }}/app"),
        var("later", "${{ vars.after ?? 'unset' }}"),
        var("after", "x"),
    ];
    evaluator.vars(&vars, &mut scope).unwrap();
    let out = evaluator.template("${{ vars.path }}|${{ vars.later }}", &scope).unwrap();
    assert_eq!(out, json!("env/dev/app|unset"));
    let err = evaluator.vars(&[var("bad", "${{ 1 + }}")], &mut scope).unwrap_err();
    assert!(err.to_string().starts_with("error pre-processing promotion variable \"bad\": syntax error"), "{err}");
}

#[test]
fn reserved_names_cannot_be_shadowed() {
    let err = Scope::from_json(json!({"quote": 1}).as_object().unwrap()).unwrap_err();
    assert_eq!(err.to_string(), "\"quote\" is a forbidden key in the environment map; it is reserved for internal use");
}

proptest! {
    #[test]
    fn splitter_never_panics(text in ".*") {
        let _ = split(&text);
    }

    #[test]
    fn splitter_keeps_all_text(text in "[a-z${}% ]{0,40}") {
        // Whatever the split, text segments plus delimited expressions rebuild the input.
        if let Ok(segments) = split(&text) {
            let rebuilt: usize = segments.iter().map(|s| match s {
                convoy_expr::template::Segment::Text(t) => t.len(),
                convoy_expr::template::Segment::Expr { code, .. } => code.len() + 5,
            }).sum();
            prop_assert_eq!(rebuilt, text.len());
        }
    }

    #[test]
    fn text_without_delimiters_is_unchanged(text in "[^$]*") {
        prop_assume!(!has_expression(&text));
        let evaluator = Evaluator::new(&NoData);
        let out = evaluator.template(&text, &Scope::default()).unwrap();
        prop_assert_eq!(out, serde_json::Value::String(text));
    }

    #[test]
    fn evaluation_never_panics(code in "[a-z0-9+*/(){}\\[\\]:,.?\"' ]{0,30}") {
        let evaluator = Evaluator::new(&NoData);
        let _ = evaluator.template(&format!("${{{{ {code} }}}}"), &Scope::default());
    }
}
