//! One module per page.

pub mod events;
pub mod freight;
pub mod login;
pub mod pipeline;
pub mod projects;
pub mod promotion;
pub mod stage;
pub mod warehouse;
