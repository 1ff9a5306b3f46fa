//! Sprig's `semver` and `semverCompare` (Masterminds semver v3, the same rules Convoy's
//! Warehouses use: `convoy_core::constraint`). Charts pick API versions with them:
//! `semverCompare ">=1.19-0" .Capabilities.KubeVersion.GitVersion`.

use std::sync::Arc;

use convoy_expr::semver::Version;

use crate::template::Func;
use crate::value::{Object, Value};

use super::{arity, plain, string};

/// A parsed version: `.Major` ... `.Original`, `.Compare`, `.LessThan`, `.GreaterThan`, `.Equal`.
#[derive(Debug)]
struct SemVer(Version);

impl Object for SemVer {
    fn type_name(&self) -> &'static str {
        "*semver.Version"
    }
    fn field(&self, name: &str) -> Option<Value> {
        let v = &self.0;
        Some(match name {
            "Major" => Value::Int64(v.major as i64),
            "Minor" => Value::Int64(v.minor as i64),
            "Patch" => Value::Int64(v.patch as i64),
            "Prerelease" => Value::from(v.pre.as_str()),
            "Metadata" => Value::from(v.metadata.as_str()),
            "Original" => Value::from(v.original.as_str()),
            "String" => Value::from(self.print()),
            _ => return None,
        })
    }
    fn method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        if !matches!(name, "Compare" | "LessThan" | "GreaterThan" | "Equal") {
            return None;
        }
        let [Value::Object(other)] = args else {
            return Some(Err("wrong type for value; expected *semver.Version".into()));
        };
        let Ok(other) = Version::parse(&other.print()) else {
            return Some(Err("wrong type for value; expected *semver.Version".into()));
        };
        let order = self.0.precedence(&other);
        Some(Ok(match name {
            "Compare" => Value::Int(order as i64),
            "LessThan" => Value::Bool(order.is_lt()),
            "GreaterThan" => Value::Bool(order.is_gt()),
            _ => Value::Bool(order.is_eq()),
        }))
    }
    fn print(&self) -> String {
        let v = &self.0;
        let mut text = format!("{}.{}.{}", v.major, v.minor, v.patch);
        if !v.pre.is_empty() {
            text.push_str(&format!("-{}", v.pre));
        }
        if !v.metadata.is_empty() {
            text.push_str(&format!("+{}", v.metadata));
        }
        text
    }
}

pub(super) fn all() -> Vec<(&'static str, Func)> {
    vec![
        (
            "semver",
            plain(|a| {
                arity("semver", &a, 1)?;
                let version = Version::parse(string(&a[0])?)?;
                Ok(Value::Object(Arc::new(SemVer(version))))
            }),
        ),
        (
            "semverCompare",
            plain(|a| {
                arity("semverCompare", &a, 2)?;
                let constraint = convoy_core::constraint::parse(string(&a[0])?)?;
                let version = Version::parse(string(&a[1])?)?;
                Ok(Value::Bool(constraint.matches(&version)))
            }),
        ),
    ]
}
