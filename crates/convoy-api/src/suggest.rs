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

/// Edit distance over chars counting a swap of two neighbours as one edit (optimal string
/// alignment): `bmup` is one edit from `bump`, as a typist would count it.
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1).min(rows[i][j - 1] + 1).min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
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
        // Swapped neighbours are one slip of the fingers.
        assert_eq!(closest("bmup", ["bump", "build"]), Some("bump"));
        assert_eq!(closest("evn", ["env", "image"]), Some("env"));
        assert_eq!(closest("stagign", ["staging", "prod"]), Some("staging"));
    }
}
