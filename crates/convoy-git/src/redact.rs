//! Credentials never leave in text: `https://user:token@host` becomes `https://***@host`.

/// Replaces the userinfo of every URL in `text`.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(scheme_end) = rest.find("://") {
        let (head, tail) = rest.split_at(scheme_end + 3);
        out.push_str(head);
        let authority_end =
            tail.find(|c: char| c == '/' || c.is_whitespace() || c == '\'' || c == '"').unwrap_or(tail.len());
        let authority = &tail[..authority_end];
        match authority.rfind('@') {
            Some(at) => {
                out.push_str("***@");
                out.push_str(&authority[at + 1..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[authority_end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn userinfo_is_hidden() {
        assert_eq!(
            super::redact("fatal: https://bob:s3cret@github.com/a/b.git not found"),
            "fatal: https://***@github.com/a/b.git not found"
        );
        assert_eq!(super::redact("ssh://git@host/x and http://h/y"), "ssh://***@host/x and http://h/y");
        assert_eq!(super::redact("no url here"), "no url here");
    }
}
