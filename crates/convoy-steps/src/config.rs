//! Decoding a step's evaluated config with Kargo's error text.

use convoy_engine::StepError;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub(crate) fn decode<T: DeserializeOwned>(kind: &str, config: &Value) -> Result<T, StepError> {
    serde_path_to_error::deserialize(config).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { format!("{path}: ") };
        StepError::terminal(format!("invalid {kind} config: {path}{}", e.inner()))
    })
}
