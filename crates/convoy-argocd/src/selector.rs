//! `apps[].selector`: Kubernetes label selectors (`matchLabels`, `matchExpressions`), rendered as
//! the `labelSelector` query and matched locally (to know which Promotions an Application change
//! concerns).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LabelSelector {
    #[serde(default)]
    pub match_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub match_expressions: Vec<Requirement>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    pub key: String,
    pub operator: String,
    #[serde(default)]
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

impl LabelSelector {
    /// The `labelSelector` query value (requirements sorted by key, `in`/`notin` values sorted),
    /// or Kargo's message for a selector that selects nothing or cannot be built.
    pub fn to_query(&self) -> Result<String, String> {
        self.checked().map(|terms| terms.join(",")).map_err(|e| format!("error building label selector: {e}"))
    }

    fn checked(&self) -> Result<Vec<String>, String> {
        if self.match_labels.is_empty() && self.match_expressions.is_empty() {
            return Err("selector must have at least one match criterion".into());
        }
        let mut terms: Vec<(String, String)> = Vec::new();
        for (key, value) in &self.match_labels {
            check_key(key)
                .and_then(|()| check_value(value))
                .map_err(|e| format!("invalid matchLabel {key}={value}: {e}"))?;
            terms.push((key.clone(), format!("{key}={value}")));
        }
        for requirement in &self.match_expressions {
            let operator = requirement.operator()?;
            requirement.check(operator).map_err(|e| format!("invalid matchExpression: {e}"))?;
            let mut values = requirement.values.clone();
            values.sort();
            let key = &requirement.key;
            let term = match operator {
                Operator::In => format!("{key} in ({})", values.join(",")),
                Operator::NotIn => format!("{key} notin ({})", values.join(",")),
                Operator::Exists => key.clone(),
                Operator::DoesNotExist => format!("!{key}"),
            };
            terms.push((key.clone(), term));
        }
        terms.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(terms.into_iter().map(|(_, term)| term).collect())
    }

    /// Whether `labels` (an object's `metadata.labels`) satisfy every criterion; an invalid
    /// selector matches nothing.
    pub fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        if self.checked().is_err() {
            return false;
        }
        let label = |key: &str| labels.and_then(|l| l.get(key)).and_then(Value::as_str);
        self.match_labels.iter().all(|(k, v)| label(k) == Some(v.as_str()))
            && self.match_expressions.iter().all(|r| match r.operator() {
                Ok(Operator::In) => label(&r.key).is_some_and(|v| r.values.iter().any(|x| x == v)),
                Ok(Operator::NotIn) => label(&r.key).is_none_or(|v| !r.values.iter().any(|x| x == v)),
                Ok(Operator::Exists) => label(&r.key).is_some(),
                Ok(Operator::DoesNotExist) => label(&r.key).is_none(),
                Err(_) => false,
            })
    }
}

impl Requirement {
    fn operator(&self) -> Result<Operator, String> {
        match self.operator.as_str() {
            "In" => Ok(Operator::In),
            "NotIn" => Ok(Operator::NotIn),
            "Exists" => Ok(Operator::Exists),
            "DoesNotExist" => Ok(Operator::DoesNotExist),
            other => Err(format!("invalid operator: {other}")),
        }
    }

    fn check(&self, operator: Operator) -> Result<(), String> {
        check_key(&self.key)?;
        match operator {
            Operator::In | Operator::NotIn if self.values.is_empty() => {
                Err("for 'in', 'notin' operators, values set can't be empty".into())
            }
            Operator::Exists | Operator::DoesNotExist if !self.values.is_empty() => {
                Err("values set must be empty for exists and does not exist".into())
            }
            _ => self.values.iter().try_for_each(|v| check_value(v)),
        }
    }
}

/// Kubernetes' qualified name: `[prefix/]name`, the prefix a DNS subdomain.
fn check_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        let subdomain = !prefix.is_empty()
            && prefix.len() <= 253
            && prefix.split('.').all(|label| {
                !label.is_empty()
                    && label.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            });
        if !subdomain {
            return Err(format!("prefix part of key {key:?} must be a lowercase DNS subdomain"));
        }
    }
    if name.is_empty() {
        return Err(format!("name part of key {key:?} must be non-empty"));
    }
    check_name_chars(name).map_err(|e| format!("name part of key {key:?} {e}"))
}

fn check_value(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Ok(());
    }
    check_name_chars(value).map_err(|e| format!("value {value:?} {e}"))
}

fn check_name_chars(text: &str) -> Result<(), String> {
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if text.len() > 63 {
        return Err("must be no more than 63 characters".into());
    }
    let allowed = text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !allowed || !alnum(text.chars().next()) || !alnum(text.chars().last()) {
        return Err("must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character".into());
    }
    Ok(())
}
