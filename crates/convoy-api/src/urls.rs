//! Repository URL normalisation, as Kargo compares and hashes URLs (reference §5.1).

/// Normalises a git URL: `https://User@GitHub.com/Org/Repo.git/` → `https://github.com/org/repo`;
/// SCP-style `git@host:org/repo.git` → `ssh://git@host/org/repo`. A URL it cannot normalise is
/// returned as given. `file://` URLs (a Convoy extension) only lose a trailing `/` and `.git`.
pub fn normalize_git(repo: &str) -> String {
    if has_internal_spaces(repo) {
        return repo.to_owned();
    }
    let compact: String = repo.chars().filter(|c| !is_space(*c)).collect();
    if compact.is_empty() {
        return repo.to_owned();
    }
    if let Some(path) = compact.strip_prefix("file://") {
        return format!("file://{}", trim_git_suffix(path));
    }
    if ["http://", "https://", "ssh://"].iter().any(|p| compact.starts_with(p)) {
        return normalize_url_form(&compact).unwrap_or_else(|| repo.to_owned());
    }
    normalize_scp_form(&compact).unwrap_or_else(|| repo.to_owned())
}

fn trim_git_suffix(path: &str) -> &str {
    let path = path.strip_suffix('/').unwrap_or(path);
    path.strip_suffix(".git").unwrap_or(path)
}

/// `scheme://[user[:pass]@]host[:port][/path][#fragment]`; a query makes it unnormalisable.
fn normalize_url_form(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let (rest, fragment) = match rest.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (rest, None),
    };
    if let Some((_, query)) = rest.split_once('?')
        && !query.is_empty()
    {
        return None;
    }
    let rest = rest.split('?').next().unwrap_or(rest);
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        // Credentials never belong in an identity; ssh keeps its user name.
        Some((_, host)) if scheme != "ssh" => host.to_owned(),
        _ => authority.to_owned(),
    };
    let mut out = format!("{scheme}://{authority}{}", trim_git_suffix(path));
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    Some(out.to_lowercase())
}

/// `[user@]host[:path]` with host made of word characters, dots and dashes.
fn normalize_scp_form(repo: &str) -> Option<String> {
    let (user_host, path) = match repo.split_once(':') {
        Some((uh, p)) => (uh, Some(p)),
        None => (repo, None),
    };
    let (user, host) = match user_host.split_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, user_host),
    };
    let word = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if user.is_some_and(|u| !word(u)) || !host.split('.').all(word) {
        return None;
    }
    let path = path.map(|p| p.split(['?', '#']).next().unwrap_or(p)).unwrap_or("");
    let path = trim_git_suffix(path);
    if path.is_empty() {
        Some(format!("ssh://{user_host}").to_lowercase())
    } else {
        Some(format!("ssh://{user_host}/{path}").to_lowercase())
    }
}

fn is_space(c: char) -> bool {
    c.is_whitespace() || c.is_control() || matches!(c, '\u{feff}' | '\u{200b}' | '\u{00a0}')
}

fn has_internal_spaces(repo: &str) -> bool {
    let decoded = percent_decode(repo);
    let trimmed = decoded.trim_matches(is_space);
    trimmed.chars().any(is_space)
}

/// `%XX` escapes decoded (bytes that do not form UTF-8 replaced); a `%` not followed by two
/// hex digits stays as it is.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 3 <= bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Normalises an image repository: Docker Hub names lose `docker.io`, `index.docker.io` and
/// `library/`; others become `registry/repository`. Unparseable input is returned as given.
pub fn normalize_image(repo: &str) -> String {
    match parse_image_repository(repo) {
        Some((registry, path)) if registry == "index.docker.io" || registry == "registry-1.docker.io" => {
            path.strip_prefix("library/").unwrap_or(&path).to_owned()
        }
        Some((registry, path)) => format!("{registry}/{path}"),
        None => repo.to_owned(),
    }
}

