//! Sprig's random functions, from the operating system's CSPRNG (through uuid v4's source):
//! charts generate passwords with them.

use crate::template::Func;
use crate::value::Value;

use super::{arity, int, plain};

/// `count` random bytes.
pub(super) fn random_bytes(count: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(count + 16);
    while out.len() < count {
        // A v4 UUID has 122 random bits: the 14 bytes that carry no version/variant bits.
        let bytes = uuid::Uuid::new_v4().into_bytes();
        out.extend(bytes.iter().enumerate().filter(|(i, _)| *i != 6 && *i != 8).map(|(_, b)| *b));
    }
    out.truncate(count);
    out
}

/// `n` characters drawn uniformly from `alphabet` (rejection sampling, no modulo bias).
fn random_string(n: i64, alphabet: &[u8]) -> Result<Value, String> {
    if n < 0 {
        return Err("count must be non-negative".into());
    }
    if n > 1 << 20 {
        return Err("count is larger than 1 MiB".into());
    }
    let limit = 256 - (256 % alphabet.len());
    let mut out = String::with_capacity(n as usize);
    while out.len() < n as usize {
        for byte in random_bytes(n as usize * 2) {
            if (byte as usize) < limit && out.len() < n as usize {
                out.push(alphabet[byte as usize % alphabet.len()] as char);
            }
        }
    }
    Ok(Value::from(out))
}

const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const NUMERIC: &[u8] = b"0123456789";
const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

pub(super) fn all() -> Vec<(&'static str, Func)> {
    vec![
        (
            "randAlphaNum",
            plain(|a| arity("randAlphaNum", &a, 1).and_then(|()| random_string(int(&a[0])?, ALPHANUMERIC))),
        ),
        ("randAlpha", plain(|a| arity("randAlpha", &a, 1).and_then(|()| random_string(int(&a[0])?, ALPHA)))),
        ("randNumeric", plain(|a| arity("randNumeric", &a, 1).and_then(|()| random_string(int(&a[0])?, NUMERIC)))),
        (
            "randAscii",
            plain(|a| {
                arity("randAscii", &a, 1)?;
                let printable: Vec<u8> = (32u8..=126).collect();
                random_string(int(&a[0])?, &printable)
            }),
        ),
        (
            "randBytes",
            plain(|a| {
                arity("randBytes", &a, 1)?;
                use base64::Engine;
                let n = int(&a[0])?.clamp(0, 1 << 20) as usize;
                Ok(Value::from(base64::engine::general_purpose::STANDARD.encode(random_bytes(n))))
            }),
        ),
        (
            "randInt",
            plain(|a| {
                arity("randInt", &a, 2)?;
                let (min, max) = (super::to_int64(&a[0]), super::to_int64(&a[1]));
                if max <= min {
                    return Err("invalid argument to Intn".into());
                }
                let span = (max - min) as u64;
                let bytes = random_bytes(8);
                let n = u64::from_le_bytes(bytes.try_into().unwrap_or([0; 8])) % span;
                Ok(Value::Int(min + n as i64))
            }),
        ),
        ("uuidv4", plain(|_| Ok(Value::from(uuid::Uuid::new_v4().to_string())))),
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn random_strings_use_their_alphabet_and_differ() {
        let a = super::random_string(64, super::ALPHANUMERIC).unwrap();
        let b = super::random_string(64, super::ALPHANUMERIC).unwrap();
        let (crate::value::Value::String(a), crate::value::Value::String(b)) = (a, b) else { panic!() };
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
        let digits = super::random_string(200, super::NUMERIC).unwrap();
        let crate::value::Value::String(digits) = digits else { panic!() };
        assert!(digits.bytes().all(|c| c.is_ascii_digit()));
        // Every digit shows up in 200 draws (uniform, not biased to a few).
        assert!((b'0'..=b'9').all(|d| digits.as_bytes().contains(&d)));
    }
}
