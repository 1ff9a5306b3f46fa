//! Go `text/template` behaviour as `shared/reference/helm-rendering.md` §6–7 states it.

use super::*;

fn values() -> Value {
    Value::map([(
        "Values",
        Value::map([
            ("name", Value::from("web")),
            ("port", Value::Float(8080.0)),
            ("big", Value::Float(1_000_000.0)),
            ("list", Value::List(vec![Value::from("a"), Value::from("b"), Value::from("c")])),
            ("map", Value::map([("z", Value::Int(1)), ("a", Value::Int(2)), ("m", Value::Int(3))])),
            ("empty", Value::from("")),
            ("null", Value::Nil),
            ("flag", Value::Bool(false)),
        ]),
    )])
}

fn render(src: &str) -> Result<String, Error> {
    let mut set = Set::new();
    set.add("t", src)?;
    set.execute("t", &values())
}

fn ok(src: &str) -> String {
    render(src).unwrap_or_else(|e| panic!("{src}: {e}"))
}

#[test]
fn fields_missing_keys_and_no_value() {
    assert_eq!(ok("name: {{ .Values.name }}"), "name: web");
    assert_eq!(ok("{{ .Values.missing }}"), "<no value>", "Helm strips it later, Go prints it");
    assert_eq!(ok("{{ .Values.port }} {{ .Values.big }}"), "8080 1e+06");
    // A field of a missing key is an error; of a parenthesized missing value it is nothing.
    let err = render("{{ .Values.missing.deeper }}").unwrap_err().to_string();
    assert_eq!(
        err,
        "template: t:1:3: executing \"t\" at <.Values.missing.deeper>: nil pointer evaluating interface {}.deeper"
    );
    assert_eq!(ok("{{ (.Values.missing).deeper }}"), "<no value>");
    let err = render("{{ .Values.name.x }}").unwrap_err().to_string();
    assert!(err.ends_with("can't evaluate field x in type string"), "{err}");
}

#[test]
fn trimming_and_comments() {
    assert_eq!(ok("a:\n  {{- .Values.name }}\n"), "a:web\n");
    assert_eq!(ok("{{ .Values.name -}}\n\n  x"), "webx");
    assert_eq!(ok("a {{/* a comment */}} b"), "a  b");
    assert_eq!(ok("{{- /* gone */ -}}\n  x"), "x");
}

#[test]
fn conditionals_and_truth() {
    assert_eq!(ok("{{ if .Values.flag }}y{{ else if .Values.empty }}e{{ else }}n{{ end }}"), "n");
    assert_eq!(ok("{{ if \"false\" }}true{{ end }}{{ if 0 }}zero{{ end }}{{ if .Values.list }}L{{ end }}"), "trueL");
    assert_eq!(ok("{{ with .Values.name }}{{ . }}{{ end }}{{ with .Values.null }}x{{ else }}none{{ end }}"), "webnone");
    assert_eq!(ok("{{ with .Values.empty }}x{{ else with .Values.name }}{{ . }}{{ end }}"), "web");
}

#[test]
fn range_over_lists_maps_and_ints() {
    assert_eq!(ok("{{ range .Values.list }}{{ . }},{{ end }}"), "a,b,c,");
    assert_eq!(ok("{{ range $i, $v := .Values.list }}{{ $i }}={{ $v }} {{ end }}"), "0=a 1=b 2=c ");
    assert_eq!(ok("{{ range $k, $v := .Values.map }}{{ $k }}{{ $v }}{{ end }}"), "a2m3z1", "maps in key order");
    assert_eq!(ok("{{ range 3 }}{{ . }}{{ end }}"), "012");
    assert_eq!(ok("{{ range .Values.missing }}x{{ else }}empty{{ end }}"), "empty");
    assert_eq!(ok("{{ range .Values.list }}{{ if eq . \"b\" }}{{ break }}{{ end }}{{ . }}{{ end }}"), "a");
    assert_eq!(ok("{{ range .Values.list }}{{ if eq . \"b\" }}{{ continue }}{{ end }}{{ . }}{{ end }}"), "ac");
    let err = render("{{ range .Values.port }}{{ end }}").unwrap_err().to_string();
    assert!(err.ends_with("range can't iterate over 8080"), "{err}");
}

#[test]
fn variables_scope_and_assignment() {
    assert_eq!(
        ok("{{ $x := 1 }}{{ range .Values.list }}{{ $x = . }}{{ end }}{{ $x }}"),
        "c",
        "assignment reaches outside"
    );
    assert_eq!(ok("{{ $ := 5 }}{{ $ }}"), "5");
    assert_eq!(ok("{{ range .Values.list }}{{ $.Values.name }}{{ end }}"), "webwebweb");
    let err = render("{{ if true }}{{ $y := 1 }}{{ end }}{{ $y }}").unwrap_err().to_string();
    assert!(err.contains("undefined variable \"$y\""), "{err}");
}