/// Weak parse of an image reference (tag and digest dropped) into registry and repository path.
fn parse_image_repository(reference: &str) -> Option<(String, String)> {
    let name = reference.split('@').next().unwrap_or(reference);
    let name = match (name.rfind(':'), name.rfind('/')) {
        (Some(colon), slash) if slash.is_none_or(|s| colon > s) => &name[..colon],
        _ => name,
    };
    let (registry, path) = match name.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
            (first.to_owned(), rest.to_owned())
        }
        Some(_) => ("index.docker.io".to_owned(), name.to_owned()),
        None => ("index.docker.io".to_owned(), format!("library/{name}")),
    };
    let registry = if registry == "docker.io" { "index.docker.io".to_owned() } else { registry };
    let host_ok = {
        let (host, port) = registry.split_once(':').map_or((registry.as_str(), None), |(h, p)| (h, Some(p)));
        !host.is_empty()
            && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
            && port.is_none_or(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
    };
    let component_ok = |c: &str| {
        !c.is_empty()
            && c.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || matches!(ch, '.' | '_' | '-'))
            && c.starts_with(|ch: char| ch.is_ascii_alphanumeric())
            && c.ends_with(|ch: char| ch.is_ascii_alphanumeric())
    };
    (host_ok && path.split('/').all(component_ok)).then_some((registry, path))
}

/// Normalises a Helm chart repository URL: trimmed, lower-cased, `oci://` dropped, then as an
/// image repository.
pub fn normalize_chart(repo: &str) -> String {
    let lowered = repo.trim().to_lowercase();
    normalize_image(lowered.strip_prefix("oci://").unwrap_or(&lowered))
}

/// Go's `path.Join`: joins non-empty elements with `/` and cleans the result (which, as in
/// Kargo, collapses `https://` to `https:/`).
pub fn path_join(parts: &[&str]) -> String {
    let joined = parts.iter().filter(|p| !p.is_empty()).copied().collect::<Vec<_>>().join("/");
    if joined.is_empty() {
        return String::new();
    }
    path_clean(&joined)
}

/// Go's `path.Clean`.
pub fn path_clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|p| *p != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            _ => out.push(part),
        }
    }
    let body = out.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".to_owned(),
        (false, false) => body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_urls() {
        let cases = [
            ("https://github.com/Akuity/Kargo.git", "https://github.com/akuity/kargo"),
            ("https://github.com/akuity/kargo.git/", "https://github.com/akuity/kargo"),
            ("https://user:pass@github.com/akuity/kargo", "https://github.com/akuity/kargo"),
            ("http://localhost:8080/repo.git", "http://localhost:8080/repo"),
            ("ssh://git@github.com/akuity/kargo.git", "ssh://git@github.com/akuity/kargo"),
            ("git@github.com:akuity/kargo.git", "ssh://git@github.com/akuity/kargo"),
            ("github.com:akuity/kargo", "ssh://github.com/akuity/kargo"),
            ("  https://github.com/akuity/kargo  ", "https://github.com/akuity/kargo"),
            ("https://github.com/akuity/kargo?x=1", "https://github.com/akuity/kargo?x=1"),
            ("https://github.com/akuity/my repo", "https://github.com/akuity/my repo"),
            ("file:///tmp/Repos/App.git", "file:///tmp/Repos/App"),
            ("file:///tmp/repos/app/", "file:///tmp/repos/app"),
            ("not a url at all", "not a url at all"),
        ];
        for (given, want) in cases {
            assert_eq!(normalize_git(given), want, "{given}");
        }
    }

    #[test]
    fn image_and_chart_urls() {
        assert_eq!(normalize_image("nginx"), "nginx");
        assert_eq!(normalize_image("library/nginx"), "nginx");
        assert_eq!(normalize_image("docker.io/library/nginx"), "nginx");
        assert_eq!(normalize_image("index.docker.io/bitnami/redis"), "bitnami/redis");
        assert_eq!(normalize_image("ghcr.io/akuity/kargo"), "ghcr.io/akuity/kargo");
        assert_eq!(normalize_image("localhost:5000/app"), "localhost:5000/app");
        assert_eq!(normalize_image("127.0.0.1:5000/team/app"), "127.0.0.1:5000/team/app");
        assert_eq!(normalize_image("GHCR.io/Bad/Case"), "GHCR.io/Bad/Case");
        assert_eq!(normalize_chart("oci://GHCR.io/akuity/charts/kargo"), "ghcr.io/akuity/charts/kargo");
        assert_eq!(normalize_chart("https://charts.example.com"), "https://charts.example.com");
        assert_eq!(path_join(&["https://charts.example.com", "nginx"]), "https:/charts.example.com/nginx");
        assert_eq!(path_join(&["ghcr.io/a/chart", ""]), "ghcr.io/a/chart");
    }
}
