//! Versions as Masterminds semver v3's `NewVersion` reads them (what Kargo's `semverParse` and
//! `semverDiff` use): an optional `v`, missing minor/patch read as 0, pre-release and metadata.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub pre: String,
    pub metadata: String,
    pub original: String,
}

impl Version {
    pub fn parse(text: &str) -> Result<Version, String> {
        let invalid = || "Invalid Semantic Version".to_owned();
        let body = text.strip_prefix('v').unwrap_or(text);
        let (body, metadata) = body.split_once('+').map_or((body, ""), |(b, m)| (b, m));
        let (core, pre) = body.split_once('-').map_or((body, ""), |(c, p)| (c, p));
        let ident_ok = |s: &str| {
            s.split('.').all(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        };
        if (!pre.is_empty() && !ident_ok(pre)) || (!metadata.is_empty() && !ident_ok(metadata)) {
            return Err(invalid());
        }
        if text.contains('+') && metadata.is_empty() || body.contains('-') && pre.is_empty() {
            return Err(invalid());
        }
        let parts: Vec<&str> = core.split('.').collect();
        if parts.len() > 3 || parts.iter().any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
            return Err(invalid());
        }
        let num = |i: usize| parts.get(i).map_or(Ok(0), |p| p.parse::<u64>().map_err(|_| invalid()));
        Ok(Version {
            major: num(0)?,
            minor: num(1)?,
            patch: num(2)?,
            pre: pre.to_owned(),
            metadata: metadata.to_owned(),
            original: text.to_owned(),
        })
    }

    pub fn inc_major(&self) -> Version {
        Version {
            major: self.major + 1,
            minor: 0,
            patch: 0,
            pre: String::new(),
            metadata: String::new(),
            original: String::new(),
        }
        .with_original()
    }

    pub fn inc_minor(&self) -> Version {
        Version { minor: self.minor + 1, patch: 0, pre: String::new(), metadata: String::new(), ..self.clone() }
            .with_original()
    }

    /// Semantic-version precedence (build metadata ignored): numeric pre-release identifiers
    /// compare as numbers and sort before alphanumeric ones; a release sorts after its
    /// pre-releases.
    pub fn precedence(&self, other: &Version) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        let core = (self.major, self.minor, self.patch).cmp(&(other.major, other.minor, other.patch));
        if core != Ordering::Equal {
            return core;
        }
        match (self.pre.is_empty(), other.pre.is_empty()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Greater,
            (false, true) => return Ordering::Less,
            (false, false) => {}
        }
        let mut a = self.pre.split('.');
        let mut b = other.pre.split('.');
        loop {
            match (a.next(), b.next()) {
                (None, None) => return Ordering::Equal,
                (None, Some(_)) => return Ordering::Less,
                (Some(_), None) => return Ordering::Greater,
                (Some(x), Some(y)) => {
                    let order = match (x.parse::<u64>(), y.parse::<u64>()) {
                        (Ok(x), Ok(y)) => x.cmp(&y),
                        (Ok(_), Err(_)) => Ordering::Less,
                        (Err(_), Ok(_)) => Ordering::Greater,
                        (Err(_), Err(_)) => x.cmp(y),
                    };
                    if order != Ordering::Equal {
                        return order;
                    }
                }
            }
        }
    }

    /// A pre-release becomes its release; a release gets the next patch.
    pub fn inc_patch(&self) -> Version {
        let patch = if self.pre.is_empty() { self.patch + 1 } else { self.patch };
        Version { patch, pre: String::new(), metadata: String::new(), ..self.clone() }.with_original()
    }

    fn with_original(mut self) -> Version {
        self.original = self.to_string();
        self
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        if !self.metadata.is_empty() {
            write!(f, "+{}", self.metadata)?;
        }
        Ok(())
    }
}

/// `Major`, `Minor`, `Patch`, `Metadata`, `None`, or `Incomparable`.
pub fn diff(a: &str, b: &str) -> &'static str {
    let (Ok(a), Ok(b)) = (Version::parse(a), Version::parse(b)) else { return "Incomparable" };
    if a.major != b.major {
        "Major"
    } else if a.minor != b.minor {
        "Minor"
    } else if a.patch != b.patch {
        "Patch"
    } else if a.metadata != b.metadata {
        "Metadata"
    } else {
        "None"
    }
}
