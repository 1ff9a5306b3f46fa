//! Availability (reference §5.3) and the auto-promotion candidate (§5.5), as tables.

use std::time::Duration;

use convoy_api::{Freight, FreightOrigin, Stage};
use convoy_core::availability::{Unavailable, Via, auto_promotion_candidate, availability, soonest_soak_end};
use convoy_core::time::Timestamp;

use super::*;

/// 2024-05-01T12:00:00Z
const NOW: Timestamp = Timestamp(1_714_564_800);

fn stage(sources: &str) -> Stage {
    let Resource::Stage(s) = one(&format!(
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\nmetadata: {{name: s, namespace: p}}\nspec:\n  requestedFreight:\n  - origin: {{kind: Warehouse, name: w}}\n    sources: {sources}\n"
    )) else {
        panic!()
    };
    s
}

fn freight(name: &str, status: &str) -> Freight {
    let Resource::Freight(f) = one(&format!(
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Freight\nmetadata: {{name: {name}, namespace: p}}\norigin: {{kind: Warehouse, name: w}}\nimages: [{{repoURL: a/b, tag: '1'}}]\nstatus: {status}\n"
    )) else {
        panic!()
    };
    f
}

fn mins(m: u64) -> Duration {
    Duration::from_secs(m * 60)
}

#[test]
fn availability_table() {
    let not_verified =
        |stages: &[&str]| Err(Unavailable::NotVerified { stages: stages.iter().map(|s| (*s).to_owned()).collect() });
    let soaking = |stage: &str, m: u64| Err(Unavailable::Soaking { stage: stage.to_owned(), remaining: mins(m) });
    #[rustfmt::skip]
    let cases: Vec<(&str, &str, &str, Result<Via, Unavailable>)> = vec![
        ("direct", "{direct: true}", "{}", Ok(Via::Direct)),
        ("direct wins without verification", "{direct: true, stages: [a]}", "{}", Ok(Via::Direct)),
        ("upstream unverified", "{stages: [a]}", "{}", not_verified(&["a"])),
        ("upstream verified", "{stages: [a]}", "{verifiedIn: {a: {}}}", Ok(Via::Upstream)),
        ("verified elsewhere does not count", "{stages: [a]}", "{verifiedIn: {x: {}}}", not_verified(&["a"])),
        ("OneOf: one of two", "{stages: [a, b], availabilityStrategy: OneOf}", "{verifiedIn: {b: {}}}", Ok(Via::Upstream)),
        ("empty strategy is OneOf", "{stages: [a, b]}", "{verifiedIn: {b: {}}}", Ok(Via::Upstream)),
        ("OneOf: none", "{stages: [a, b]}", "{}", not_verified(&["a", "b"])),
        ("All: one missing", "{stages: [a, b], availabilityStrategy: All}", "{verifiedIn: {a: {}}}", not_verified(&["b"])),
        ("All: both", "{stages: [a, b], availabilityStrategy: All}", "{verifiedIn: {a: {}, b: {}}}", Ok(Via::Upstream)),
        ("soak: 30m of 1h in progress", "{stages: [a], requiredSoakTime: 1h}",
            "{verifiedIn: {a: {}}, currentlyIn: {a: {since: '2024-05-01T11:30:00Z'}}}", soaking("a", 30)),
        ("soak: 2h of 1h in progress", "{stages: [a], requiredSoakTime: 1h}",
            "{verifiedIn: {a: {}}, currentlyIn: {a: {since: '2024-05-01T10:00:00Z'}}}", Ok(Via::Upstream)),
        ("soak: completed earlier", "{stages: [a], requiredSoakTime: 1h}", "{verifiedIn: {a: {longestSoak: 1h0m0s}}}", Ok(Via::Upstream)),
        ("soak: longest of completed and current", "{stages: [a], requiredSoakTime: 1h}",
            "{verifiedIn: {a: {longestSoak: 20m0s}}, currentlyIn: {a: {since: '2024-05-01T11:50:00Z'}}}", soaking("a", 40)),
        ("soak needs verification", "{stages: [a], requiredSoakTime: 1h}", "{currentlyIn: {a: {since: '2024-05-01T00:00:00Z'}}}", not_verified(&["a"])),
        ("approval bypasses verification", "{stages: [a]}", "{approvedFor: {s: {}}}", Ok(Via::Approved)),
        ("approval bypasses soak", "{stages: [a], requiredSoakTime: 1h}",
            "{verifiedIn: {a: {}}, currentlyIn: {a: {since: '2024-05-01T11:59:00Z'}}, approvedFor: {s: {}}}", Ok(Via::Approved)),
        ("approval for another Stage does not count", "{stages: [a]}", "{approvedFor: {other: {}}}", not_verified(&["a"])),
        ("All with soak: second still soaking", "{stages: [a, b], availabilityStrategy: All, requiredSoakTime: 1h}",
            "{verifiedIn: {a: {longestSoak: 2h0m0s}, b: {}}, currentlyIn: {b: {since: '2024-05-01T11:45:00Z'}}}", soaking("b", 45)),
        ("OneOf with soak: nearest one reported", "{stages: [a, b], requiredSoakTime: 1h}",
            "{verifiedIn: {a: {}, b: {}}, currentlyIn: {a: {since: '2024-05-01T11:50:00Z'}, b: {since: '2024-05-01T11:10:00Z'}}}", soaking("b", 10)),
        ("no sources", "{}", "{verifiedIn: {a: {}}}", Err(Unavailable::NoSources)),
    ];
    for (name, sources, status, expected) in cases {
        assert_eq!(availability(&stage(sources), &freight("f", status), NOW), expected, "{name}");
    }
}

