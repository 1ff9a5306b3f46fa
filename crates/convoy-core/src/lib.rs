//! Admission for Convoy: every write path (API, apply, lint, controllers, the engine) calls
//! [`admit`], so defaulting, PromotionTask expansion and validation are never optional.
//!
//! ```text
//!  convoy-api types ──▶ admission::admit ──▶ stored object
//!                          │ uses
//!        ┌─────────────────┼──────────────────┬──────────────┐
//!     expand            validate/*         freight_id     availability
//!   (tasks → steps)   (Kargo's rules,     (content hash,  (direct, upstream,
//!                      field paths)        urls, alias)    soak, approval)
//! ```
//!
//! Pure: no I/O, no clock, no randomness of its own (see [`admission::Env`]).

pub mod access;
pub mod admission;
pub mod alias;
pub mod analysis;
pub mod availability;
pub mod constraint;
pub mod duration;
pub mod expand;
pub mod freight_id;
pub mod gc;
pub mod migrate;
pub mod names;
pub mod pipeline;
pub mod problem;
pub mod stage_pass;
pub mod steps;
pub use convoy_api::time;
pub use convoy_api::urls;
mod validate;
pub mod view;
pub mod windows;

pub use admission::{Admitted, Env, Operation, admit};
pub use problem::{Problem, Severity};
pub use view::{Catalog, View, ViewExt};
