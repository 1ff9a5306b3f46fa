//! Evaluating templates, configs and variables with Kargo's semantics.

use std::panic::{AssertUnwindSafe, catch_unwind};

use convoy_api::ExpressionVariable;
use expr::{Context, ContextProvider, Environment, Value};
use serde_json::{Map, Value as Json};

use crate::error::ExprError;
use crate::functions::register;
use crate::resolver::Resolver;
use crate::template::{Segment, has_expression, split};
use crate::value::{coerce, render, to_expr};

/// Names the templating functions own; an environment may not shadow them (as in Kargo).
const RESERVED: [&str; 3] = ["quote", "asYAML", "asJSON"];

/// The variables an expression sees: `ctx`, `vars`, `outputs`, `task`, `stepMetas`, ...
#[derive(Debug, Clone, Default)]
pub struct Scope {
    context: Context,
}

impl Scope {
    /// A scope from a JSON object's entries.
    pub fn from_json(values: &Map<String, Json>) -> Result<Scope, ExprError> {
        let mut scope = Scope::default();
        for (key, value) in values {
            scope.insert(key, value)?;
        }
        Ok(scope)
    }

    pub fn insert(&mut self, key: &str, value: &Json) -> Result<(), ExprError> {
        if RESERVED.contains(&key) {
            return Err(ExprError::plain(format!(
                "{key:?} is a forbidden key in the environment map; it is reserved for internal use"
            )));
        }
        self.context.insert(key, to_expr(value));
        Ok(())
    }

    fn get(&self, key: &str) -> Option<&Value> {
        self.context.get(key)
    }

    /// A variable's value as JSON.
    pub fn get_json(&self, key: &str) -> Option<Json> {
        self.get(key).and_then(|v| crate::value::to_json(v).ok())
    }
}

/// Names that were not in the scope, read as nil (Kargo compiles without a typed environment,
/// where a missing name is nil).
struct Lenient<'a> {
    scope: &'a Scope,
    missing: Context,
}

impl ContextProvider for Lenient<'_> {
    fn get(&self, key: &str) -> Option<&Value> {
        self.scope.get(key).or_else(|| self.missing.get(key))
    }

    fn to_context(&self) -> Context {
        let mut all = self.scope.context.clone();
        for key in ["ctx", "vars", "outputs", "task", "stepMetas"] {
            if all.get(key).is_none() && self.missing.get(key).is_some() {
                all.insert(key, Value::Nil);
            }
        }
        all
    }
}

/// Evaluates expressions with Kargo's functions over one resolver.
pub struct Evaluator<'r> {
    env: Environment<'r>,
}