#[test]
fn pipelines_and_builtins() {
    assert_eq!(ok("{{ .Values.name | printf \"%s-%s\" \"x\" }}"), "x-web");
    assert_eq!(ok("{{ and 1 0 2 }} {{ or 0 \"\" \"z\" }} {{ or 0 \"\" }} {{ not 0 }}"), "0 z  true");
    // `and` stops at the deciding argument: the erroring field is never evaluated.
    assert_eq!(ok("{{ and .Values.null .Values.null.x }}"), "<no value>");
    assert_eq!(ok("{{ len .Values.list }} {{ index .Values.list 1 }} {{ index .Values.map \"m\" }}"), "3 b 3");
    assert_eq!(ok("{{ index .Values.map \"nope\" }}"), "<no value>");
    assert_eq!(ok("{{ print 1 2 \"a\" 3 }}|{{ println \"a\" 1 }}"), "1 2a3|a 1\n");
    assert_eq!(ok("{{ html \"<a href='x'>\" }} {{ urlquery \"a b&c\" }}"), "&lt;a href=&#39;x&#39;&gt; a+b%26c");
    assert_eq!(
        ok("{{ eq .Values.name \"db\" \"web\" }} {{ ne 1 2 }} {{ lt 1 2 }} {{ ge \"b\" \"a\" }}"),
        "true true true true"
    );
    assert_eq!(ok("{{ eq .Values.missing 3 }}"), "false", "nil on one side is false, not an error");
}

#[test]
fn typing_errors_as_go_reports_them() {
    // A YAML number is a float64: comparing with an int constant fails.
    let err = render("{{ eq .Values.port 8080 }}").unwrap_err().to_string();
    assert!(err.ends_with("error calling eq: incompatible types for comparison"), "{err}");
    assert_eq!(ok("{{ eq .Values.port 8080.0 }}"), "true");
    let err = render("{{ index .Values.list 1.0 }}").unwrap_err().to_string();
    assert!(err.ends_with("cannot index slice/array with type float64"), "{err}");
    let err = render("{{ lt true false }}").unwrap_err().to_string();
    assert!(err.ends_with("invalid type for comparison"), "{err}");
    let err = render("{{ len 3 }}").unwrap_err().to_string();
    assert!(err.ends_with("len of type int"), "{err}");
}

#[test]
fn define_template_and_block() {
    let mut set = Set::new();
    set.add("a", "{{ define \"greet\" }}hello {{ . }}{{ end }}[{{ template \"greet\" .Values.name }}]").unwrap();
    assert_eq!(set.execute("a", &values()).unwrap(), "[hello web]");
    // A later definition replaces an earlier one; an empty one does not.
    set.add("b", "{{ define \"greet\" }}hi {{ . }}{{ end }}").unwrap();
    set.add("c", "{{ define \"greet\" }} {{/* nothing */}} {{ end }}").unwrap();
    assert_eq!(set.execute("a", &values()).unwrap(), "[hi web]");
    set.add("d", "{{ block \"footer\" . }}default {{ .Values.name }}{{ end }}").unwrap();
    assert_eq!(set.execute("d", &values()).unwrap(), "default web");
    // A template call does not see the caller's variables, and without data has none.
    set.add("e", "{{ define \"v\" }}{{ . }}{{ end }}{{ $x := 1 }}{{ template \"v\" }}").unwrap();
    assert_eq!(set.execute("e", &values()).unwrap(), "<no value>");
    let err = set.add("f", "{{ template \"nope\" }}").and_then(|()| set.execute("f", &values())).unwrap_err();
    assert!(err.to_string().contains("no such template \"nope\""), "{err}");
}

#[test]
fn parse_errors_name_the_template_and_line() {
    let err = render("ok\n{{ nosuch 1 }}").unwrap_err().to_string();
    assert_eq!(err, "template: t:2: function \"nosuch\" not defined");
    assert!(render("{{ if true }}x").unwrap_err().to_string().contains("unexpected EOF"));
    assert!(render("{{ end }}").unwrap_err().to_string().contains("unexpected {{end}}"));
    assert!(render("{{ break }}").unwrap_err().to_string().contains("{{break}} outside {{range}}"));
    assert!(render("{{ \"a\" \"b\" }}").unwrap_err().to_string().contains("can't give argument to non-function"));
    assert!(render("{{ $ \"b\" }}").unwrap_err().to_string().contains("can't give argument to non-function $"));
}

#[test]
fn literals() {
    assert_eq!(
        ok("{{ 0x1F }} {{ 0o17 }} {{ 017 }} {{ 0b101 }} {{ 1_000 }} {{ 'a' }} {{ 1.5e3 }} {{ -3 }}"),
        "31 15 15 5 1000 97 1500 -3"
    );
    assert_eq!(ok("{{ `raw\\n` }}|{{ \"esc\\t\" }}"), "raw\\n|esc\t");
    assert_eq!(ok("{{ nil | print }}"), "<nil>");
}

