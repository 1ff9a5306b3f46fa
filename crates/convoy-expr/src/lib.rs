//! Kargo's expression templates: `${{ expr }}` and `${% expr %}` inside strings, evaluated with
//! expr-lang semantics, Kargo's functions and Kargo's result coercion.
//!
//! ```text
//!  "v${{ imageFrom(vars.repo).Tag }}"
//!        │ template::split          text / expression segments
//!        ▼
//!  Evaluator::template ──▶ expr-lang (functions:: Kargo's functions ──▶ Resolver lookups)
//!        │ value::render + value::coerce   (quoted → string, number, bool, JSON, string)
//!        ▼
//!  serde_json::Value
//! ```
//!
//! Pure: every look-up (Freight, Warehouses, ConfigMaps, step outcomes) goes through the
//! [`Resolver`] trait.

mod budget;
pub mod context;
mod error;
mod eval;
mod functions;
pub mod gojson;
pub mod goyaml;
pub mod quote;
pub mod refs;
mod resolver;
mod rewrite;
pub mod semver;
pub mod sites;
pub mod template;
mod value;

pub use budget::MEMORY_BUDGET;
pub use error::ExprError;
pub use eval::{Evaluator, Scope, check_syntax};
pub use resolver::{NoData, Resolver, StepOutcome};
pub use value::{coerce, to_expr, to_json};
