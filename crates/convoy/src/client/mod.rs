//! Talking to a Convoy server: settings (flag > env > config file > default) and HTTP calls.

pub mod config;
mod events;
mod http;

pub use config::Settings;
pub use events::Events;
pub use http::{Client, ClientError, query_encode};
