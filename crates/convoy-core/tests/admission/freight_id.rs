//! Freight ids: the expected hash is computed here from the documented formula (reference §5.1)
//! over a preimage written by hand.

use convoy_api::Freight;
use convoy_core::freight_id::freight_id;
use sha1::{Digest, Sha1};

use super::*;

fn sha1_hex(preimage: &str) -> String {
    Sha1::digest(preimage.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn freight(body: &str) -> Freight {
    let Resource::Freight(f) = one(&format!(
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Freight\nmetadata: {{name: ignored}}\norigin: {{kind: Warehouse, name: w}}\n{body}"
    )) else {
        panic!()
    };
    f
}

#[test]
fn single_image_uses_the_url_as_written() {
    let f = freight("images: [{repoURL: docker.io/library/nginx, tag: '1.25', digest: 'sha256:aaa'}]\n");
    assert_eq!(freight_id(&f), sha1_hex("Warehouse/w:docker.io/library/nginx:1.25@sha256:aaa"));
}

#[test]
fn commits_normalise_their_urls() {
    let cases = [
        ("repoURL: 'https://GitHub.com/Example/Config.git/', id: abc123", "https://github.com/example/config:abc123"),
        (
            "repoURL: 'https://user:token@github.com/example/config', id: abc123",
            "https://github.com/example/config:abc123",
        ),
        (
            "repoURL: 'https://github.com/example/config', id: abc123, tag: v1.0.0",
            "https://github.com/example/config:v1.0.0:abc123",
        ),
        ("repoURL: 'git@github.com:example/config.git', id: abc123", "ssh://git@github.com/example/config:abc123"),
        (
            "repoURL: 'ssh://git@github.com/example/config.git', id: abc123",
            "ssh://git@github.com/example/config:abc123",
        ),
        ("repoURL: 'file:///tmp/Repos/App.git', id: abc123", "file:///tmp/Repos/App:abc123"),
        ("repoURL: 'file:///tmp/repos/app/', id: abc123", "file:///tmp/repos/app:abc123"),
    ];
    for (commit, part) in cases {
        let f = freight(&format!("commits: [{{{commit}}}]\n"));
        assert_eq!(freight_id(&f), sha1_hex(&format!("Warehouse/w:{part}")), "{commit}");
    }
}

#[test]
fn charts_join_repository_and_name_like_go_path_join() {
    let cases = [
        (
            "repoURL: 'https://Charts.example.com/', name: nginx, version: 1.2.3",
            "https:/charts.example.com/nginx:1.2.3",
        ),
        ("repoURL: 'oci://ghcr.io/Example/charts/app', version: 0.1.0", "ghcr.io/example/charts/app:0.1.0"),
        ("repoURL: 'oci://registry-1.docker.io/bitnamicharts/redis', version: 1.0.0", "bitnamicharts/redis:1.0.0"),
    ];
    for (chart, part) in cases {
        let f = freight(&format!("charts: [{{{chart}}}]\n"));
        assert_eq!(freight_id(&f), sha1_hex(&format!("Warehouse/w:{part}")), "{chart}");
    }
}

#[test]
fn parts_are_sorted_and_joined_with_bars() {
    let f = freight(
        "images: [{repoURL: ghcr.io/b/app, tag: '2', digest: 'sha256:2'}, {repoURL: ghcr.io/a/app, tag: '1', digest: 'sha256:1'}]\ncommits: [{repoURL: 'https://github.com/x/y', id: c0ffee}]\nartifacts: [{artifactType: feed, subscriptionName: news, version: '7'}]\n",
    );
    let mut parts =
        vec!["ghcr.io/b/app:2@sha256:2", "ghcr.io/a/app:1@sha256:1", "https://github.com/x/y:c0ffee", "feed:news:7"];
    parts.sort_unstable();
    assert_eq!(
        parts,
        ["feed:news:7", "ghcr.io/a/app:1@sha256:1", "ghcr.io/b/app:2@sha256:2", "https://github.com/x/y:c0ffee"]
    );
    assert_eq!(freight_id(&f), sha1_hex(&format!("Warehouse/w:{}", parts.join("|"))));
    let reordered = freight(
        "commits: [{repoURL: 'https://github.com/x/y', id: c0ffee}]\nartifacts: [{artifactType: feed, subscriptionName: news, version: '7'}]\nimages: [{repoURL: ghcr.io/a/app, tag: '1', digest: 'sha256:1'}, {repoURL: ghcr.io/b/app, tag: '2', digest: 'sha256:2'}]\n",
    );
    assert_eq!(freight_id(&f), freight_id(&reordered));
}

#[test]
fn origin_is_part_of_the_identity() {
    let a = freight("images: [{repoURL: ghcr.io/a/app, tag: '1'}]\n");
    let mut b = a.clone();
    b.origin.name = "other".into();
    assert_eq!(freight_id(&b), sha1_hex("Warehouse/other:ghcr.io/a/app:1@"));
    assert_ne!(freight_id(&a), freight_id(&b));
}
