//! Object names: DNS-1123 rules, ULIDs and the Promotion name format.

/// A DNS-1123 subdomain: lower-case alphanumerics, `-` and `.`, at most 253 characters,
/// starting and ending with an alphanumeric. Returns why not.
pub fn check_subdomain(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if name.len() > 253 {
        return Err(format!("must be no more than 253 characters (has {})", name.len()));
    }
    for label in name.split('.') {
        check_label_chars(label).map_err(|_| {
            format!(
                "{name:?} is not a valid name: use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit"
            )
        })?;
    }
    Ok(())
}

/// A DNS-1123 label (project names): like a subdomain part, at most 63 characters, no dots.
pub fn check_label(name: &str) -> Result<(), String> {
    if name.len() > 63 {
        return Err(format!("must be no more than 63 characters (has {})", name.len()));
    }
    check_label_chars(name).map_err(|_| {
        format!("{name:?} is not a valid name: use lower-case letters, digits and '-', starting and ending with a letter or digit")
    })
}

fn check_label_chars(label: &str) -> Result<(), ()> {
    let ok = !label.is_empty()
        && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-');
    if ok { Ok(()) } else { Err(()) }
}

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A ULID: 48 bits of milliseconds then 80 random bits, Crockford base32. Lexical order is
/// creation order, which the Promotion queue relies on.
pub fn ulid(unix_millis: u64, random: u128) -> String {
    let value: u128 = (u128::from(unix_millis & 0xFFFF_FFFF_FFFF) << 80) | (random & ((1u128 << 80) - 1));
    (0..26).rev().map(|i| CROCKFORD[((value >> (i * 5)) & 0x1F) as usize] as char).collect()
}

/// `<stage>.<ULID>.<freight[:7]>`, lower-cased, the stage part shortened so the whole fits 253.
pub fn promotion_name(stage: &str, freight: &str, unix_millis: u64, random: u128) -> String {
    let id = ulid(unix_millis, random);
    let short_freight: String = freight.chars().take(7).collect();
    let suffix_len = 1 + id.len() + 1 + short_freight.len();
    let stage: String = stage.chars().take(253 - suffix_len).collect();
    format!("{stage}.{id}.{short_freight}").to_lowercase()
}

/// The Stage a Promotion named by [`promotion_name`] belongs to (`None` for other names).
pub fn stage_of_promotion(name: &str) -> Option<&str> {
    let mut parts = name.rsplitn(3, '.');
    let (short_freight, id, stage) = (parts.next()?, parts.next()?, parts.next()?);
    let is_id = id.len() == 26 && id.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase());
    (is_id && !short_freight.is_empty() && !stage.is_empty()).then_some(stage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_promotion_name_gives_its_stage_back() {
        let name = promotion_name("prod.eu-west", "abcdef0123", 1_469_918_176_385, 7);
        assert_eq!(stage_of_promotion(&name), Some("prod.eu-west"));
        assert_eq!(stage_of_promotion("prod.not-an-id.abcdef0"), None);
        assert_eq!(stage_of_promotion("handmade"), None);
    }

    #[test]
    fn ulid_layout() {
        // ULID spec example: time 1469918176385 encodes as 01ARYZ6S41.
        let id = ulid(1_469_918_176_385, 0);
        assert_eq!(&id[..10], "01ARYZ6S41");
        assert_eq!(&id[10..], "0000000000000000");
        assert!(ulid(1, 0) < ulid(2, 0));
    }

    #[test]
    fn promotion_names() {
        let name = promotion_name("Prod-West", "abcdef0123456789", 1_469_918_176_385, 0);
        assert!(name.starts_with("prod-west.01aryz6s41"), "{name}");
        assert!(name.ends_with(".abcdef0"));
        let long = promotion_name(&"s".repeat(300), "abcdef0", 0, 0);
        assert_eq!(long.len(), 253);
    }

    #[test]
    fn dns_names() {
        assert!(check_subdomain("prod-west.eu").is_ok());
        assert!(check_subdomain("Prod").is_err());
        assert!(check_subdomain("-x").is_err());
        assert!(check_label("a.b").is_err());
        assert!(check_label(&"a".repeat(64)).is_err());
    }
}
