//! Sprig's functions as `shared/reference/helm-rendering.md` §8.3 describes them.

use crate::template::Set;
use crate::value::Value;

fn render(src: &str) -> Result<String, String> {
    let mut set = Set::new();
    super::register(&mut set);
    set.add("t", src).map_err(|e| e.to_string())?;
    let data = Value::map([(
        "Values",
        Value::map([
            ("port", Value::Float(8080.0)),
            ("count", Value::Int64(3)),
            ("name", Value::from("My App")),
            ("list", Value::List(vec![Value::Float(3.0), Value::from("b"), Value::Nil])),
            ("enabled", Value::Bool(false)),
        ]),
    )]);
    set.execute("t", &data).map_err(|e| e.to_string())
}

fn ok(src: &str) -> String {
    render(src).unwrap_or_else(|e| panic!("{src}: {e}"))
}

#[test]
fn defaults_and_emptiness() {
    assert_eq!(ok("{{ default \"x\" .Values.missing }} {{ default \"x\" .Values.name }}"), "x My App");
    // `default true .Values.enabled` cannot give false.
    assert_eq!(ok("{{ default true .Values.enabled }}"), "true");
    assert_eq!(ok("{{ empty 0 }} {{ empty \"0\" }} {{ coalesce .Values.missing \"\" \"c\" }}"), "true false c");
    assert_eq!(ok("{{ ternary \"y\" \"n\" true }}"), "y");
    assert!(render("{{ ternary \"y\" \"n\" \"true\" }}").unwrap_err().contains("expected bool; got string"));
}

#[test]
fn strings_count_bytes_and_type_their_arguments() {
    assert_eq!(
        ok("{{ .Values.name | upper }}|{{ \"hello world\" | title }}|{{ trunc 2 \"abc\" }}|{{ trunc -2 \"abc\" }}"),
        "MY APP|Hello World|ab|bc"
    );
    assert_eq!(ok("{{ substr 1 3 \"hello\" }}|{{ substr -1 2 \"hello\" }}|{{ substr 2 99 \"hello\" }}"), "el|he|llo");
    assert_eq!(
        ok("{{ quote .Values.name .Values.missing 3 }}|{{ squote \"a\" }}|{{ cat \"a\" nil \"b\" }}"),
        "\"My App\" \"3\"|'a'|a b"
    );
    assert_eq!(ok("{{ \"a\\nb\" | indent 2 }}|{{ \"x\" | nindent 2 }}"), "  a\n  b|\n  x");
    assert_eq!(
        ok("{{ splitList \",\" \"a,b\" }} {{ (split \",\" \"a,b\")._1 }} {{ join \"-\" .Values.list }}"),
        "[a b] b 3-b"
    );
    assert_eq!(
        ok("{{ \"FooBar baz\" | snakecase }} {{ \"foo_bar\" | camelcase }} {{ \"fooBar\" | kebabcase }}"),
        "foo_bar_baz FooBar foo-bar"
    );
    // A YAML number is a float64: Go refuses it for an int or string parameter.
    let err = render("{{ indent .Values.port \"x\" }}").unwrap_err();
    assert!(err.ends_with("wrong type for value; expected int; got float64"), "{err}");
    let err = render("{{ upper .Values.port }}").unwrap_err();
    assert!(err.ends_with("wrong type for value; expected string; got float64"), "{err}");
    assert_eq!(ok("{{ toString .Values.port }} {{ toString 1000000.0 }} {{ toString nil }}"), "8080 1e+06 <nil>");
}

