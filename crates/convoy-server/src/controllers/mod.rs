//! Controllers: loops that watch the store and act. One runs today, for Promotions; dry runs
//! reuse its pieces without storing anything.

pub mod dry_run;
pub mod promotions;
pub mod resources;
