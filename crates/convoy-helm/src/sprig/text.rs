//! Sprig's remaining text functions: `abbrevboth`, `wrap`/`wrapWith` (goutils' word wrap),
//! `shuffle`, base32, `urlParse`/`urlJoin` (Go's `net/url` fields) and the `must*` JSON forms.

use crate::template::Func;
use crate::value::{Map, Value};

use super::encoding::{from_json, to_json};
use super::{arity, int, plain, string};

/// goutils' `AbbreviateFull(str, offset, maxWidth)`; Sprig answers "" where it errs.
fn abbreviate_both(text: &str, offset: i64, max_width: i64) -> String {
    let length = text.len() as i64;
    if text.is_empty() || max_width < 4 {
        return String::new();
    }
    if length <= max_width {
        return text.to_owned();
    }
    let mut offset = offset.min(length);
    if length - offset < max_width - 3 {
        offset = length - (max_width - 3);
    }
    let cut = |from: i64, to: i64| text.get(from.max(0) as usize..to.max(0) as usize).unwrap_or_default().to_owned();
    if offset <= 4 {
        return format!("{}...", cut(0, max_width - 3));
    }
    if max_width < 7 {
        return String::new();
    }
    if offset + max_width - 3 < length {
        let rest = &text[offset as usize..];
        let inner = if rest.len() as i64 <= max_width - 3 {
            rest.to_owned()
        } else {
            format!("{}...", rest.get(..(max_width - 6) as usize).unwrap_or_default())
        };
        return format!("...{inner}");
    }
    format!("...{}", cut(length - (max_width - 3), length))
}

