//! What a step's evaluated configuration may show: every value read from a Secret masked,
//! wherever it appears (whole, or inside a longer string), however an expression moved it
//! (through vars, string functions or concatenation it is still the same text).

use serde_json::Value;

/// Shown in place of a Secret's value.
pub const MASK: &str = "*****";

/// Values this short are not masked inside other text (a one-letter Secret would mask every
/// such letter), only where a whole value equals them.
const SHORTEST_INSIDE: usize = 4;

/// The largest configuration recorded whole; a larger one is recorded as its size.
const LARGEST: usize = 64 * 1024;

pub fn mask(config: &Value, secrets: &[String]) -> Value {
    let mut secrets: Vec<&str> = secrets.iter().map(String::as_str).filter(|s| !s.is_empty()).collect();
    // Longest first: a Secret that contains another is masked whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets.dedup();
    let masked = mask_value(config, &secrets);
    let size = masked.to_string().len();
    if size > LARGEST {
        return Value::String(format!("({size} bytes: too large to record)"));
    }
    masked
}

fn mask_value(value: &Value, secrets: &[&str]) -> Value {
    match value {
        Value::String(text) => Value::String(mask_text(text, secrets)),
        Value::Array(items) => Value::Array(items.iter().map(|v| mask_value(v, secrets)).collect()),
        Value::Object(fields) => {
            Value::Object(fields.iter().map(|(k, v)| (mask_text(k, secrets), mask_value(v, secrets))).collect())
        }
        // A number or a boolean that is a Secret's whole value.
        other => {
            let text = other.to_string();
            if secrets.contains(&text.as_str()) { Value::String(MASK.into()) } else { other.clone() }
        }
    }
}

fn mask_text(text: &str, secrets: &[&str]) -> String {
    if secrets.contains(&text) {
        return MASK.into();
    }
    let mut out = text.to_owned();
    for secret in secrets.iter().filter(|s| s.len() >= SHORTEST_INSIDE) {
        if out.contains(secret) {
            out = out.replace(secret, MASK);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn secret_values_are_masked_wherever_they_are() {
        let secrets = vec!["hunter2-long".to_owned(), "abc".to_owned(), "8080".to_owned()];
        let config = json!({
            "url": "https://user:hunter2-long@git.example.com/repo.git",
            "token": "abc",
            "port": 8080,
            "note": "abcdef stays: too short to mask inside text",
            "list": ["Bearer hunter2-long", {"hunter2-long": "as a key"}],
            "plain": "nothing secret",
        });
        let masked = mask(&config, &secrets);
        assert_eq!(
            masked,
            json!({
                "url": "https://user:*****@git.example.com/repo.git",
                "token": "*****",
                "port": "*****",
                "note": "abcdef stays: too short to mask inside text",
                "list": ["Bearer *****", {"*****": "as a key"}],
                "plain": "nothing secret",
            })
        );
        assert!(!masked.to_string().contains("hunter2-long"));
    }

    #[test]
    fn a_secret_containing_another_is_masked_whole() {
        let secrets = vec!["pass".to_owned(), "password123".to_owned()];
        assert_eq!(mask(&json!("x password123 y"), &secrets), json!("x ***** y"));
    }

    #[test]
    fn large_configurations_are_not_recorded() {
        let big = json!({"text": "x".repeat(LARGEST + 1)});
        assert!(mask(&big, &[]).as_str().unwrap().contains("too large to record"));
    }
}
