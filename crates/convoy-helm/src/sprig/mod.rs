//! Sprig v3.3.0's functions as Helm registers them (`shared/reference/helm-rendering.md` §8),
//! with Go's argument typing: a parameter typed `string` or `int` refuses other values with
//! Go's message, `interface{}` parameters take anything.

mod collections;
mod convert;
mod dates;
pub(crate) mod encoding;
mod random;
mod semver;
mod strings;
mod text;

use std::sync::Arc;

use crate::template::{Func, Set};
use crate::value::Value;

pub(crate) use convert::to_int64;
pub(crate) use strings::to_string as to_string_value;

/// The `must*` functions that are their plain one returning the error the plain one panics
/// with (a template sees both as `error calling NAME: ...`).
const MUST_ALIASES: &[(&str, &str)] = &[
    ("mustAppend", "append"),
    ("mustPush", "push"),
    ("mustPrepend", "prepend"),
    ("mustFirst", "first"),
    ("mustRest", "rest"),
    ("mustLast", "last"),
    ("mustInitial", "initial"),
    ("mustReverse", "reverse"),
    ("mustUniq", "uniq"),
    ("mustWithout", "without"),
    ("mustHas", "has"),
    ("mustSlice", "slice"),
    ("mustChunk", "chunk"),
    ("mustCompact", "compact"),
    ("mustDeepCopy", "deepCopy"),
    ("mustMerge", "merge"),
    ("mustMergeOverwrite", "mergeOverwrite"),
    ("osBase", "base"),
    ("osClean", "clean"),
    ("osDir", "dir"),
    ("osExt", "ext"),
    ("osIsAbs", "isAbs"),
    ("mustRegexFind", "regexFind"),
    ("mustRegexFindAll", "regexFindAll"),
    ("mustRegexReplaceAll", "regexReplaceAll"),
    ("mustRegexReplaceAllLiteral", "regexReplaceAllLiteral"),
    ("mustRegexSplit", "regexSplit"),
];

/// Sprig's cryptographic functions Convoy does not have: defined, so that a chart that calls
/// them only on a branch it does not take still renders, and failing with why when called.
const NOT_SUPPORTED: &[&str] = &[
    "bcrypt",
    "htpasswd",
    "genPrivateKey",
    "derivePassword",
    "buildCustomCert",
    "genCA",
    "genCAWithKey",
    "genSelfSignedCert",
    "genSelfSignedCertWithKey",
    "genSignedCert",
    "genSignedCertWithKey",
    "encryptAES",
    "decryptAES",
];

/// Adds Sprig's functions to `set`.
pub fn register(set: &mut Set) {
    let functions: Vec<(&'static str, Func)> = strings::all()
        .into_iter()
        .chain(convert::all())
        .chain(collections::all())
        .chain(encoding::all())
        .chain(random::all())
        .chain(semver::all())
        .chain(text::all())
        .chain(dates::all())
        .collect();
    for (alias, plain) in MUST_ALIASES {
        if let Some((_, func)) = functions.iter().find(|(name, _)| name == plain) {
            set.func(alias, func.clone());
        }
    }
    for (name, func) in functions {
        set.func(name, func);
    }
    for name in NOT_SUPPORTED {
        set.func(
            name,
            Arc::new(move |_, _| {
                Err(format!(
                    "{name} is not supported by Convoy's Helm renderer: keys and certificates made at render time \
                     change on every promotion; issue them outside the chart (cert-manager, a Secret)"
                ))
            }),
        );
    }
}

type Plain = fn(Vec<Value>) -> Result<Value, String>;

/// A function that needs nothing but its arguments.
pub(crate) fn plain(f: Plain) -> Func {
    Arc::new(move |_, args| f(args))
}

/// `want` arguments exactly.
pub(crate) fn arity(name: &str, args: &[Value], want: usize) -> Result<(), String> {
    if args.len() != want {
        return Err(format!("wrong number of args for {name}: want {want} got {}", args.len()));
    }
    Ok(())
}

/// A `string` parameter.
pub(crate) fn string(value: &Value) -> Result<&str, String> {
    match value {
        Value::String(s) => Ok(s),
        Value::Invalid => Err("invalid value; expected string".into()),
        other => Err(format!("wrong type for value; expected string; got {}", other.type_name())),
    }
}

/// An `int` parameter (template literals; not int64 or float64 values).
pub(crate) fn int(value: &Value) -> Result<i64, String> {
    match value {
        Value::Int(i) => Ok(*i),
        Value::Invalid => Err("invalid value; expected int".into()),
        other => Err(format!("wrong type for value; expected int; got {}", other.type_name())),
    }
}

/// A `[]interface{}` parameter.
pub(crate) fn list(value: &Value) -> Result<&Vec<Value>, String> {
    match value {
        Value::List(items) => Ok(items),
        Value::Invalid => Err("invalid value; expected []interface {}".into()),
        other => Err(format!("wrong type for value; expected []interface {{}}; got {}", other.type_name())),
    }
}

/// A `map[string]interface{}` parameter.
pub(crate) fn map(value: &Value) -> Result<&crate::value::Map, String> {
    match value {
        Value::Map(m) => Ok(m),
        Value::Invalid => Err("invalid value; expected map[string]interface {}".into()),
        other => Err(format!("wrong type for value; expected map[string]interface {{}}; got {}", other.type_name())),
    }
}

/// Sprig's "empty": nil, false, 0, "", empty collections.
pub(crate) fn empty(value: &Value) -> bool {
    !value.truthy()
}

#[cfg(test)]
mod tests;
