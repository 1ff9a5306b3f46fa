//! Controllers: loops that watch the store and act. One runs today, for Promotions.

pub mod promotions;