/// The Stage controller looks again when the first soaking Freight has soaked: the smallest
/// remaining time, none when nothing soaks.
#[test]
fn the_soonest_soak_end_is_the_smallest_remaining_time() {
    let soaking_since = |name: &str, since: &str| {
        freight(name, &format!("{{verifiedIn: {{a: {{}}}}, currentlyIn: {{a: {{since: '{since}'}}}}}}"))
    };
    let stage = stage("{stages: [a], requiredSoakTime: 1h}");
    let (ten, forty, done) = (
        soaking_since("f1", "2024-05-01T11:10:00Z"),
        soaking_since("f2", "2024-05-01T11:40:00Z"),
        soaking_since("f3", "2024-05-01T10:00:00Z"),
    );
    assert_eq!(soonest_soak_end(&stage, &[&forty, &ten, &done], NOW), Some(mins(10)));
    assert_eq!(soonest_soak_end(&stage, &[&done], NOW), None, "soaked already");
    assert_eq!(soonest_soak_end(&stage, &[&freight("f4", "{}")], NOW), None, "unverified: nothing to wait for");
}

#[test]
fn other_origins_are_not_available() {
    let mut f = freight("f", "{}");
    f.origin = FreightOrigin::warehouse("other");
    assert_eq!(
        availability(&stage("{direct: true}"), &f, NOW),
        Err(Unavailable::OriginNotRequested { origin: "Warehouse/other".into() })
    );
}

fn with_time(mut f: Freight, discovered: Option<&str>, created: Option<&str>) -> Freight {
    f.discovered_at = discovered.map(str::to_owned);
    f.metadata.creation_timestamp = created.map(str::to_owned);
    f
}

#[test]
fn newest_freight_candidate() {
    let origin = FreightOrigin::warehouse("w");
    let old = with_time(freight("a-old", "{verifiedIn: {up: {}}}"), Some("2024-04-01T00:00:00Z"), None);
    let new = with_time(freight("b-new", "{verifiedIn: {up: {}}}"), Some("2024-04-02T00:00:00Z"), None);
    let newest_unavailable = with_time(freight("c-newest", "{}"), Some("2024-04-03T00:00:00Z"), None);
    let s = stage("{stages: [up]}");
    let all = [&old, &new, &newest_unavailable];
    assert_eq!(auto_promotion_candidate(&s, &origin, &all, NOW).map(|f| f.metadata.name()), Some("b-new"));
    // ties on time go to the greater name; creationTimestamp stands in for discoveredAt
    let tie_a = with_time(freight("tie-a", "{verifiedIn: {up: {}}}"), None, Some("2024-04-02T00:00:00Z"));
    let tie_z = with_time(freight("tie-z", "{verifiedIn: {up: {}}}"), Some("2024-04-02T00:00:00Z"), None);
    let all = [&tie_a, &tie_z, &old];
    assert_eq!(auto_promotion_candidate(&s, &origin, &all, NOW).map(|f| f.metadata.name()), Some("tie-z"));
    let all = [&tie_z, &tie_a];
    assert_eq!(auto_promotion_candidate(&s, &origin, &all, NOW).map(|f| f.metadata.name()), Some("tie-z"));
    assert_eq!(auto_promotion_candidate(&s, &FreightOrigin::warehouse("other"), &all, NOW), None);
}

#[test]
fn match_upstream_candidate() {
    let origin = FreightOrigin::warehouse("w");
    let s = stage("{stages: [up], autoPromotionOptions: {selectionPolicy: MatchUpstream}}");
    let in_up = with_time(
        freight("in-up", "{verifiedIn: {up: {}}, currentlyIn: {up: {}}}"),
        Some("2024-04-01T00:00:00Z"),
        None,
    );
    let newer = with_time(freight("newer", "{verifiedIn: {up: {}}}"), Some("2024-04-05T00:00:00Z"), None);
    assert_eq!(auto_promotion_candidate(&s, &origin, &[&in_up, &newer], NOW).map(|f| f.metadata.name()), Some("in-up"));
    let also_in_up = freight("also", "{verifiedIn: {up: {}}, currentlyIn: {up: {}}}");
    assert_eq!(
        auto_promotion_candidate(&s, &origin, &[&in_up, &also_in_up], NOW),
        None,
        "two in upstream is transient"
    );
    assert_eq!(auto_promotion_candidate(&s, &origin, &[&newer], NOW), None);
}
