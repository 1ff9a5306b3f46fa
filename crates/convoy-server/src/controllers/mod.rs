//! Controllers: loops that watch the store and act (Promotions, Stages, Warehouses); dry runs reuse
//! the Promotion controller's pieces without storing anything.

pub mod dry_run;
pub mod gc;
pub mod promotions;
pub mod resources;
pub mod stages;
pub mod verification;
pub mod warehouses;
