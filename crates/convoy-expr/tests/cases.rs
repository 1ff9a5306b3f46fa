//! The expression table: template, context, expected JSON result or expected error text.
//! Expected values are written by hand from expr-lang's and Kargo's documented behaviour
//! (reference §4), never copied from Convoy's output.

use convoy_expr::{Evaluator, context};
use serde_json::{Value, json};

enum Want {
    Is(Value),
    Fails(&'static str),
}
use Want::*;

fn evaluate(context_file: &str, template: &str) -> Result<Value, String> {
    let path = format!("{}/tests/{context_file}", env!("CARGO_MANIFEST_DIR"));
    let document: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let (scope, data) = context::from_json(&document).unwrap();
    Evaluator::new(&data).template(template, &scope).map_err(|e| e.to_string())
}

fn check(context_file: &str, cases: &[(&str, Want)]) {
    let mut failures = Vec::new();
    for (template, want) in cases {
        let got = evaluate(context_file, template);
        let ok = match (want, &got) {
            (Is(expected), Ok(actual)) => expected == actual,
            (Fails(text), Err(message)) => message.contains(text),
            _ => false,
        };
        if !ok {
            let want = match want {
                Is(v) => v.to_string(),
                Fails(t) => format!("error containing {t:?}"),
            };
            failures.push(format!("{template}\n    want {want}\n    got  {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn coercion() {
    check(
        "context.json",
        &[
            ("plain text", Is(json!("plain text"))),
            ("42", Is(json!("42"))),
            ("true", Is(json!("true"))),
            ("\"quoted\"", Is(json!("\"quoted\""))),
            ("${{ 42 }}", Is(json!(42))),
            ("${{ \"42\" }}", Is(json!(42))),
            ("${{ quote(\"42\") }}", Is(json!("42"))),
            ("v${{ 1 }}", Is(json!("v1"))),
            ("${{ 1 }}${{ 2 }}", Is(json!(12))),
            ("${{ true }}", Is(json!(true))),
            ("${{ \"true\" }}", Is(json!(true))),
            ("${{ quote(true) }}", Is(json!("true"))),
            ("${{ \"T\" }}", Is(json!(true))),
            ("${{ \"1\" }}", Is(json!(1))),
            ("${{ \"yes\" }}", Is(json!("yes"))),
            ("${{ 3.5 }}", Is(json!(3.5))),
            ("${{ 7 / 2 }}", Is(json!(3.5))),
            ("${{ 6 / 2 }}", Is(json!(3))),
            ("${{ nil }}", Is(json!(null))),
            ("${{ \"null\" }}", Is(json!(null))),
            ("${{ vars.missing }}", Is(json!(null))),
            ("${{ [1, 2] }}", Is(json!([1, 2]))),
            ("${{ {\"a\": 1} }}", Is(json!({"a": 1}))),
            ("${{ \"[1, 2]\" }}", Is(json!([1, 2]))),
            ("${{ \"{\\\"a\\\": 1}\" }}", Is(json!({"a": 1}))),
            ("${{ \"hello\" }}\n", Is(json!("hello\n"))),
            ("${{ 42 }}\n", Is(json!(42))),
            ("${{ quote(\"x\") }}\n", Is(json!("x\n"))),
            ("x ${{ \"y\" }} z", Is(json!("x y z"))),
            ("${{ \"\" }}", Is(json!(""))),
            ("${{ \" 42\" }}", Is(json!(42))),
            ("${{ \"1e3\" }}", Is(json!(1000))),
            ("${{ \"0x10\" }}", Is(json!("0x10"))),
            ("${{ \"inf\" }}", Fails("unsupported value")),
            ("${{ \"1.2.3\" }}", Is(json!("1.2.3"))),
            ("${{ vars.list }}", Is(json!([3, 1, 2]))),
            ("list: ${{ vars.list }}", Is(json!("list: [3,1,2]"))),
            ("${{ vars.nested }}", Is(json!({"a": {"b": "deep"}}))),
            ("${% vars.n %}", Is(json!(3))),
            ("${% toJSON({\"a\": {\"b\": 1}}) %}", Is(json!({"a": {"b": 1}}))),
            ("${{ vars.n }}-${% vars.n %}", Is(json!("3-3"))),
        ],
    );
}

#[test]
fn operators_and_variables() {
    check(
        "context.json",
        &[
            ("${{ 1 + 2 * 3 }}", Is(json!(7))),
            ("${{ (1 + 2) * 3 }}", Is(json!(9))),
            ("${{ 7 % 3 }}", Is(json!(1))),
            ("${{ 2 ** 3 }}", Is(json!(8))),
            ("${{ -5 }}", Is(json!(-5))),
            ("${{ \"a\" + \"b\" }}", Is(json!("ab"))),
            ("${{ vars.n > 2 }}", Is(json!(true))),
            ("${{ vars.n == 3 && vars.flag }}", Is(json!(true))),
            ("${{ vars.n < 2 || !vars.flag }}", Is(json!(false))),
            ("${{ not vars.flag }}", Is(json!(false))),
            ("${{ vars.n in [1, 2, 3] }}", Is(json!(true))),
            ("${{ 4 not in vars.list }}", Is(json!(true))),
            ("${{ vars.text contains \"World\" }}", Is(json!(true))),
            ("${{ vars.text startsWith \"Hello\" }}", Is(json!(true))),
            ("${{ vars.text endsWith \"!\" }}", Is(json!(false))),
            ("${{ vars.version matches \"^[0-9]+[.][0-9]+\" }}", Is(json!(true))),
            ("${{ vars.flag ? \"on\" : \"off\" }}", Is(json!("on"))),
            ("${{ vars.missing ?? \"default\" }}", Is(json!("default"))),
            ("${{ vars.empty ?? \"default\" }}", Is(json!(""))),
            ("${{ vars.nested?.a?.b }}", Is(json!("deep"))),
            ("${{ vars.missing?.a }}", Is(json!(null))),
            ("${{ vars.missing?.a ?? \"x\" }}", Is(json!("x"))),
            ("${{ vars.nested.a.b }}", Is(json!("deep"))),
            ("${{ vars[\"nested\"][\"a\"][\"b\"] }}", Is(json!("deep"))),
            ("${{ vars.list[0] }}", Is(json!(3))),
            ("${{ vars.list[-1] }}", Is(json!(2))),
            ("${{ vars.list[1:] }}", Is(json!([1, 2]))),
            ("${{ vars.list[:2] }}", Is(json!([3, 1]))),
            ("${{ 1..3 }}", Is(json!([1, 2, 3]))),
            ("${{ let x = 2; x * vars.n }}", Is(json!(6))),
            ("${{ vars.text | upper() }}", Is(json!("HELLO, WORLD"))),
            ("${{ vars.n == 3.0 }}", Is(json!(true))),
            ("${{ 0.1 + 0.2 }}", Is(json!(0.30000000000000004))),
            ("${{ outputs[\"update-image\"].commitMessage }}", Is(json!("Updated image to 1.2.3"))),
            ("${{ outputs['task-1::commit'].commit }}", Is(json!("abc123"))),
            ("${{ task.outputs.commit.commit }}", Is(json!("def456"))),
            ("${{ task.outputs['commit'].commit }}", Is(json!("def456"))),
            ("${{ ctx.stage }}", Is(json!("dev"))),
            ("${{ ctx.targetFreight.alias }}", Is(json!("brave-otter"))),
            ("${{ ctx.meta.promotion.actor }}", Is(json!("admin"))),
            ("${{ ctx.project + \"/\" + ctx.stage }}", Is(json!("guestbook/dev"))),
            ("${{ undefinedVar }}", Is(json!(null))),
            ("${{ undefinedVar ?? \"fallback\" }}", Is(json!("fallback"))),
            ("${{ stepMetas[\"step-1\"].status }}", Is(json!("Succeeded"))),
            ("env/${{ ctx.stage }}", Is(json!("env/dev"))),
        ],
    );
}

#[test]
fn builtins() {
    check(
        "context.json",
        &[
            ("${{ len(vars.list) }}", Is(json!(3))),
            ("${{ upper(\"abc\") }}", Is(json!("ABC"))),
            ("${{ lower(\"ABC\") }}", Is(json!("abc"))),
            ("${{ trim(\"  x  \") }}", Is(json!("x"))),
            ("${{ trimPrefix(\"v1.2\", \"v\") }}", Is(json!(1.2))),
            ("${{ trimSuffix(\"a.yaml\", \".yaml\") }}", Is(json!("a"))),
            ("${{ split(vars.csv, \",\") }}", Is(json!(["a", "b", "c"]))),
            ("${{ join([\"a\", \"b\"], \"-\") }}", Is(json!("a-b"))),
            ("${{ replace(\"a-b-c\", \"-\", \"_\") }}", Is(json!("a_b_c"))),
            ("${{ repeat(\"ab\", 2) }}", Is(json!("abab"))),
            ("${{ indexOf(\"hello\", \"l\") }}", Is(json!(2))),
            ("${{ hasPrefix(\"hello\", \"he\") }}", Is(json!(true))),
            ("${{ toJSON({\"b\": 1}) }}", Is(json!({"b": 1}))),
            ("x${{ toJSON({\"b\": 1, \"a\": [true]}) }}", Is(json!("x{\n  \"a\": [\n    true\n  ],\n  \"b\": 1\n}"))),
            ("${{ fromJSON(vars.json).k }}", Is(json!([1, 2]))),
            ("${{ keys({\"a\": 1}) }}", Is(json!(["a"]))),
            ("${{ values({\"a\": 1}) }}", Is(json!([1]))),
            ("${{ filter(vars.list, # > 1) }}", Is(json!([3, 2]))),
            ("${{ map(vars.list, # * 2) }}", Is(json!([6, 2, 4]))),
            ("${{ all(vars.list, # > 0) }}", Is(json!(true))),
            ("${{ any(vars.list, # > 2) }}", Is(json!(true))),
            ("${{ none(vars.list, # > 5) }}", Is(json!(true))),
            ("${{ one(vars.list, # == 1) }}", Is(json!(true))),
            ("${{ count(vars.list, # > 1) }}", Is(json!(2))),
            ("${{ sum(vars.list) }}", Is(json!(6))),
            ("${{ first(vars.list) }}", Is(json!(3))),
            ("${{ last(vars.list) }}", Is(json!(2))),
            ("${{ sort(vars.list) }}", Is(json!([1, 2, 3]))),
            ("${{ reverse(vars.list) }}", Is(json!([2, 1, 3]))),
            ("${{ uniq([1, 1, 2]) }}", Is(json!([1, 2]))),
            ("${{ concat([1], [2]) }}", Is(json!([1, 2]))),
            ("${{ flatten([[1], [2, 3]]) }}", Is(json!([1, 2, 3]))),
            ("${{ max(1, 5, 3) }}", Is(json!(5))),
            ("${{ min(4, 2) }}", Is(json!(2))),
            ("${{ abs(-3) }}", Is(json!(3))),
            ("${{ int(\"42\") }}", Is(json!(42))),
            ("${{ float(\"1.5\") }}", Is(json!(1.5))),
            ("${{ string(42) }}", Is(json!(42))),
            ("${{ toBase64(\"hi\") }}", Is(json!("aGk="))),
            ("${{ fromBase64(\"aGk=\") }}", Is(json!("hi"))),
            ("${{ round(2.5) }}", Is(json!(3))),
            ("${{ floor(2.7) }}", Is(json!(2))),
            ("${{ ceil(2.1) }}", Is(json!(3))),
            ("${{ find(vars.list, # < 3) }}", Is(json!(1))),
            ("${{ findIndex(vars.list, # == 2) }}", Is(json!(2))),
            ("${{ sortBy([{\"n\": 2}, {\"n\": 1}], .n) }}", Is(json!([{"n": 1}, {"n": 2}]))),
            ("${{ map([{\"n\": 2}, {\"n\": 1}], .n) }}", Is(json!([2, 1]))),
            ("${{ get(vars.nested, \"a\").b }}", Is(json!("deep"))),
            ("${{ len(\"abc\") }}", Is(json!(3))),
            ("${{ \"日本\" + \"語\" }}", Is(json!("日本語"))),
            ("${{ upper(\"é\") }}", Is(json!("É"))),
        ],
    );
}

#[test]
fn quoting_functions() {
    check(
        "context.json",
        &[
            ("${{ quote(\"a\\\"b\") }}", Is(json!("a\\\"b"))),
            ("${{ quote(\"café\") }}", Is(json!("café"))),
            ("${{ quote(\"🚀 launch\") }}", Is(json!("🚀 launch"))),
            ("${{ quote(\"line\\nbreak\") }}", Is(json!("line\\nbreak"))),
            ("${{ quote(\"zero\u{200b}width\") }}", Is(json!("zero\\u200bwidth"))),
            ("${{ quote(42) }}", Is(json!("42"))),
            ("${{ quote(true) }}", Is(json!("true"))),
            ("${{ quote([\"a\"]) }}", Is(json!("[\"a\"]"))),
            ("${{ quote(nil) }}", Is(json!("null"))),
            ("${{ quote(vars.n) }}", Is(json!("3"))),
            ("${{ unsafeQuote(\"hi\") }}", Is(json!("\"hi\""))),
            ("${{ unsafeQuote(\"<b>\") }}", Is(json!("\"\\u003cb\\u003e\""))),
            ("${{ unsafeQuote(3) }}", Is(json!("3"))),
            ("${{ asJSON({\"b\": 1, \"a\": [true]}) }}", Is(json!("{\n  \"a\": [\n    true\n  ],\n  \"b\": 1\n}\n"))),
            ("${{ asJSON(\"s\") }}", Is(json!("\"s\"\n"))),
            ("${{ asYAML({\"b\": 1, \"a\": \"x\"}) }}", Is(json!("a: x\nb: 1\n"))),
            ("${{ asYAML([\"x\", 1]) }}", Is(json!("- x\n- 1\n"))),
            ("${{ asYAML(vars.nested) }}", Is(json!("a:\n    b: deep\n"))),
            ("${{ quote() }}", Fails("expected 1 argument, got 0")),
        ],
    );
}

#[test]
fn freight_functions() {
    check(
        "context.json",
        &[
            ("${{ warehouse(\"w\") }}", Is(json!({"kind": "Warehouse", "name": "w"}))),
            ("${{ warehouse(\"\") }}", Fails("name must not be empty")),
            ("${{ warehouse(1) }}", Fails("argument must be string, got int")),
            ("${{ imageFrom(vars.image).Tag }}", Is(json!("1.2.3"))),
            ("${{ imageFrom(vars.image).Digest }}", Is(json!("sha256:aaa"))),
            ("${{ imageFrom(vars.image).RepoURL }}", Is(json!("ghcr.io/example/app"))),
            ("${{ imageFrom(\"ghcr.io/example/app\", warehouse(\"w\")).Tag }}", Is(json!("1.2.3"))),
            ("${{ imageFrom(\"ghcr.io/example/app\", warehouse(\"w2\")) }}", Is(json!(null))),
            ("${{ imageFrom(\"ghcr.io/unknown/app\") }}", Is(json!(null))),
            ("${{ imageFrom(\"ghcr.io/unknown/app\")?.Tag ?? \"none\" }}", Is(json!("none"))),
            ("${{ imageFrom(vars.image).Annotations[\"org.opencontainers.image.source\"] }}", Is(json!("https://x"))),
            (
                "${{ imageFrom(vars.image) }}",
                Is(
                    json!({"repoURL": "ghcr.io/example/app", "tag": "1.2.3", "digest": "sha256:aaa", "annotations": {"org.opencontainers.image.source": "https://x"}}),
                ),
            ),
            (
                "${{ imageFrom(\"ghcr.io/example/shared\") }}",
                Is(json!({"repoURL": "ghcr.io/example/shared", "tag": "2.0.0"})),
            ),
            ("${{ commitFrom(vars.repoURL).ID }}", Is(json!("abc123"))),
            ("${{ commitFrom(vars.repoURL).Branch }}", Is(json!("main"))),
            ("${{ commitFrom(\"https://github.com/Example/Other.git\").ID }}", Is(json!("fff999"))),
            ("${{ commitFrom(\"https://github.com/example/other\", warehouse(\"w2\")).Tag }}", Is(json!("v2.0.0"))),
            ("${{ commitFrom(vars.repoURL, \"w\") }}", Fails("second argument must be FreightOrigin, got string")),
            ("${{ commitFrom() }}", Fails("expected 1-2 arguments, got 0")),
            ("${{ chartFrom(\"https://charts.example.com\", \"app\").Version }}", Is(json!("0.4.0"))),
            ("${{ chartFrom(\"oci://ghcr.io/example/charts/lib\").Version }}", Is(json!("1.0.0"))),
            ("${{ chartFrom(\"https://charts.example.com\", \"app\", warehouse(\"w\")).Name }}", Is(json!("app"))),
            (
                "${{ chartFrom(\"https://charts.example.com\") }}",
                Fails("chart from repo https://charts.example.com not found in referenced Freight"),
            ),
            (
                "${{ chartFrom(\"https://charts.example.com\", \"nope\") }}",
                Fails("chart \"nope\" from repo https://charts.example.com not found in referenced Freight"),
            ),
            (
                "${{ chartFrom(\"https://charts.example.com\", warehouse(\"w\"), warehouse(\"w\")) }}",
                Fails("when using three arguments, second argument must be string"),
            ),
            ("${{ artifactFrom(\"releases\").Version }}", Is(json!(7))),
            ("${{ artifactFrom(\"releases\").ArtifactType }}", Is(json!("feed"))),
            ("${{ artifactFrom(\"releases\").Metadata.url }}", Is(json!("https://r"))),
            ("${{ artifactFrom(\"unknown\") }}", Is(json!(null))),
        ],
    );
}

#[test]
fn ambiguity() {
    check(
        "ambiguous.json",
        &[
            (
                "${{ imageFrom(\"ghcr.io/example/app\") }}",
                Fails(
                    "multiple requested Freight could potentially provide a container image from repository ghcr.io/example/app: please provide a Freight origin to disambiguate",
                ),
            ),
            ("${{ imageFrom(\"ghcr.io/example/app\", warehouse(\"b\")).Tag }}", Is(json!("2.0.0"))),
            (
                "${{ commitFrom(\"https://github.com/example/config\") }}",
                Fails(
                    "multiple requested Freight could potentially provide a commit from repo https://github.com/example/config; please update promotion steps to disambiguate",
                ),
            ),
            (
                "${{ artifactFrom(\"releases\") }}",
                Fails("multiple requested Freight could potentially provide an artifact from subscription releases"),
            ),
        ],
    );
}

#[test]
fn data_functions() {
    check(
        "context.json",
        &[
            ("${{ freightMetadata(\"f1\").approvedBy }}", Is(json!("alice"))),
            ("${{ freightMetadata(\"f1\").score }}", Is(json!(9))),
            ("${{ freightMetadata(\"nope\") }}", Is(json!(null))),
            ("${{ freightMetadata(\"\") }}", Fails("freight ref name must not be empty")),
            ("${{ stageMetadata(\"dev\").lastDeploy }}", Is(json!("2024-01-01"))),
            ("${{ stageMetadata(\"\") }}", Fails("stage name must not be empty")),
            ("${{ configMap(\"settings\").env }}", Is(json!("dev"))),
            ("${{ configMap(\"settings\").replicas }}", Is(json!(3))),
            ("${{ configMap(\"missing\") }}", Is(json!({}))),
            ("${{ configMap(\"missing\").x }}", Is(json!(null))),
            ("${{ secret(\"creds\").token }}", Is(json!("s3cr3t"))),
            ("${{ sharedConfigMap(\"global\").region }}", Is(json!("eu"))),
            ("${{ sharedSecret(\"gen\").key }}", Is(json!("v"))),
            ("${{ configMap(1) }}", Fails("argument must be string, got int")),
        ],
    );
}

#[test]
fn semver_functions() {
    check(
        "context.json",
        &[
            ("${{ semverDiff(\"1.2.3\", \"1.3.0\") }}", Is(json!("Minor"))),
            ("${{ semverDiff(\"1.2.3\", \"2.0.0\") }}", Is(json!("Major"))),
            ("${{ semverDiff(\"1.2.3\", \"1.2.4\") }}", Is(json!("Patch"))),
            ("${{ semverDiff(\"1.2.3+a\", \"1.2.3+b\") }}", Is(json!("Metadata"))),
            ("${{ semverDiff(\"1.2.3\", \"v1.2.3\") }}", Is(json!("None"))),
            ("${{ semverDiff(\"1.2.3-rc.1\", \"1.2.3\") }}", Is(json!("None"))),
            ("${{ semverDiff(\"1.2.3\", \"banana\") }}", Is(json!("Incomparable"))),
            ("${{ semverDiff(\"1.2.3\") }}", Fails("expected 2 arguments, got 1")),
            ("${{ semverParse(\"1.2.3\").Major() }}", Is(json!(1))),
            ("${{ semverParse(\"1.2.3\").Minor() + semverParse(\"1.2.3\").Patch() }}", Is(json!(5))),
            ("${{ semverParse(\"v1.2.3-rc.1\").Prerelease() }}", Is(json!("rc.1"))),
            ("${{ semverParse(\"1.2.3+build.5\").Metadata() }}", Is(json!("build.5"))),
            ("${{ semverParse(\"1.2.3\").IncMinor().String() }}", Is(json!("1.3.0"))),
            ("${{ semverParse(\"1.2.3\").IncMajor().String() }}", Is(json!("2.0.0"))),
            ("${{ semverParse(\"1.2.3-rc.1\").IncPatch().String() }}", Is(json!("1.2.3"))),
            ("${{ semverParse(\"1.2.3\").IncPatch().String() }}", Is(json!("1.2.4"))),
            ("${{ semverParse(\"v1.2\").Original() }}", Is(json!("v1.2"))),
            ("${{ semverParse(\"1.2\") }}", Is(json!("1.2.0"))),
            ("${{ semverParse(\"banana\") }}", Fails("invalid semantic version")),
            ("${{ semverParse(vars.version).Major() > 0 }}", Is(json!(true))),
        ],
    );
}

#[test]
fn status_functions() {
    // stepMetas: step-1 Succeeded; task-1::step-2 Failed (continueOnError); task-1::step-3
    // Succeeded; the current step is task-1::commit.
    check(
        "context.json",
        &[
            ("${{ always() }}", Is(json!(true))),
            ("${{ success() }}", Is(json!(true))),
            ("${{ failure() }}", Is(json!(false))),
            ("${{ status(\"step-3\") }}", Is(json!("Succeeded"))),
            ("${{ status(\"step-2\") }}", Is(json!("Failed"))),
            ("${{ status(\"step-1\") }}", Is(json!(""))),
            ("${{ status(\"\") }}", Fails("argument must not be empty")),
            ("${{ always(1) }}", Fails("expected 0 arguments, got 1")),
        ],
    );
}

#[test]
fn errors_say_what_and_where() {
    check(
        "context.json",
        &[
            ("${{ 1 + }}", Fails("syntax error")),
            ("v${{ vars.x", Fails("unclosed expression: expected \"}}\" but reached end of template")),
            ("${% vars.x }}", Fails("unclosed expression: expected \"%}\" but reached end of template")),
            ("${{ \"a\" + 1 }}", Fails("Invalid operands for operator +")),
            ("${{ vars.missing.x }}", Fails("Invalid operand")),
            ("${{ unknownFn(1) }}", Fails("Unknown function: unknownFn")),
            ("${{ {\"a\": [1]} }}", Is(json!({"a": [1]}))),
            (
                "${{ asYAML({\"images\": [{\"name\": \"app\", \"tag\": vars.version}]}) }}",
                Is(json!("images:\n    - name: app\n      tag: 1.2.3\n")),
            ),
        ],
    );
    let err = evaluate("context.json", "abc ${{ 1 + }}").unwrap_err();
    assert!(err.contains("(in \"1 +\" at column"), "{err}");
}

/// Expressions come from whoever writes a Stage: a range or a repeat that would allocate
/// gigabytes fails fast against the memory budget (Go's expr: 1,000,000 units) instead.
#[test]
fn memory_budget() {
    let started = std::time::Instant::now();
    check(
        "context.json",
        &[
            ("${{ len(0..999) }}", Is(json!(1000))),
            ("${{ len(1..0) }}", Is(json!(0))),
            ("${{ sum(1..4) }}", Is(json!(10))),
            ("${{ 2 in 1 + 0..1 + 2 }}", Is(json!(true))),
            ("${{ len(0..999999) }}", Is(json!(1_000_000))),
            ("${{ len(repeat('ab', 3)) }}", Is(json!(6))),
            ("${{ len(0..1000000000) }}", Fails("memory budget exceeded")),
            ("${{ len(-9223372036854775807..9223372036854775807) }}", Fails("memory budget exceeded")),
            ("${{ len(map(0..9999, {0..9999})) }}", Fails("memory budget exceeded")),
            ("${{ len(repeat(repeat('x', 1000000), 1000000)) }}", Fails("memory budget exceeded")),
            ("${{ let n = 2000000; len(0..n) }}", Fails("memory budget exceeded")),
        ],
    );
    assert!(started.elapsed().as_secs() < 5, "took {:?}", started.elapsed());
}

/// Expressions whose parsing would take exponential time in expr-lang's grammar (found by
/// fuzzing) fail at once with what is wrong.
#[test]
fn pathological_parses_fail_fast() {
    let started = std::time::Instant::now();
    let nested_slices = format!("${{{{ {}1{} }}}}", "a[".repeat(12), ":]".repeat(12));
    check(
        "context.json",
        &[
            (
                "${{ep[anp[aT??l[anp[aT??leT??lnp[aT??leT??lnp[aT??len??n?n??np[aT??leen??np[aT??len??n?n??np[aT?]len?2n}}",
                Fails("unbalanced brackets"),
            ),
            ("${{ a[b[c[d[e[f[g[h[i[j[k[l[m[1]]]]]]]]]]]]] }}", Fails("deeper than 12")),
            ("${{ f(g(h( }}", Fails("never closed")),
        ],
    );
    // At the depth allowed, the worst case (every level fails its first reading) is quick.
    let _ = evaluate("context.json", &nested_slices);
    assert!(started.elapsed().as_secs() < 5, "took {:?}", started.elapsed());
}
