//! The functions Helm's engine adds to Sprig (`shared/reference/helm-rendering.md` §6.3, §8.1):
//! `include`, `tpl`, `required`, `fail`, `toYaml`, `lookup`, `getHostByName`; `env` and
//! `expandenv` are not there.

use std::sync::Arc;

use crate::template::{Func, Set};
use crate::value::{Map, Value};

/// A template set with Go's builtins, Sprig's functions and Helm's.
pub fn new_set() -> Set {
    let mut set = Set::new();
    crate::sprig::register(&mut set);
    for (name, func) in functions() {
        set.func(name, func);
    }
    set
}

fn error_map(message: &str) -> Value {
    Value::Map(Map::from_iter([("Error".to_owned(), Value::from(message))]))
}

fn functions() -> Vec<(&'static str, Func)> {
    vec![
        (
            "include",
            Arc::new(|call, args| {
                let [name, data] = args.as_slice() else {
                    return Err(format!("wrong number of args for include: want 2 got {}", args.len()));
                };
                let Value::String(name) = name else {
                    return Err(format!("wrong type for value; expected string; got {}", name.type_name()));
                };
                call.execute(name, data).map(Value::String).map_err(|e| {
                    if e.contains("exceeded maximum template depth") {
                        format!("rendering template has a nested reference name: {name}: unable to execute template")
                    } else {
                        e
                    }
                })
            }),
        ),
        (
            "tpl",
            Arc::new(|call, args| {
                let [Value::String(text), data] = args.as_slice() else {
                    return Err("wrong type for value; expected string".into());
                };
                // Defines made in the text are seen only by this call.
                let mut scoped = call.set.clone();
                scoped
                    .add("gotpl", text)
                    .map_err(|e| format!("cannot parse template {}: {e}", crate::gofmt::quote(text)))?;
                let out = call.execute_in(&scoped, "gotpl", data).map_err(|e| {
                    format!("error during tpl function execution for {}: {e}", crate::gofmt::quote(text))
                })?;
                Ok(Value::String(out.replace("<no value>", "")))
            }),
        ),
        (
            "required",
            Arc::new(|_, args| {
                let [message, value] = args.as_slice() else {
                    return Err(format!("wrong number of args for required: want 2 got {}", args.len()));
                };
                let missing = value.is_nil() || matches!(value, Value::String(s) if s.is_empty());
                if missing {
                    return Err(crate::sprig::string(message)?.to_owned());
                }
                Ok(value.clone())
            }),
        ),
        (
            "fail",
            Arc::new(|_, args| match args.as_slice() {
                [Value::String(message)] => Err(message.clone()),
                _ => Err("wrong type for value; expected string".into()),
            }),
        ),
        ("toYaml", yaml_function("toYaml", crate::yaml_out::to_yaml)),
        ("toYamlPretty", yaml_function("toYamlPretty", crate::yaml_out::to_yaml_pretty)),
        (
            "toToml",
            // Errors are the output, as Helm's.
            Arc::new(|_, args| match args.as_slice() {
                [value] => Ok(Value::String(crate::toml::to_toml(value).unwrap_or_else(|e| e))),
                _ => Err(format!("wrong number of args for toToml: want 1 got {}", args.len())),
            }),
        ),
        (
            "fromToml",
            Arc::new(|_, args| match args.as_slice() {
                [Value::String(text)] => Ok(crate::toml::from_toml(text)),
                _ => Err("wrong type for value; expected string".into()),
            }),
        ),
        (
            "fromYaml",
            Arc::new(|_, args| {
                let [Value::String(text)] = args.as_slice() else {
                    return Err("wrong type for value; expected string".into());
                };
                // Errors (and a top-level list) are a map with the message under "Error".
                Ok(match crate::yaml_in::from_yaml(text) {
                    Ok(Value::Map(m)) => Value::Map(m),
                    Ok(Value::Nil) => Value::Map(Map::default()),
                    Ok(_) => error_map(
                        "error unmarshaling JSON: json: cannot unmarshal array into Go value of type map[string]interface {}",
                    ),
                    Err(e) => error_map(&e),
                })
            }),
        ),
        (
            "fromYamlArray",
            Arc::new(|_, args| {
                let [Value::String(text)] = args.as_slice() else {
                    return Err("wrong type for value; expected string".into());
                };
                Ok(match crate::yaml_in::from_yaml(text) {
                    Ok(Value::List(items)) => Value::List(items),
                    Ok(Value::Nil) => Value::List(Vec::new()),
                    Ok(_) => Value::List(vec![Value::from(
                        "error unmarshaling JSON: json: cannot unmarshal object into Go value of type []interface {}",
                    )]),
                    Err(e) => Value::List(vec![Value::from(e)]),
                })
            }),
        ),
        // No cluster during `helm template`: nothing is found.
        ("lookup", Arc::new(|_, _| Ok(Value::Map(Map::default())))),
        ("getHostByName", Arc::new(|_, _| Ok(Value::from("")))),
    ]
}

