//! Convoy's controllers and the write service they share with the API; no HTTP in this crate.
//!
//! ```text
//!  CachedStore changes ──▶ runtime (queue per controller) ──▶ reconcilers: promotions, stages,
//!                                                            warehouses, receivers
//!        ▲                                                          │
//!        └──────────── writes (decode + admission, WriteError) ◀─────┘
//! ```
//!
//! Layers, lowest first; a module imports only modules below it: `base64`, `env`, `events`,
//! `receivers`, `writes`, `indexes`, `shard`, `heartbeat`, `status`, `runtime`, `argocd`
//! (cluster changes that wake controllers), `metrics`, then the controllers (`resources`,
//! `pr_status` (verification results on the PRs a promotion opened), `verification`,
//! `promotions`, `dry_run`, `stages`, `warehouses`, `gc`) and `lead`, which starts them.

pub mod argocd;
pub mod base64;
pub mod dry_run;
mod env;
pub mod events;
pub mod gc;
pub mod heartbeat;
pub mod indexes;
mod lead;
pub mod metrics;
mod pr_status;
pub mod promotions;
pub mod receivers;
pub mod resources;
pub mod runtime;
pub mod shard;
pub mod stages;
pub mod status;
pub mod verification;
pub mod warehouses;
pub mod writes;

pub use lead::lead;
pub use shard::CONTROLLERS_LEASE;
