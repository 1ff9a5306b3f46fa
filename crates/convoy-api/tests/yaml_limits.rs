//! Hostile YAML: alias bombs and deep nesting are refused quickly, with where and why.

use std::time::Instant;

use convoy_api::yaml::{MAX_DEPTH, parse_documents, too_deep};

/// The classic "billion laughs": nine levels of ten aliases each, 10^9 strings from < 1 KB.
fn billion_laughs() -> String {
    let mut text =
        String::from("a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    for level in 1..=9 {
        let previous = format!("*a{}", level - 1);
        let items = [previous.as_str(); 10].join(",");
        text.push_str(&format!("a{level}: &a{level} [{items}]\n"));
    }
    text
}

#[test]
fn alias_bombs_are_refused() {
    let text = billion_laughs();
    assert!(text.len() < 1024, "{}", text.len());
    let started = Instant::now();
    let error = parse_documents(&text).unwrap_err();
    assert!(started.elapsed().as_secs() < 1, "took {:?}", started.elapsed());
    assert!(error.message.contains("aliases expand this document"), "{}", error.message);
    assert!(error.position.line >= 2, "points at the alias: {:?}", error.position);
}

#[test]
fn ordinary_aliases_still_work() {
    let text = "defaults: &d {image: app, tag: '1.0'}\nstages:\n- <<: *d\n  name: dev\n- <<: *d\n  name: prod\n";
    let documents = parse_documents(text).unwrap();
    assert_eq!(documents[0].value["stages"][1]["image"], "app");
}

#[test]
fn deep_nesting_is_refused_in_block_and_flow_style() {
    let depth = 100_000;
    let block = "- ".repeat(depth) + "x\n";
    let flow = "[".repeat(depth) + &"]".repeat(depth);
    let mapping: String = (0..200).map(|i| format!("{}k:\n", "  ".repeat(i))).collect::<String>();
    for (name, text) in [("block", block), ("flow", flow), ("mapping", mapping)] {
        let started = Instant::now();
        let error = parse_documents(&text).unwrap_err();
        assert!(started.elapsed().as_secs() < 1, "{name}: took {:?}", started.elapsed());
        assert!(error.message.contains(&format!("deeper than {MAX_DEPTH} levels")), "{name}: {}", error.message);
    }
    let just_enough = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
    assert!(parse_documents(&just_enough).is_ok());
}

#[test]
fn deep_json_values_are_found() {
    let mut value = serde_json::json!("leaf");
    for _ in 0..MAX_DEPTH {
        value = serde_json::json!([value]);
    }
    assert!(!too_deep(&value));
    value = serde_json::json!({"k": value});
    assert!(too_deep(&value));
}

#[test]
fn check_limits_agrees_without_building_values() {
    use convoy_api::yaml::check_limits;
    assert!(check_limits(&billion_laughs()).unwrap_err().message.contains("aliases expand"));
    let deep = "- ".repeat(100_000) + "x\n";
    assert!(check_limits(&deep).unwrap_err().message.contains("deeper than"));
    let flow = "[".repeat(100_000) + &"]".repeat(100_000);
    assert!(check_limits(&flow).unwrap_err().message.contains("deeper than"));
    // Duplicate keys and complex keys are the next parser's business, not a limit.
    assert!(check_limits("a: 1\na: 2\n? [x]\n: y\n").is_ok());
    assert!(check_limits("defaults: &d {a: 1}\nx: *d\ny: *d\n").is_ok());
}
