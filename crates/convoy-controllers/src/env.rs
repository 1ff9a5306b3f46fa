//! Clock and randomness for admission.

use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Default)]
pub struct SystemEnv;

impl convoy_core::Env for SystemEnv {
    fn now_millis(&self) -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
    }

    fn random(&mut self) -> u64 {
        let bytes = *uuid::Uuid::new_v4().as_bytes();
        u64::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[7], bytes[9]])
    }
}