/// goutils' `WrapCustom`: lines broken at the last space within `width` (bytes, as Go counts);
/// a longer word is cut (`wrap_long_words`) or left whole.
fn wrap(text: &str, width: i64, newline: &str, wrap_long_words: bool) -> String {
    if text.is_empty() {
        return String::new();
    }
    let newline = if newline.is_empty() { "\n" } else { newline };
    let width = width.max(1) as usize;
    let bytes = text.as_bytes();
    let slice = |from: usize, to: usize| String::from_utf8_lossy(&bytes[from..to.min(bytes.len())]).into_owned();
    let mut out = String::new();
    let mut offset = 0;
    while bytes.len() - offset > width {
        if bytes[offset] == b' ' {
            offset += 1;
            continue;
        }
        let end = (width + offset + 1).min(bytes.len());
        match bytes[offset..end].iter().rposition(|b| *b == b' ') {
            Some(space) => {
                out.push_str(&slice(offset, offset + space));
                out.push_str(newline);
                offset += space + 1;
            }
            None if wrap_long_words => {
                out.push_str(&slice(offset, offset + width));
                out.push_str(newline);
                offset += width;
            }
            None => match bytes[offset + width..].iter().position(|b| *b == b' ') {
                None => {
                    out.push_str(&slice(offset, bytes.len()));
                    offset = bytes.len();
                }
                Some(index) => {
                    let space = offset + width + index;
                    out.push_str(&slice(offset, space));
                    out.push_str(newline);
                    offset = space + 1;
                }
            },
        }
    }
    out.push_str(&slice(offset, bytes.len()));
    out
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 with padding (Go's `base32.StdEncoding`).
fn base32_encode(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(5) {
        let mut block = [0u8; 5];
        block[..chunk.len()].copy_from_slice(chunk);
        let bits = block.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        let symbols = (chunk.len() * 8).div_ceil(5);
        for i in 0..8 {
            out.push(if i < symbols { BASE32[((bits >> (35 - i * 5)) & 31) as usize] as char } else { '=' });
        }
    }
    out
}

fn base32_decode(text: &str) -> Result<Vec<u8>, String> {
    let trimmed = text.trim_end_matches('=');
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u64, 0);
    for (i, c) in trimmed.bytes().enumerate() {
        let value =
            BASE32.iter().position(|b| *b == c).ok_or_else(|| format!("illegal base32 data at input byte {i}"))?;
        buffer = (buffer << 5) | value as u64;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    Ok(out)
}

/// Go's `url.Parse` fields as Sprig's `urlParse` gives them.
fn url_parse(text: &str) -> Result<Value, String> {
    let mut rest = text;
    let mut fragment = "";
    if let Some((before, after)) = rest.split_once('#') {
        rest = before;
        fragment = after;
    }
    let scheme_end = rest.find(':').filter(|&i| {
        i > 0
            && rest[..i].starts_with(|c: char| c.is_ascii_alphabetic())
            && rest[..i].chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    let scheme = scheme_end.map_or("", |i| &rest[..i]);
    if let Some(i) = scheme_end {
        rest = &rest[i + 1..];
    }
    let mut query = "";
    if let Some((before, after)) = rest.split_once('?') {
        rest = before;
        query = after;
    }
    let (mut host, mut userinfo, mut path, mut opaque) = ("", "", rest, "");
    if let Some(authority_and_path) = rest.strip_prefix("//") {
        let (authority, tail) = match authority_and_path.find('/') {
            Some(i) => authority_and_path.split_at(i),
            None => (authority_and_path, ""),
        };
        match authority.rsplit_once('@') {
            Some((user, h)) => (userinfo, host) = (user, h),
            None => host = authority,
        }
        path = tail;
    } else if !scheme.is_empty() && !rest.starts_with('/') {
        opaque = rest;
        path = "";
    }
    let hostname = if host.starts_with('[') {
        host.split(']').next().map_or("", |h| &h[1..])
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    Ok(Value::map([
        ("scheme", Value::from(scheme.to_ascii_lowercase())),
        ("host", Value::from(host)),
        ("hostname", Value::from(hostname)),
        ("path", Value::from(convoy_api::urls::percent_decode(path))),
        ("query", Value::from(query)),
        ("opaque", Value::from(opaque)),
        ("fragment", Value::from(convoy_api::urls::percent_decode(fragment))),
        ("userinfo", Value::from(userinfo)),
    ]))
}

/// Sprig's `urlJoin`: Go's `url.URL.String()` of the parts.
fn url_join(parts: &Map) -> String {
    let part = |key: &str| parts.get(key).map(|v| super::to_string_value(&v)).unwrap_or_default();
    let (scheme, host, path, opaque) = (part("scheme"), part("host"), part("path"), part("opaque"));
    let (userinfo, query, fragment) = (part("userinfo"), part("query"), part("fragment"));
    let mut out = String::new();
    if !scheme.is_empty() {
        out.push_str(&scheme);
        out.push(':');
    }
    if !opaque.is_empty() {
        out.push_str(&opaque);
    } else {
        if !scheme.is_empty() || !host.is_empty() || !userinfo.is_empty() {
            if !host.is_empty() || !path.is_empty() || !userinfo.is_empty() {
                out.push_str("//");
            }
            if !userinfo.is_empty() {
                out.push_str(&userinfo);
                out.push('@');
            }
            out.push_str(&host);
        }
        if !path.is_empty() && !path.starts_with('/') && !host.is_empty() {
            out.push('/');
        }
        out.push_str(&path);
    }
    if !query.is_empty() {
        out.push('?');
        out.push_str(&query);
    }
    if !fragment.is_empty() {
        out.push('#');
        out.push_str(&fragment);
    }
    out
}

pub(super) fn all() -> Vec<(&'static str, Func)> {
    vec![
        (
            "abbrevboth",
            plain(|a| {
                arity("abbrevboth", &a, 3)?;
                let (left, right, text) = (int(&a[0])?, int(&a[1])?, string(&a[2])?);
                // Widths goutils would refuse leave the text as it is.
                if right < 4 || (left > 0 && right < 7) {
                    return Ok(Value::from(text));
                }
                Ok(Value::from(abbreviate_both(text, left, right)))
            }),
        ),
        (
            "wrap",
            plain(|a| {
                arity("wrap", &a, 2)?;
                Ok(Value::from(wrap(string(&a[1])?, int(&a[0])?, "\n", false)))
            }),
        ),
        (
            "wrapWith",
            plain(|a| {
                arity("wrapWith", &a, 3)?;
                Ok(Value::from(wrap(string(&a[2])?, int(&a[0])?, string(&a[1])?, true)))
            }),
        ),
        (
            "shuffle",
            plain(|a| {
                arity("shuffle", &a, 1)?;
                let mut chars: Vec<char> = string(&a[0])?.chars().collect();
                let random = super::random::random_bytes(chars.len() * 4);
                for i in (1..chars.len()).rev() {
                    let r = u32::from_le_bytes(random[i * 4..i * 4 + 4].try_into().unwrap_or_default());
                    chars.swap(i, r as usize % (i + 1));
                }
                Ok(Value::from(chars.into_iter().collect::<String>()))
            }),
        ),
        (
            "b32enc",
            plain(|a| {
                arity("b32enc", &a, 1).map(|()| Value::from(base32_encode(super::to_string_value(&a[0]).as_bytes())))
            }),
        ),
        (
            "b32dec",
            plain(|a| {
                arity("b32dec", &a, 1)?;
                // Sprig answers the decoding error as the value.
                Ok(Value::from(match base32_decode(&super::to_string_value(&a[0])) {
                    Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                    Err(e) => e,
                }))
            }),
        ),
        ("urlParse", plain(|a| arity("urlParse", &a, 1).and_then(|()| url_parse(string(&a[0])?)))),
        (
            "urlJoin",
            plain(|a| {
                arity("urlJoin", &a, 1)?;
                match &a[0] {
                    Value::Map(parts) => Ok(Value::from(url_join(parts))),
                    other => Err(format!(
                        "wrong type for value; expected map[string]interface {{}}; got {}",
                        other.type_name()
                    )),
                }
            }),
        ),
        (
            "mustToPrettyJson",
            plain(|a| arity("mustToPrettyJson", &a, 1).and_then(|()| to_json(&a[0], true, Some(2)).map(Value::from))),
        ),
        (
            "mustToRawJson",
            plain(|a| arity("mustToRawJson", &a, 1).and_then(|()| to_json(&a[0], false, None).map(Value::from))),
        ),
        (
            "mustFromJson",
            plain(|a| {
                arity("mustFromJson", &a, 1)?;
                serde_json::from_str::<serde_json::Value>(string(&a[0])?).map(from_json).map_err(|e| e.to_string())
            }),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// goutils' documented examples.
    #[test]
    fn abbreviate_both_as_goutils() {
        assert_eq!(abbreviate_both("abcdefghijklmno", -1, 10), "abcdefg...");
        assert_eq!(abbreviate_both("abcdefghijklmno", 0, 10), "abcdefg...");
        assert_eq!(abbreviate_both("abcdefghijklmno", 1, 10), "abcdefg...");
        assert_eq!(abbreviate_both("abcdefghijklmno", 4, 10), "abcdefg...");
        assert_eq!(abbreviate_both("abcdefghijklmno", 5, 10), "...fghi...");
        assert_eq!(abbreviate_both("abcdefghijklmno", 6, 10), "...ghij...");
        assert_eq!(abbreviate_both("abcdefghijklmno", 8, 10), "...ijklmno");
        assert_eq!(abbreviate_both("abcdefghijklmno", 10, 10), "...ijklmno");
        assert_eq!(abbreviate_both("abcdefghijklmno", 12, 10), "...ijklmno");
        assert_eq!(abbreviate_both("abcdefghij", 0, 3), "", "a width under 4 is an error, answered empty");
        assert_eq!(abbreviate_both("abcdefghij", 5, 6), "", "a width under 7 with an offset is an error");
        assert_eq!(abbreviate_both("1234 5678 9123", 5, 10), "...5678...", "Sprig's example");
    }

    /// Sprig's documented examples and commons-lang's wrap cases.
    #[test]
    fn wrap_as_goutils() {
        assert_eq!(
            wrap("Here is an example of text that is long", 10, "\n", false),
            "Here is an\nexample of\ntext that\nis long"
        );
        assert_eq!(
            wrap("Here is an example of text that is long", 10, "\t", true),
            "Here is an\texample of\ttext that\tis long"
        );
        assert_eq!(
            wrap("Click here to jump to the commons website - http://commons.apache.org", 20, "\n", false),
            "Click here to jump\nto the commons\nwebsite -\nhttp://commons.apache.org"
        );
        assert_eq!(
            wrap("Click here to jump to the commons website - http://commons.apache.org", 20, "\n", true),
            "Click here to jump\nto the commons\nwebsite -\nhttp://commons.apach\ne.org"
        );
    }

    /// RFC 4648's test vectors.
    #[test]
    fn base32_as_rfc_4648() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "MY======"),
            ("fo", "MZXQ===="),
            ("foo", "MZXW6==="),
            ("foob", "MZXW6YQ="),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI======"),
        ] {
            assert_eq!(base32_encode(plain.as_bytes()), encoded);
            assert_eq!(base32_decode(encoded).unwrap(), plain.as_bytes());
        }
        assert!(base32_decode("MZ!W").unwrap_err().contains("illegal base32 data at input byte 2"));
    }

    /// Sprig's documented `urlParse` example and `urlJoin` of its parts.
    #[test]
    fn url_parse_and_join_as_sprig_documents() {
        let Value::Map(parts) = url_parse("http://admin:secret@server.com:8080/api?list=false#anchor").unwrap() else {
            panic!("a map")
        };
        let field = |k: &str| super::super::to_string_value(&parts.get(k).unwrap());
        assert_eq!(
            [
                field("scheme"),
                field("host"),
                field("hostname"),
                field("path"),
                field("query"),
                field("opaque"),
                field("fragment"),
                field("userinfo")
            ],
            ["http", "server.com:8080", "server.com", "/api", "list=false", "", "anchor", "admin:secret"]
        );
        assert_eq!(url_join(&parts), "http://admin:secret@server.com:8080/api?list=false#anchor");
        let parts = Map::default();
        parts.insert("host", Value::from("localhost:80"));
        parts.insert("path", Value::from("/path"));
        parts.insert("query", Value::from("q=1"));
        parts.insert("scheme", Value::from("https"));
        assert_eq!(url_join(&parts), "https://localhost:80/path?q=1");
        let Value::Map(mail) = url_parse("mailto:someone@example.com").unwrap() else { panic!("a map") };
        assert_eq!(super::super::to_string_value(&mail.get("opaque").unwrap()), "someone@example.com");
    }
}