#[test]
fn functions_can_be_added() {
    let mut set = Set::new();
    set.func(
        "upper",
        Arc::new(|_, args| match args.as_slice() {
            [Value::String(s)] => Ok(Value::String(s.to_uppercase())),
            _ => Err("wrong type for value; expected string".into()),
        }),
    );
    set.add("t", "{{ .Values.name | upper }}").unwrap();
    assert_eq!(set.execute("t", &values()).unwrap(), "WEB");
}

#[test]
fn hostile_parentheses_are_an_error_not_a_crash() {
    let deep = format!("{{{{ {}1{} }}}}", "(".repeat(5000), ")".repeat(5000));
    assert!(render(&deep).unwrap_err().to_string().contains("nesting deeper than"));
}

#[test]
fn hostile_control_nesting_is_an_error_not_a_crash() {
    let ifs = format!("{}x{}", "{{ if true }}".repeat(5000), "{{ end }}".repeat(5000));
    assert!(render(&ifs).unwrap_err().to_string().contains("nesting deeper than"));
}

#[test]
fn endless_template_recursion_is_an_error_not_a_crash() {
    let mut set = Set::new();
    set.add("t", "{{ define \"loop\" }}{{ template \"loop\" . }}{{ end }}{{ template \"loop\" . }}").unwrap();
    assert!(set.execute("t", &values()).unwrap_err().to_string().contains("exceeded maximum template depth"));
}

#[test]
fn runaway_loops_and_output_are_stopped() {
    let err = render("{{ range 100000000000 }}{{ end }}").unwrap_err().to_string();
    assert!(err.contains("exceeds 50000000 steps"), "{err}");
    let mut set = Set::new();
    let doubling = "{{ define \"d\" }}{{ . }}{{ . }}{{ end }}{{ $s := \"xxxxxxxxxxxxxxxx\" }}{{ range 40 }}{{ $s = include2 $s }}{{ end }}{{ $s }}";
    set.func("include2", Arc::new(|call, args| call.execute("d", &args[0]).map(Value::String)));
    set.add("t", doubling).unwrap();
    let err = set.execute("t", &values()).unwrap_err().to_string();
    assert!(err.contains("output exceeds 64 MiB"), "{err}");
}

/// Random texts made of template fragments: parsing and executing never panic (the fuzz target
/// `fuzz/fuzz_targets/helm_template.rs`, run by `scripts/bench/fuzz.sh`, explores further).
#[test]
fn random_texts_never_panic() {
    const FRAGMENTS: [&str; 34] = [
        "{{", "}}", "{{-", "-}}", " ", "\n", ".", ".Values", ".name", "$", "$x", ":=", "=", "|", "(", ")", "\"s\"",
        "`r`", "'c'", "1", "-2.5e3", "0x1f", "if", "else", "end", "range", "with", "define", "template", "block",
        "break", "printf", "/*", "*/",
    ];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..3000 {
        let len = (next() % 24) as usize;
        let text: String = (0..len).map(|_| FRAGMENTS[(next() % FRAGMENTS.len() as u64) as usize]).collect();
        let mut set = Set::new();
        if set.add("t", &text).is_ok() {
            let _ = set.execute("t", &values());
        }
    }
}

/// A Go object: fields, a method with arguments at the end of a chain, its String().
#[derive(Debug)]
struct Capabilities;

impl crate::value::Object for Capabilities {
    fn type_name(&self) -> &'static str {
        "chartutil.Capabilities"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "KubeVersion" => Some(Value::map([("Major", Value::from("1")), ("Minor", Value::from("20"))])),
            "APIVersions" => Some(Value::Object(Arc::new(Capabilities))),
            _ => None,
        }
    }
    fn method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        (name == "Has").then(|| match args {
            [Value::String(v)] => Ok(Value::Bool(v == "apps/v1")),
            _ => Err("wrong number of args".into()),
        })
    }
    fn print(&self) -> String {
        "capabilities".into()
    }
}

#[test]
fn objects_have_fields_and_methods() {
    let mut set = Set::new();
    let src = "{{ .Capabilities.KubeVersion.Minor }} {{ .Capabilities.APIVersions.Has \"apps/v1\" }} {{ \"x/v1\" | .Capabilities.APIVersions.Has }} {{ .Capabilities }}";
    set.add("t", src).unwrap();
    let data = Value::map([("Capabilities", Value::Object(Arc::new(Capabilities)))]);
    assert_eq!(set.execute("t", &data).unwrap(), "20 true false capabilities");
    set.add("u", "{{ .Capabilities.Nope }}").unwrap();
    let err = set.execute("u", &data).unwrap_err().to_string();
    assert!(err.ends_with("can't evaluate field Nope in type chartutil.Capabilities"), "{err}");
    set.add("v", "{{ .Capabilities.KubeVersion.Minor \"x\" }}").unwrap();
    assert!(set.execute("v", &data).unwrap_err().to_string().contains("can't give argument to non-function"));
}
