//! Differential test against the real thing: the same chart rendered by Convoy and by Go's
//! text/template with Sprig (Debian's Go 1.19 and Sprig 3.2.3, through
//! `scripts/bench/helm-baseline`, which `scripts/test.sh` builds and names in
//! `CONVOY_HELM_BASELINE`), the outputs compared document by document. The chart is a zoo of
//! the language and the function map; no expected value is written here.

use std::path::Path;
use std::process::Command;

use convoy_helm::chart::Chart;
use convoy_helm::render::{Options, render};

const VALUES: &str = r##"
name: web
replicas: 3
ratio: 0.25
big: 1000000
negative: -7
enabled: true
disabled: false
nothing: null
empty: ""
image: {repository: registry.example.com/team/web, tag: "1.2.3"}
ports: [80, 443, 8080]
names: [zeta, alpha, mid, alpha]
env: {LOG_LEVEL: info, REGION: eu-west-1, WORKERS: "4"}
nested: {a: {b: {c: deep}}, list: [{k: 1}, {k: 2}]}
text: "Hello, World! The quick brown fox jumps over the lazy dog"
version: "1.4.2"
yamlText: "a: 1\nb: [x, y]\n"
jsonText: '{"k": [1, 2, {"n": null}], "s": "v"}'
yamlZoo:
  plain: hello world
  quotedWords: ["yes", "no", "on", "off", "y", "n", "true", "null", "~", ""]
  dateStrings: ["2002-02-30", "2004-02-29", "2002-1-5", "2001-12-14 21:59:43.10", "2001-12-14T21:59:43Z", "2001-12-14T21:59:43", "1999-1-1t1:2:3+05:30", "20021-12-14", "2001-12-14T25:00:00Z", "2001-12-14 1:2:3.1234567891"]
  numericStrings: ["1", "1.0", "0755", "1e3", "0x1F", "+1", "-", ".5", "1_000", "12:30"]
  specials: ["a: b", "#hash", "- dash", "@at", "`tick", "50%", "x,y", "[br]", "{br}", "*star", "&amp", "!bang", "|pipe", ">gt", "'sq", "\"dq"]
  spaces: [" lead", "trail ", "in side", "tab\there"]
  multiLine: "line one\nline two\n"
  multiNoEnd: "line one\nline two"
  multiTrailingSpaces: "a  \nb"
  long: "The quick brown fox jumps over the lazy dog and keeps running far beyond the eightieth column of this line"
  longNoSpace: "Thequickbrownfoxjumpsoverthelazydogandkeepsrunningfarbeyondtheeightiethcolumnofthislineforever"
  unicode: "héllo wörld ✓"
  emoji: "rocket 🚀"
  nbsp: "a\u00a0b"
  crlf: "a\r\nb"
  tabbedLines: "a\tb\nc\n"
  longQuoted: "a  \nThe quick brown fox jumps over the lazy dog and keeps running far beyond the eightieth column of this line"
  control: "bell\u0007"
  numbers: [0, -1, 1.5, 1000000, 1.0e+21, 0.000001, 123456789012]
  bools: [true, false]
  empties: {map: {}, list: [], "null": null, str: ""}
  "key with space": 1
  "key:colon": 2
  "123": numeric key
  "true": bool key
  nestedLists: [[1, 2], [], [[3]], [{a: 1, b: [x]}]]
  listOfMaps: [{name: a, value: 1}, {name: b, value: {deep: [1, 2]}}]
yaml11:
  booleans: [yes, no, on, off, y, n, Yes, NO, On, TRUE, False]
  on: key read as a boolean
  octal: [0755, 0o17, 017, 08]
  numbers: [0x1F, 1_000, +12, -0, .5, 1., 6.02e23, 1e-3, 012345678901234567890]
  timestamps: [2001-12-14t21:59:43.10-05:00, 2002-12-14, "2002-12-14"]
  strings: [~, null, Null, "", '', 'single ''quoted''', "double \"quoted\"", plain text with: colon]
  folded: >
    folded
    text

    kept paragraph
  literalKeep: |+
    kept

  literalStrip: |-
    stripped
  anchors:
    base: &base {a: 1, b: [x, y]}
    copy: *base
    merged:
      <<: *base
      b: overridden
      c: 3
  flow: {a: [1, {b: c}], "d e": f}
  multiDoc: "--- not a document"
