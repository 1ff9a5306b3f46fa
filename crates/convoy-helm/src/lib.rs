//! Helm's chart rendering in Rust (issue: `helm-template` without a helm binary). Pure: no I/O.
//!
//! ```text
//!  template text ──▶ template::lex ──▶ template::parse (a Set of named trees, `define` precedence)
//!                                             │
//!  data (Value) + functions ──▶ template::exec (Go's text/template rules, missingkey=zero)
//!                                             │
//!                                  output text (Go's `%v` printing: gofmt)
//! ```
//!
//! Built so far: the template language. Helm's functions, Sprig, values, charts and output
//! ordering build on it.

pub mod chart;
pub mod engine;
mod glob;
pub mod gofmt;
mod helmignore;
pub mod render;
mod schema;
pub mod sprig;
pub mod strvals;
pub mod template;
mod toml;
pub mod value;
pub mod yaml_in;
pub mod yaml_out;

pub use template::{Error, Set};

/// Set by the `kustomize-build` step for the `helm` it lends kustomize: the directory charts
/// must be in (the promotion's work dir).
pub const CHART_ROOT_VARIABLE: &str = "CONVOY_HELM_ROOT";
pub use value::{Map, Value};