#[test]
fn numbers_convert_as_cast_does() {
    assert_eq!(
        ok("{{ int \"0x10\" }} {{ int \"010\" }} {{ int \"3.7\" }} {{ int .Values.port }} {{ int \"junk\" }}"),
        "16 8 3 8080 0"
    );
    assert_eq!(
        ok("{{ add 1 2 .Values.port }} {{ sub 10 .Values.count }} {{ mul 2 3 }} {{ div 7 2 }} {{ mod 7 2 }}"),
        "8083 7 6 3 1"
    );
    assert_eq!(ok("{{ max 1 5 3 }} {{ min 4 2 }} {{ addf 1.5 1 }} {{ floor 1.7 }} {{ round 2.5 0 }}"), "5 2 2.5 1 3");
    assert!(render("{{ div 1 0 }}").unwrap_err().ends_with("integer divide by zero"));
    assert_eq!(ok("{{ until 3 }} {{ seq 3 }} {{ seq 5 -2 1 }}"), "[0 1 2] 1 2 3 5 3 1");
    assert_eq!(ok("{{ typeOf (add 1 1) }} {{ typeOf .Values.port }} {{ kindOf .Values.list }}"), "int64 float64 slice");
}

#[test]
fn dicts_are_shared_references() {
    // `set` changes the map every holder sees: the chart idiom `$_ := set $d ...`.
    assert_eq!(ok("{{ $d := dict \"a\" 1 }}{{ $_ := set $d \"b\" 2 }}{{ $d }}"), "map[a:1 b:2]");
    assert_eq!(
        ok("{{ $d := dict \"a\" 1 \"b\" 2 }}{{ $_ := unset $d \"a\" }}{{ keys $d }} {{ hasKey $d \"b\" }}"),
        "[b] true"
    );
    assert_eq!(
        ok(
            "{{ get (dict \"a\" 1) \"zz\" }}|{{ pick (dict \"a\" 1 \"b\" 2) \"b\" }}|{{ omit (dict \"a\" 1 \"b\" 2) \"b\" }}"
        ),
        "|map[b:2]|map[a:1]"
    );
    // merge: the destination wins unless its value is empty; mergeOverwrite: later wins.
    assert_eq!(ok("{{ merge (dict \"a\" false \"b\" 1) (dict \"a\" true \"b\" 2 \"c\" 3) }}"), "map[a:true b:1 c:3]");
    assert_eq!(ok("{{ mergeOverwrite (dict \"a\" true) (dict \"a\" false) }}"), "map[a:false]");
    assert_eq!(ok("{{ $d := dict \"x\" (dict \"y\" 1) }}{{ dig \"x\" \"y\" 0 $d }} {{ dig \"x\" \"z\" 9 $d }}"), "1 9");
    assert_eq!(ok("{{ $a := dict \"k\" 1 }}{{ $b := deepCopy $a }}{{ $_ := set $b \"k\" 2 }}{{ $a.k }}"), "1");
}

#[test]
fn lists_copy_and_compare_by_type() {
    assert_eq!(ok("{{ $l := list 1 2 }}{{ $m := append $l 3 }}{{ $l }} {{ $m }}"), "[1 2] [1 2 3]");
    assert_eq!(
        ok("{{ first .Values.list }} {{ last (list 1 2) }} {{ rest (list 1 2 3) }} {{ initial (list 1 2 3) }}"),
        "3 2 [2 3] [1 2]"
    );
    // Deep equality is type-sensitive: float64 3 is not int 3.
    assert_eq!(
        ok("{{ has 3 .Values.list }} {{ has 3.0 .Values.list }} {{ uniq (list 1 1 \"1\") }}"),
        "false true [1 1]"
    );
    assert_eq!(
        ok("{{ concat (list 1) (list 2 3) }} {{ without (list 1 2 1) 1 }} {{ reverse (list 1 2) }}"),
        "[1 2 3] [2] [2 1]"
    );
    assert_eq!(
        ok("{{ slice (list 1 2 3) 1 }} {{ chunk 2 (list 1 2 3) }} {{ compact (list 0 1 \"\" 2) }}"),
        "[2 3] [[1 2] [3]] [1 2]"
    );
    // Sprig's words, with the value's reflect kind; the must* forms return what the plain ones panic with.
    assert!(
        render("{{ first \"abc\" }}").unwrap_err().contains("error calling first: Cannot find first on type string")
    );
    assert!(
        render("{{ mustFirst 1 }}").unwrap_err().contains("error calling mustFirst: Cannot find first on type int")
    );
    assert!(render("{{ append (dict) 1 }}").unwrap_err().contains("Cannot push on type map"));
    assert!(
        render("{{ mustSlice \"x\" 1 }}").unwrap_err().contains("list should be type of slice or array but string")
    );
    assert_eq!(ok("{{ mustLast (list 1 2) }} {{ mustUniq (list 1 1 2) }} {{ mustHas 2 (list 1 2) }}"), "2 [1 2] true");
}