impl<'r> Evaluator<'r> {
    pub fn new(resolver: &'r dyn Resolver) -> Evaluator<'r> {
        let mut env = Environment::new();
        register(&mut env, resolver);
        crate::budget::register(&mut env);
        Evaluator { env }
    }

    /// Adds a function over JSON values, for helpers one step kind offers (the `http` step's
    /// response headers). Names start with `__` so they never replace Kargo's functions.
    pub fn add_function<F>(&mut self, name: &str, f: F)
    where
        F: Fn(&[Json]) -> Result<Json, String> + Send + Sync + 'r,
    {
        assert!(name.starts_with("__"), "step-specific expression functions are named __*");
        self.env.add_function(name, move |call| {
            let args = call.args.iter().map(crate::value::to_json).collect::<Result<Vec<_>, _>>();
            let args = args.map_err(expr::Error::ExprError)?;
            f(&args).map(|v| to_expr(&v)).map_err(expr::Error::ExprError)
        });
    }

    /// One template string, coerced as Kargo coerces a field (reference §4.1). Text without
    /// delimiters comes back unchanged, as a string.
    pub fn template(&self, template: &str, scope: &Scope) -> Result<Json, ExprError> {
        if !has_expression(template) {
            return Ok(Json::String(template.to_owned()));
        }
        let segments = split(template).map_err(|e| ExprError::unclosed(template, &e))?;
        let mut out = String::new();
        for segment in segments {
            match segment {
                Segment::Text(text) => out.push_str(text),
                Segment::Expr { code, offset } => {
                    let value = self.run(code, scope).map_err(|e| e.located(template, code, offset))?;
                    let text = render(&value).map_err(|m| ExprError::plain(m).located(template, code, offset))?;
                    out.push_str(&text);
                }
            }
        }
        coerce(out).map_err(|m| ExprError::plain(m).in_template(template))
    }

    /// Every string value of a JSON document, recursively; keys are never templated. Errors
    /// carry the path below `config`.
    pub fn config(&self, config: &Json, scope: &Scope) -> Result<Json, ExprError> {
        self.config_at(config, scope, "")
    }

    fn config_at(&self, value: &Json, scope: &Scope, path: &str) -> Result<Json, ExprError> {
        Ok(match value {
            Json::String(s) => self.template(s, scope).map_err(|e| e.at(path))?,
            Json::Array(items) => Json::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| self.config_at(v, scope, &format!("{path}[{i}]")))
                    .collect::<Result<_, _>>()?,
            ),
            Json::Object(map) => {
                let mut out = Map::new();
                for (key, v) in map {
                    let child = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                    out.insert(key.clone(), self.config_at(v, scope, &child)?);
                }
                Json::Object(out)
            }
            other => other.clone(),
        })
    }

    /// Evaluates `vars` in order into `scope`'s `vars` map; each may use the ones before it.
    pub fn vars(&self, vars: &[ExpressionVariable], scope: &mut Scope) -> Result<(), ExprError> {
        let mut map = match scope.get("vars").map(crate::value::to_json) {
            Some(Ok(Json::Object(m))) => m,
            _ => Map::new(),
        };
        for var in vars {
            scope.insert("vars", &Json::Object(map.clone()))?;
            let value = self
                .template(var.value(), scope)
                .map_err(|e| e.wrap(format!("error pre-processing promotion variable {:?}", var.name)))?;
            map.insert(var.name.clone(), value);
        }
        scope.insert("vars", &Json::Object(map))
    }

    /// A plain expression (no delimiters), as `freightCreationCriteria` and `if` conditions use.
    pub fn expression(&self, code: &str, scope: &Scope) -> Result<Json, ExprError> {
        let value = self.run(code, scope).map_err(|e| e.located(code, code, 0))?;
        crate::value::to_json(&value).map_err(ExprError::plain)
    }

    fn run(&self, code: &str, scope: &Scope) -> Result<Value, ExprError> {
        let program = compile_program(code)?;
        let mut lenient = Lenient { scope, missing: Context::default() };
        // A missing name fails the run; bind it to nil and run again (expressions are pure).
        for _ in 0..32 {
            crate::budget::reset();
            match guarded(|| self.env.run(&program, &lenient)) {
                Err(e) if e.message.starts_with("unknown variable: ") => {
                    let name = e.message["unknown variable: ".len()..].to_owned();
                    if lenient.missing.get(&name).is_some() {
                        return Err(e);
                    }
                    lenient.missing.insert(name, Value::Nil);
                }
                other => return other,
            }
        }
        Err(ExprError::plain("too many unknown names in one expression"))
    }
}

/// Compiles an expression to check it; no evaluation.
pub fn check_syntax(code: &str) -> Result<(), ExprError> {
    compile_program(code).map(|_| ())
}

fn compile_program(code: &str) -> Result<expr::Program, ExprError> {
    crate::rewrite::check_brackets(code).map_err(ExprError::plain)?;
    let rewritten = crate::rewrite::rewrite(code);
    guarded(|| expr::compile(&rewritten))
}

/// Runs expr-lang, turning its errors (and, defensively, its panics) into [`ExprError`]s.
fn guarded<T>(f: impl FnOnce() -> expr::Result<T>) -> Result<T, ExprError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(ExprError::from_expr(&e)),
        Err(_) => Err(ExprError::plain(
            "the expression engine could not handle this expression; simplify it (for example, build nested maps and lists in steps)",
        )),
    }
}
