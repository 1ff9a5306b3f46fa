//! Freight names: the SHA-1 of the origin and the sorted artifact identities (reference §5.1).

use convoy_api::{ArtifactReference, Chart, Freight, GitCommit, Image};
use sha1::{Digest, Sha1};

use crate::urls::{normalize_chart, normalize_git, path_join};

/// The content-hash name Kargo gives a piece of Freight.
pub fn freight_id(freight: &Freight) -> String {
    let mut parts: Vec<String> = Vec::new();
    parts.extend(freight.commits.iter().map(commit_part));
    parts.extend(freight.images.iter().map(image_part));
    parts.extend(freight.charts.iter().map(chart_part));
    parts.extend(freight.artifacts.iter().map(artifact_part));
    parts.sort();
    let preimage = format!("{}:{}", freight.origin, parts.join("|"));
    hex(&Sha1::digest(preimage.as_bytes()))
}

fn commit_part(commit: &GitCommit) -> String {
    let repo = normalize_git(&commit.repo_url);
    if commit.tag.is_empty() { format!("{repo}:{}", commit.id) } else { format!("{repo}:{}:{}", commit.tag, commit.id) }
}

/// Tag and digest both: a mutable tag can get a new digest, a digest can be re-tagged.
fn image_part(image: &Image) -> String {
    format!("{}:{}@{}", image.repo_url, image.tag, image.digest)
}

fn chart_part(chart: &Chart) -> String {
    format!("{}:{}", path_join(&[&normalize_chart(&chart.repo_url), &chart.name]), chart.version)
}

fn artifact_part(artifact: &ArtifactReference) -> String {
    format!("{}:{}:{}", artifact.artifact_type, artifact.subscription_name, artifact.version)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
