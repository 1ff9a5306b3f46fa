//! "Did you mean ...?" for misspelt names.

/// The candidate closest to `given`, if it is close enough to be a likely typo.
pub fn closest<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let given_lower = given.to_ascii_lowercase();
    candidates
        .into_iter()
        .filter(|c| *c != given)
        .map(|c| (c, distance(&given_lower, &c.to_ascii_lowercase())))
        .filter(|(c, d)| *d <= (c.chars().count().max(given.chars().count()) / 3).max(1))
        .min_by_key(|(_, d)| *d)
        .map(|(c, _)| c)
}

/// Levenshtein distance over chars.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev_diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let next = (row[j + 1] + 1).min(row[j] + 1).min(prev_diag + cost);
            prev_diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_field() {
        assert_eq!(closest("step", ["vars", "steps"]), Some("steps"));
        assert_eq!(closest("repoUrl", ["repoURL", "branch"]), Some("repoURL"));
        assert_eq!(closest("imge", ["image", "repo"]), Some("image"));
        assert_eq!(closest("zzzzzz", ["vars", "steps"]), None);
    }
}