"##;

const HELPERS: &str = r#"{{- define "zoo.name" -}}{{ .Values.name }}-{{ .Release.Name }}{{- end -}}
{{- define "zoo.labels" -}}
app: {{ include "zoo.name" . }}
chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}
{{- define "zoo.block" }}default block {{ . }}{{ end -}}
"#;

/// `key: "<expression's output>"` lines of a ConfigMap, the output quoted by the template.
fn config_map(name: &str, entries: &[(&str, &str)]) -> String {
    let mut text = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n");
    for (key, expression) in entries {
        text.push_str(&format!("  {key}: {{{{ {expression} | toString | quote }}}}\n"));
    }
    text
}

fn zoo(dir: &Path) {
    let write = |path: &str, text: &str| {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("Chart.yaml", "apiVersion: v2\nname: zoo\nversion: 0.3.1\nappVersion: 2.0.0\n");
    write("values.yaml", VALUES);
    write("templates/_helpers.tpl", HELPERS);
    write(
        "templates/strings.yaml",
        &config_map(
            "strings",
            &[
                ("upper", "upper .Values.name"),
                ("title", "title .Values.text"),
                ("untitle", "untitle \"Hello World\""),
                ("trunc", "trunc 5 .Values.text"),
                ("truncNeg", "trunc -5 .Values.text"),
                ("abbrev", "abbrev 12 .Values.text"),
                ("abbrevboth", "abbrevboth 5 20 .Values.text"),
                ("substr", "substr 7 12 .Values.text"),
                ("repeat", "repeat 3 \"ab\""),
                ("nospace", "nospace \"a b  c\""),
                ("initials", "initials .Values.text"),
                ("wrap", "wrap 12 .Values.text"),
                ("wrapWith", "wrapWith 10 \"|\" .Values.text"),
                ("contains", "contains \"quick\" .Values.text"),
                ("prefix", "hasPrefix \"Hello\" .Values.text"),
                ("suffix", "hasSuffix \"dog\" .Values.text"),
                ("squote", "squote .Values.name"),
                ("cat", "cat \"a\" 1 .Values.ratio nil \"b\""),
                ("indent", "indent 2 \"x\\ny\""),
                ("nindent", "nindent 2 \"x\""),
                ("replace", "replace \" \" \"_\" .Values.text"),
                ("plural", "plural \"one\" \"many\" 2"),
                ("snake", "snakecase \"HelloWorldFooBar\""),
                ("camel", "camelcase \"hello_world_foo\""),
                ("kebab", "kebabcase \"HelloWorldFoo\""),
                ("swap", "swapcase \"Hello World\""),
                ("trim", "trim \"  x  \""),
                ("trimAll", "trimAll \"$\" \"$$5$$\""),
                ("trimPrefix", "trimPrefix \"Hello\" .Values.text"),
                ("trimSuffix", "trimSuffix \"dog\" .Values.text"),
                ("split", "split \",\" \"a,b,c\""),
                ("splitList", "splitList \",\" \"a,b,c\""),
                ("splitn", "splitn \",\" 2 \"a,b,c\""),
                ("join", "join \"-\" .Values.names"),
                ("sortAlpha", "sortAlpha .Values.names"),
                ("toStrings", "toStrings .Values.ports"),
                (
                    "printf",
                    "printf \"%s|%d|%v|%5.2f|%q|%x|%t|%T\" .Values.name 42 .Values.ports .Values.ratio \"q\" 255 true .Values.replicas",
                ),
                ("printBig", "print .Values.big .Values.ratio .Values.negative"),
                ("printMap", "print .Values.env"),
                ("printNested", "print .Values.nested"),
                ("b64", "b64enc .Values.text | b64dec"),
                ("b64enc", "b64enc .Values.name"),
                ("b32", "b32enc .Values.name"),
                ("sha1", "sha1sum .Values.name"),
                ("sha256", "sha256sum .Values.name"),
                ("adler", "adler32sum .Values.name"),
                ("regexMatch", "regexMatch \"^[a-z]+$\" .Values.name"),
                ("regexFind", "regexFind \"[aeiou]+\" .Values.text"),
                ("regexFindAll", "regexFindAll \"o[a-z]\" .Values.text -1"),
                ("regexReplace", "regexReplaceAll \"(\\\\w+)@\" \"me@x\" \"${1}-at-\""),
                ("regexSplit", "regexSplit \"\\\\s+\" \"a  b c\" -1"),
                ("quoteMeta", "regexQuoteMeta \"1.2+3\""),
            ],
        ),
    );
    write(
        "templates/math.yaml",
        &config_map(
            "math",
            &[
                ("add", "add 1 2 .Values.replicas"),
                ("sub", "sub 10 .Values.replicas"),
                ("mul", "mul 2 3 .Values.replicas"),
                ("div", "div 10 3"),
                ("mod", "mod 10 3"),
                ("max", "max 1 9 .Values.replicas"),
                ("min", "min 4 2 .Values.replicas"),
                ("add1", "add1 .Values.replicas"),
                ("addf", "addf 1.5 .Values.ratio"),
                ("mulf", "mulf 1.5 2"),
                ("divf", "divf 1 3"),
                ("floor", "floor 1.7"),
                ("ceil", "ceil 1.2"),
                ("round", "round 3.14159 2"),
                ("int", "int .Values.big"),
                ("int64", "int64 .Values.ratio"),
                ("float", "float64 .Values.replicas"),
                ("atoi", "atoi \"42\""),
                ("seq", "seq 1 2 9"),
                ("until", "until 4"),
                ("untilStep", "untilStep 0 10 3"),
                ("biggest", "biggest 3 7 5"),
                ("decimal", "toDecimal \"0777\""),
                ("eq", "eq .Values.replicas 3.0"),
                ("lt", "lt 1 2"),
                ("ge", "ge \"b\" \"a\""),
                ("len", "len .Values.ports"),
            ],
        ),
    );
    write(
        "templates/collections.yaml",
        &config_map(
            "collections",
            &[
                ("list", "list 1 \"a\" true nil"),
                ("first", "first .Values.names"),
                ("rest", "rest .Values.names"),
                ("last", "last .Values.names"),
                ("initial", "initial .Values.names"),
                ("append", "append .Values.ports 9090"),
                ("prepend", "prepend .Values.ports 1"),
                ("concat", "concat .Values.ports (list 1 2) .Values.names"),
                ("reverse", "reverse .Values.names"),
                ("uniq", "uniq .Values.names"),
                ("without", "without .Values.names \"alpha\""),
                ("has", "has 443 .Values.ports"),
                ("compact", "compact (list 0 1 \"\" \"x\" nil false)"),
                ("slice", "slice .Values.names 1 3"),
                ("chunk", "chunk 2 .Values.ports"),
                ("index", "index .Values.ports 1"),
                ("indexMap", "index .Values.nested \"a\" \"b\" \"c\""),
                ("dict", "dict \"b\" 2 \"a\" 1"),
                ("get", "get .Values.env \"REGION\""),
                ("hasKey", "hasKey .Values.env \"WORKERS\""),
                ("keys", "keys .Values.env | sortAlpha"),
                ("values", "values .Values.env | sortAlpha"),
                ("pick", "pick .Values.env \"REGION\" \"NONE\""),
                ("omit", "omit .Values.env \"REGION\""),
                ("pluck", "pluck \"k\" (dict \"k\" 1) (dict \"j\" 2) (dict \"k\" 3)"),
                ("dig", "dig \"a\" \"b\" \"c\" \"none\" .Values.nested"),
                ("digMissing", "dig \"a\" \"x\" \"none\" .Values.nested"),
                ("merge", "merge (dict \"a\" 1 \"n\" (dict \"x\" 1)) (dict \"a\" 2 \"b\" 3 \"n\" (dict \"y\" 2))"),
                ("mergeOverwrite", "mergeOverwrite (dict \"a\" 1) (dict \"a\" 2 \"b\" 3)"),
                ("set", "set (dict \"a\" 1) \"b\" 2"),
                ("unset", "unset (dict \"a\" 1 \"b\" 2) \"a\""),
                ("deepCopy", "deepCopy .Values.nested"),
                ("default", "default \"fallback\" .Values.empty"),
                ("defaultZero", "default 5 0"),
                ("emptyList", "empty (list)"),
                ("coalesce", "coalesce .Values.nothing .Values.empty \"third\""),
                ("ternary", "ternary \"yes\" \"no\" .Values.enabled"),
                ("all", "all 1 \"a\" .Values.disabled"),
                ("any", "any 0 \"\" .Values.enabled"),
                ("typeOf", "typeOf .Values.ports"),
                ("typeOfNum", "typeOf .Values.replicas"),
                ("kindOf", "kindOf .Values.env"),
                ("kindIs", "kindIs \"slice\" .Values.ports"),
                ("typeIs", "typeIs \"string\" .Values.name"),
                ("deepEqual", "deepEqual (list 1 2) (list 1 2)"),
                ("semverCompare", "semverCompare \">=1.4.0 <2.0.0\" .Values.version"),
                ("semverMajor", "(semver .Values.version).Minor"),
                ("base", "base \"/a/b/c.txt\""),
                ("dir", "dir \"/a/b/c.txt\""),
                ("ext", "ext \"/a/b/c.tar.gz\""),
                ("clean", "clean \"/a/../b/./c/\""),
                ("isAbs", "isAbs \"a/b\""),
                ("urlParse", "(urlParse \"https://u:p@host.example:8443/p/a?q=1#f\").hostname"),
                ("urlJoin", "urlJoin (dict \"scheme\" \"https\" \"host\" \"h\" \"path\" \"/x\" \"query\" \"a=b\")"),
                ("date", "date \"2006-01-02T15:04:05Z07:00\" 1700000000"),
                ("dateInZone", "dateInZone \"2006-01-02 15:04 MST\" 1700000000 \"UTC\""),
                ("htmlDate", "htmlDate 1700000000"),
                ("duration", "duration 3725"),
                ("durationString", "duration \"3725\""),
                ("durationRound", "durationRound \"49h30m\""),
            ],
        ),
    );
    write(
        "templates/encoding.yaml",
        &config_map(
            "encoding",
            &[
                ("toJson", "toJson .Values.nested"),
                ("toJsonHtml", "toJson (dict \"h\" \"<a&b>\")"),
                ("toRawJson", "toRawJson (dict \"h\" \"<a&b>\")"),
                ("toPrettyJson", "toPrettyJson .Values.env"),
                ("fromJson", "(fromJson .Values.jsonText).s"),
                ("fromJsonList", "toJson (fromJson .Values.jsonText).k"),
                ("fromJsonArray", "fromJsonArray \"[1, 2]\""),
                ("toYaml", "toYaml .Values.nested"),
                ("toYamlValues", "toYaml .Values"),
                ("fromYaml", "toJson (fromYaml .Values.yamlText)"),
                ("numbers", "toJson (list .Values.big .Values.ratio .Values.replicas 1e21)"),
                ("smallNumbers", "toJson (list 0.0000001 0.000000000123 -1e-7 1e-100 1.5e300)"),
            ],
        ),
    );
    write(
        "templates/language.yaml",
        &config_map(
            "language",
            &[
                (
                    "printfFloats",
                    "printf \"%e %g %.3g %8.3f|%-6d|%06d|%+d\" .Values.big .Values.ratio 3.14159 2.5 42 42 7",
                ),
                (
                    "printfG",
                    "printf \"%.2g|%.0g|%g|%.4g|%.3v|%T|%10.3g|%-8.2g|\" 123456.0 0.5 0.00001 1.0 2.71828 nil 9.87654 0.001234",
                ),
                ("printfWidths", "printf \"[%5s][%-5s][%.2s][%c][%U]\" \"ab\" \"ab\" \"abcdef\" 65 65"),
                ("printfBad", "printf \"%d %s\" \"x\" 1"),
                ("printfExtra", "printf \"%s\" \"a\" \"b\""),
                ("printfMissing", "printf \"%s %s\" \"a\""),
                ("sprint", "print \"a\" \"b\" 1 2 \"c\" 3.5 true"),
                ("println", "println \"a\" 1"),
                ("floats", "print 1e6 1e21 100000.0 0.000001 123456789.0 -0.5"),
                ("andValue", "and 1 \"x\" .Values.name"),
                ("orValue", "or 0 \"\" .Values.empty .Values.replicas"),
                ("andShort", "and .Values.disabled .Values.missing.x"),
                ("eqMany", "eq .Values.name \"x\" \"web\""),
                ("neStrings", "ne .Values.name \"web\""),
                ("notEmpty", "not .Values.empty"),
                ("html", "html \"<a href='x'>&</a>\""),
                ("js", "js \"it's <b> \\\"quoted\\\"\""),
                ("urlquery", "urlquery \"a b&c=d/e\""),
                ("lenMap", "len .Values.env"),
                ("lenString", "len .Values.text"),
                ("indexMissing", "index .Values.env \"NOPE\""),
                ("printMapOfLists", "print (dict \"b\" (list 1 2) \"a\" (dict \"x\" nil))"),
                ("printNil", "print nil"),
                ("quoteNil", "quote nil"),
                ("quoteMany", "quote 1 \"a\" nil 2.5"),
                ("toStringMap", "toString .Values.image"),
                ("toStringList", "toString .Values.names"),
                ("tuple", "tuple 1 \"two\" 3.0"),
                ("kindOfNil", "kindOf .Values.nothing"),
                ("typeOfNil", "typeOf .Values.nothing"),
                ("emptyFloat", "empty 0.0"),
                ("defaultMap", "default (dict \"a\" 1) .Values.missing"),
                ("lastSplit", "last (splitList \".\" .Values.version)"),
                ("rawString", "`raw \\n string`"),
                ("quoteUnicode", "quote \"nbsp\\u00a0 zwsp\\u200b c1\\u0085 del\\u007f emoji\\U0001F680 é\""),
                ("escapes", "\"tab\\there \\u00e9 \\x41\""),
                ("char", "print 'x' '\\n'"),
                ("hex", "print 0x10 0o17 0b101 1_000"),
                ("nestedVars", "include \"zoo.labels\" . | indent 2"),
                ("indentEmpty", "indent 4 \"\""),
                ("nindentMulti", "nindent 2 \"a\\n\\nb\""),
                ("trimWhitespace", "trim \"\\n\\t x \\n\""),
                ("titleDash", "title \"hello-world foo_bar\""),
                ("substrOut", "substr 3 100 \"short\""),
                ("truncLong", "trunc 100 \"short\""),
                ("intFloat", "int 3.99"),
                ("int64Neg", "int64 -3.99"),
                ("divNeg", "div -7 2"),
                ("modNeg", "mod -7 3"),
                ("roundHalf", "round 2.5 0"),
                ("addMixed", "add 1 2.9"),
                ("maxf", "maxf 1.5 2 0.5"),
                ("minf", "minf 1.5 2 0.5"),
                ("seqDown", "seq 5 1"),
                ("splitnMap", "splitn \"$\" 2 \"foo$bar$baz\""),
                ("splitMap", "split \"$\" \"foo$bar\" | toJson"),
                ("regexLiteral", "regexReplaceAllLiteral \"a(x*)b\" \"-ab-axxb-\" \"${1}W\""),
                ("regexFirst", "regexFind \"[0-9]+\" \"abc\""),
                ("getMissing", "get .Values.env \"NOPE\""),
                ("hasKeyNil", "hasKey .Values \"nothing\""),
                ("keysMany", "keys (dict \"b\" 1) (dict \"a\" 2) | sortAlpha"),
                ("mergeDeep", "toJson (merge (dict \"l\" (list 1)) (dict \"l\" (list 2) \"m\" (dict \"x\" 1)))"),
                ("setNested", "toJson (set (dict) \"a\" (dict \"b\" 1))"),
                ("semverGt", "semverCompare \"^1.4\" \"1.5.0\""),
                ("semverPre", "semverCompare \">=1.0.0\" \"1.2.0-rc.1\""),
                ("semverTilde", "semverCompare \"~1.4.1\" .Values.version"),
                ("semverObj", "(semver \"1.2.3-beta.1+build.5\").Prerelease"),
                ("atoiBad", "atoi \"12abc\""),
                ("floatString", "float64 \"3.5\""),
                ("int64String", "int64 \"42\""),
                ("toStringFloat", "toString 1.50"),
                ("toStringBool", "toString true"),
                ("title", "title \"élan vital ünïcode\""),
                ("upperUnicode", "upper \"straße\""),
                ("camelEdge", "camelcase \"http_server_v2\""),
                ("snakeEdge", "snakecase \"HTTPServer2Go\""),
                ("kebabEdge", "kebabcase \"HTTPServer2Go\""),
                ("initialsEdge", "initials \"  hello   brave  world \""),
                ("abbrevShort", "abbrev 5 \"hi\""),
                ("truncUnicode", "trunc 3 \"héllo\""),
                ("lowerUnicode", "lower \"İSTANBUL ÀÉ\""),
                ("repeatZero", "repeat 0 \"x\""),
                ("joinMixed", "join \",\" (list 1 \"a\" 2.5 true nil)"),
                ("sortAlphaNumbers", "sortAlpha (list 10 9 \"b\" \"a\")"),
                ("uniqMixed", "uniq (list 1 1.0 \"1\" 1)"),
                ("withoutMany", "without (list 1 2 3 2) 2 3"),
                ("reverseEmpty", "reverse (list)"),
                ("concatNil", "concat (list 1) (list)"),
                ("indexList", "index (list (list 1 2) (list 3 4)) 1 0"),
                ("lenList", "len (list 1 2 3)"),
                ("dictNil", "toJson (dict \"a\" nil)"),
                ("adler", "adler32sum \"hello world\""),
                ("b64decBad", "b64dec \"not base64!\""),
                ("squoteNil", "squote nil"),
                ("catNil", "cat nil"),
                ("nindentZero", "nindent 0 \"x\""),
                ("ternaryFalse", "ternary 1 2 false"),
                ("coalesceAll", "coalesce 0 \"\" nil"),
                ("emptyMap", "empty (dict)"),
                ("kindOfString", "kindOf \"x\""),
                ("typeIsLike", "typeIsLike \"[]interface {}\" .Values.ports"),
                ("deepEqualMaps", "deepEqual (dict \"a\" 1) (dict \"a\" 1.0)"),
                ("urlParseNoScheme", "toJson (urlParse \"/relative/path?x=1\")"),
                ("untilNeg", "until -3"),
            ],
        ),
    );
    write(
        "templates/yaml.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: yaml\ndata:\n  toYaml: |\n    {{- toYaml .Values.yamlZoo | nindent 4 }}\n  toJson: {{ toJson .Values.yamlZoo | quote }}\n  yaml11: {{ toJson .Values.yaml11 | quote }}\n  yaml11Yaml: |\n    {{- toYaml .Values.yaml11 | nindent 4 }}\n  fromYaml: {{ toYaml (fromYaml (toYaml .Values.yamlZoo)) | quote }}\n",
    );
    write(
        "templates/control.yaml",
        r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: control
  labels:
    {{- include "zoo.labels" . | nindent 4 }}
data:
  ranges: |
    {{- range $i, $p := .Values.ports }}
    {{ $i }}={{ $p }}{{ if eq $i 1 }} (second){{ end }}
    {{- end }}
    {{- range $k, $v := .Values.env }}
    {{ $k }}: {{ $v }}
    {{- end }}
    {{- range .Values.missing }}never{{ else }}
    empty range
    {{- end }}
    {{- range $n := until 10 }}{{ if eq $n 2 }}{{ continue }}{{ end }}{{ if gt $n 4 }}{{ break }}{{ end }} {{ $n }}{{ end }}
  with: |
    {{- with .Values.image }}
    {{ .repository }}:{{ .tag }}
    {{- end }}
    {{- with .Values.nothing }}no{{ else }}
    nothing
    {{- end }}
  vars: |
    {{- $x := 1 }}
    {{- range .Values.ports }}{{ $x = add $x . }}{{ end }}
    sum {{ $x }}
    {{- $root := . }}
    {{- range .Values.names }} {{ $root.Values.name }}/{{ . }}{{ end }}
  conditions: |
    {{ if and .Values.enabled (not .Values.disabled) }}and{{ end }} {{ if or .Values.nothing .Values.name }}or{{ end }}
    {{ (.Values.missing).x }} {{ .Values.nothing }} {{ .Values.absent }}
  templates: |
    {{ template "zoo.name" . }} {{ block "zoo.block" "arg" }}never{{ end }}
    {{ tpl "{{ .Values.name }}-{{ .Release.Name }}" . }} {{ include "zoo.name" . | upper }}
  whitespace: "{{- "  x  " -}}  {{/* comment */}}  {{ "y" }}"
  literals: {{ printf "%v %v %v %v" 1.5 0x1F 'a' "\u00e9" | quote }}
  nils: {{ printf "%v|%v|%v" nil .Values.nothing (list nil) | quote }}
"#,
    );
}

fn documents(text: &str) -> Vec<String> {
    let mut out: Vec<String> = text
        .split("\n---\n")
        // Helm renders NOTES.txt but does not output it.
        .filter(|piece| !piece.lines().any(|l| l.starts_with("# Source:") && l.ends_with("NOTES.txt")))
        .map(|piece| {
            piece
                .trim_matches(|c| c == '-' || c == '\n' || c == ' ')
                .lines()
                .filter(|l| !l.starts_with("# Source:"))
                .collect::<Vec<_>>()
                .join("\n")
                .trim()
                .to_owned()
        })
        .filter(|d| !d.is_empty())
        .collect();
    out.sort();
    out
}

fn baseline() -> Option<std::ffi::OsString> {
    let baseline = std::env::var_os("CONVOY_HELM_BASELINE");
    if baseline.is_none() {
        assert!(std::env::var_os("CI").is_none(), "CONVOY_HELM_BASELINE is not set: scripts/test.sh builds it");
        eprintln!(
            "skipping: CONVOY_HELM_BASELINE (Go's text/template with Sprig) is not built; scripts/test.sh builds it"
        );
    }
    baseline
}

#[test]
fn convoy_renders_what_go_and_sprig_render() {
    let Some(baseline) = baseline() else { return };
    let dir = tempfile::tempdir().unwrap();
    let chart_dir = dir.path().join("zoo");
    zoo(&chart_dir);
    compare(&baseline, &chart_dir, dir.path());
}

/// Convoy's own chart (deploy/helm/convoy), written as charts are written.
#[test]
fn the_deploy_chart_renders_as_go_and_sprig_render_it() {
    let Some(baseline) = baseline() else { return };
    let dir = tempfile::tempdir().unwrap();
    compare(&baseline, &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/helm/convoy"), dir.path());
}

fn compare(baseline: &std::ffi::OsStr, chart_dir: &Path, scratch: &Path) {
    let out = scratch.join("go.yaml");
    let status = Command::new(baseline).arg(chart_dir).arg("1").arg(&out).env("TZ", "UTC").output().unwrap();
    assert!(status.status.success(), "the baseline failed: {}", String::from_utf8_lossy(&status.stderr));
    let go = documents(&std::fs::read_to_string(&out).unwrap());

    let chart = Chart::load_dir(chart_dir).unwrap();
    let options = Options { release_name: "bench".into(), ..Options::default() };
    let convoy = documents(&render(&chart, &convoy_helm::Map::default(), &options).unwrap());
    assert_eq!(
        go.len(),
        convoy.len(),
        "document counts differ:\n--- go\n{}\n--- convoy\n{}",
        go.join("\n=====\n"),
        convoy.join("\n=====\n")
    );
    let mut differences = Vec::new();
    for (go, convoy) in go.iter().zip(&convoy) {
        for (go_line, convoy_line) in go.lines().zip(convoy.lines()) {
            if go_line != convoy_line {
                differences.push(format!("go:     {go_line}\nconvoy: {convoy_line}"));
            }
        }
        if go.lines().count() != convoy.lines().count() {
            differences.push(format!("line counts differ:\n--- go\n{go}\n--- convoy\n{convoy}"));
        }
    }
    assert!(differences.is_empty(), "{} lines differ:\n{}", differences.len(), differences.join("\n"));
}