/// `toYaml`/`toYamlPretty`: errors give "", as Helm's do; the trailing newline is stripped.
fn yaml_function(name: &'static str, emit: fn(&Value) -> Result<String, String>) -> Func {
    Arc::new(move |_, args| match args.as_slice() {
        [value] => {
            Ok(Value::String(emit(value).map(|y| y.strip_suffix('\n').unwrap_or(&y).to_owned()).unwrap_or_default()))
        }
        _ => Err(format!("wrong number of args for {name}: want 1 got {}", args.len())),
    })
}

#[cfg(test)]
mod tests {
    use crate::value::Value;

    fn render(templates: &[(&str, &str)], name: &str) -> Result<String, String> {
        let mut set = super::new_set();
        for (n, src) in templates {
            set.add(n, src).map_err(|e| e.to_string())?;
        }
        let data = Value::map([("Values", Value::map([("name", Value::from("web")), ("port", Value::Float(80.0))]))]);
        set.execute(name, &data).map_err(|e| e.to_string())
    }

    #[test]
    fn include_pipes_and_tpl_renders_values_as_templates() {
        let helpers = r#"{{ define "app.name" }}{{ .Values.name }}-app{{ end }}"#;
        let main = r#"name: {{ include "app.name" . | upper | quote }}
tpl: {{ tpl "{{ .Values.name }}:{{ .Values.port }}" . }}
yaml: {{ toYaml .Values | nindent 2 }}"#;
        assert_eq!(
            render(&[("c/templates/_helpers.tpl", helpers), ("c/templates/a.yaml", main)], "c/templates/a.yaml")
                .unwrap(),
            "name: \"WEB-APP\"\ntpl: web:80\nyaml: \n  name: web\n  port: 80"
        );
    }

    #[test]
    fn tpl_defines_stay_inside_the_call() {
        let main = r#"{{ define "x" }}outer{{ end }}{{ tpl "{{ define \"x\" }}inner{{ end }}{{ include \"x\" . }}" . }} {{ include "x" . }}"#;
        assert_eq!(render(&[("t", main)], "t").unwrap(), "inner outer");
    }

    #[test]
    fn required_and_fail_stop_with_the_chart_s_message() {
        let err =
            render(&[("t", r#"{{ required "set .Values.image: the image to run" .Values.image }}"#)], "t").unwrap_err();
        assert!(err.ends_with("error calling required: set .Values.image: the image to run"), "{err}");
        assert_eq!(render(&[("t", r#"{{ required "x" .Values.port }}"#)], "t").unwrap(), "80");
        let err = render(&[("t", r#"{{ fail "no: not supported" }}"#)], "t").unwrap_err();
        assert!(err.ends_with("error calling fail: no: not supported"), "{err}");
    }

    #[test]
    fn recursive_include_is_stopped_with_helm_s_message() {
        let err =
            render(&[("t", r#"{{ define "r" }}{{ include "r" . }}{{ end }}{{ include "r" . }}"#)], "t").unwrap_err();
        assert!(err.contains("rendering template has a nested reference name: r: unable to execute template"), "{err}");
    }

    #[test]
    fn from_yaml_reads_yaml_1_1_and_reports_errors_in_the_map() {
        assert_eq!(
            render(&[("t", r#"{{ (fromYaml "a: yes\nb: 0755").b }} {{ (fromYaml "a: yes").a }}"#)], "t").unwrap(),
            "493 true"
        );
        assert!(render(&[("t", r#"{{ (fromYaml "- 1").Error }}"#)], "t").unwrap().contains("cannot unmarshal array"));
        assert_eq!(render(&[("t", r#"{{ fromYamlArray "[1, two]" }}"#)], "t").unwrap(), "[1 two]");
    }

    #[test]
    fn lookup_finds_nothing_and_env_is_not_there() {
        assert_eq!(render(&[("t", r#"{{ lookup "v1" "Secret" "ns" "x" | len }}"#)], "t").unwrap(), "0");
        assert!(render(&[("t", r#"{{ env "HOME" }}"#)], "t").unwrap_err().contains("function \"env\" not defined"));
    }
}