#[test]
fn encodings_json_and_regex() {
    assert_eq!(
        ok("{{ b64enc \"hi\" }} {{ b64dec \"aGk=\" }} {{ sha256sum \"a\" | trunc 8 }} {{ adler32sum \"abc\" }}"),
        "aGk= hi ca978112 38600999"
    );
    assert_eq!(
        ok("{{ toJson (dict \"b\" 1.5 \"a\" (list \"<x>\" nil) \"big\" 1e21 \"n\" 1000000.0) }}"),
        r#"{"a":["\u003cx\u003e",null],"b":1.5,"big":1e+21,"n":1000000}"#
    );
    assert_eq!(ok("{{ toRawJson (list \"<x>\") }}"), r#"["<x>"]"#);
    assert_eq!(ok("{{ toPrettyJson (dict \"a\" (list 1)) }}"), "{\n  \"a\": [\n    1\n  ]\n}");
    assert_eq!(ok("{{ (fromJson \"{\\\"a\\\": 2}\").a }} {{ typeOf (fromJson \"{\\\"a\\\": 2}\").a }}"), "2 float64");
    assert!(ok("{{ (fromJson \"[1]\").Error }}").contains("cannot unmarshal array"));
    assert_eq!(
        ok(
            "{{ regexMatch \"^a.c$\" \"abc\" }} {{ regexMatch \"(\" \"x\" }} {{ regexReplaceAll \"a(x*)b\" \"-ab-axxb-\" \"${1}W\" }}"
        ),
        "true false -W-xxW-"
    );
    assert!(render("{{ regexFind \"(\" \"x\" }}").unwrap_err().contains("regexp: Compile"));
    assert_eq!(
        ok("{{ base \"a/b.txt\" }} {{ dir \"a/b/c\" }} {{ ext \"x.tar.gz\" }} {{ clean \"a/../b//c/\" }}"),
        "b.txt a/b .gz b/c"
    );
}

#[test]
fn semver_as_charts_use_it() {
    // Pre-releases match only constraints that have one: charts write `>=1.19-0`.
    assert_eq!(
        ok("{{ semverCompare \">=1.19-0\" \"v1.20.0\" }} {{ semverCompare \">=1.21-0\" \"v1.20.0\" }}"),
        "true false"
    );
    assert_eq!(ok("{{ semverCompare \"^1.2.0\" \"1.9.3\" }} {{ semverCompare \"~1.2.0\" \"1.3.0\" }}"), "true false");
    assert_eq!(ok("{{ semverCompare \">=1.0.0\" \"1.1.0-rc.1\" }}"), "false");
    assert_eq!(
        ok("{{ (semver \"v1.2.3-beta+build\").Minor }} {{ (semver \"1.2\").Patch }} {{ semver \"v2.0\" }}"),
        "2 0 2.0.0"
    );
    assert_eq!(ok("{{ (semver \"1.2.3\").LessThan (semver \"1.10.0\") }}"), "true");
    assert!(render("{{ semverCompare \"nope\" \"1.0.0\" }}").unwrap_err().contains("improper constraint"));
    assert!(render("{{ semver \"x.y\" }}").unwrap_err().contains("Invalid Semantic Version"));
}

#[test]
fn cryptographic_functions_say_why_they_are_missing_when_called() {
    assert_eq!(ok("{{ if false }}{{ genCA \"x\" 365 }}{{ end }}ok"), "ok");
    let error = render("{{ genCA \"x\" 365 }}").unwrap_err();
    assert!(error.contains("genCA is not supported by Convoy's Helm renderer"), "{error}");
}
