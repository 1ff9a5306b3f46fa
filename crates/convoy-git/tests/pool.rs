//! Warm work trees: a tree handed back by one promotion and taken by the next is, to the
//! steps, the fresh clone they would otherwise get.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use convoy_git::testing::git as sh;
use convoy_git::{Checkout, Mirrors, Signature, TreeRequest, return_trees};

/// A remote with `main` (a .gitignore, a chart and an env dir), a branch `env/dev` and a tag.
fn remote(dir: &Path) -> String {
    convoy_git::allow_file_remotes(true);
    let bare = dir.join("remote.git");
    sh(dir, &["init", "--quiet", "--bare", "-b", "main", bare.to_str().unwrap()]);
    let seed = dir.join("seed");
    sh(dir, &["clone", "--quiet", bare.to_str().unwrap(), seed.to_str().unwrap()]);
    std::fs::create_dir_all(seed.join("env/dev")).unwrap();
    std::fs::create_dir_all(seed.join("charts")).unwrap();
    std::fs::write(seed.join(".gitignore"), "*.log\n").unwrap();
    std::fs::write(seed.join("env/dev/values.yaml"), "tag: 1.0.0\n").unwrap();
    std::fs::write(seed.join("charts/Chart.yaml"), "name: app\n").unwrap();
    sh(&seed, &["add", "."]);
    sh(&seed, &["commit", "--quiet", "-m", "init"]);
    sh(&seed, &["push", "--quiet", "origin", "main"]);
    sh(&seed, &["checkout", "--quiet", "-b", "env/dev"]);
    std::fs::write(seed.join("env/dev/values.yaml"), "tag: 2.0.0\n").unwrap();
    sh(&seed, &["commit", "--quiet", "-am", "dev"]);
    sh(&seed, &["push", "--quiet", "origin", "env/dev"]);
    sh(&seed, &["tag", "v1"]);
    sh(&seed, &["push", "--quiet", "origin", "v1"]);
    format!("file://{}", bare.display())
}

/// Every file below `dir` but `.git`, with its content.
fn files(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            if entry.file_name() == ".git" {
                continue;
            }
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                out.insert(path.strip_prefix(root).unwrap().display().to_string(), text);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// What a step or a later git command can tell about a tree.
fn observable(tree: &Path) -> (BTreeMap<String, String>, String, String, String, String) {
    (
        files(tree),
        sh(tree, &["for-each-ref", "--format=%(refname) %(objectname)"]),
        sh(tree, &["config", "--local", "--list"]),
        sh(tree, &["symbolic-ref", "-q", "HEAD"]) + &sh(tree, &["rev-parse", "HEAD"]),
        sh(tree, &["status", "--porcelain", "--ignored", "--untracked-files=all"]),
    )
}

async fn take(mirrors: &Mirrors, url: &str, dest: &Path, checkout: Checkout, sparse: &[String]) -> PathBuf {
    take_as(mirrors, url, dest, checkout, sparse, "p").await
}

async fn take_as(
    mirrors: &Mirrors,
    url: &str,
    dest: &Path,
    checkout: Checkout,
    sparse: &[String],
    owner: &str,
) -> PathBuf {
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    let request = TreeRequest { dest, checkout: &checkout, sparse, owner };
    let trees = mirrors.work_trees(url, None, std::slice::from_ref(&request)).await.unwrap();
    trees[0].dir.clone()
}

#[tokio::test]
async fn a_reused_tree_is_indistinguishable_from_a_fresh_clone() {
    let dir = tempfile::tempdir().unwrap();
    let url = remote(dir.path());
    let mirrors = Mirrors::new(dir.path().join("mirrors"));
    let main = Checkout::Branch { name: "main".into(), create: false };
    let used = take(&mirrors, &url, &dir.path().join("promotion-1/src"), main.clone(), &[]).await;
    // Everything a promotion (or one that failed midway) can leave behind.
    std::fs::write(used.join("untracked.txt"), "left over").unwrap();
    std::fs::write(used.join("build.log"), "ignored but there").unwrap();
    std::fs::write(used.join("env/dev/values.yaml"), "tag: 9.9.9\n").unwrap();
    std::fs::write(used.join("staged.txt"), "in the index").unwrap();
    sh(&used, &["add", "staged.txt", "env/dev/values.yaml"]);
    sh(&used, &["branch", "stray"]);
    sh(&used, &["tag", "local-only"]);
    sh(&used, &["config", "user.name", "someone"]);
    sh(&used, &["sparse-checkout", "set", "--cone", "charts"]);
    std::fs::create_dir_all(used.join(".git/rebase-merge")).unwrap();
    std::fs::write(used.join(".git/rebase-merge/head-name"), "refs/heads/stray").unwrap();
    let tree = convoy_git::WorkTree::open(&used, None).await.unwrap();
    tree.commit("a local commit", &Signature::default()).await.unwrap();
    return_trees(&dir.path().join("promotion-1"));
    assert!(!used.exists(), "the tree went back to the pool");

    let dev = Checkout::Branch { name: "env/dev".into(), create: false };
    let reused = take(&mirrors, &url, &dir.path().join("promotion-2/src"), dev.clone(), &[]).await;
    assert_eq!(mirrors.reused_count(), 1, "the pooled tree was taken, not cloned again");
    let fresh_mirrors = Mirrors::new(dir.path().join("other-mirrors"));
    let fresh = take(&fresh_mirrors, &url, &dir.path().join("fresh/src"), dev, &[]).await;
    assert_eq!(fresh_mirrors.reused_count(), 0);
    assert_eq!(observable(&reused), observable(&fresh));
    assert_eq!(files(&reused)["env/dev/values.yaml"], "tag: 2.0.0\n");
    assert!(!reused.join(".git/rebase-merge").exists());

    // Sparse on reuse writes the cone; the next reuse without sparse brings every file back.
    return_trees(&dir.path().join("promotion-2"));
    let sparse = take(&mirrors, &url, &dir.path().join("promotion-3/src"), main.clone(), &["charts".into()]).await;
    assert!(sparse.join("charts/Chart.yaml").exists() && !sparse.join("env").exists());
    return_trees(&dir.path().join("promotion-3"));
    let whole = take(&mirrors, &url, &dir.path().join("promotion-4/src"), main.clone(), &[]).await;
    let fresh_main = take(&fresh_mirrors, &url, &dir.path().join("fresh-main/src"), main.clone(), &[]).await;
    assert_eq!(observable(&whole), observable(&fresh_main));
    assert_eq!(mirrors.reused_count(), 3);

    // Another project never gets this project's trees (they may hold commits never pushed).
    return_trees(&dir.path().join("promotion-4"));
    take_as(&mirrors, &url, &dir.path().join("other-project/src"), main.clone(), &[], "q").await;
    assert_eq!(mirrors.reused_count(), 3, "project q cloned afresh");
    take(&mirrors, &url, &dir.path().join("promotion-5/src"), main, &[]).await;
    assert_eq!(mirrors.reused_count(), 4, "project p got its tree back");
}

/// Eight promotions of four Stages into one repository at once: each gets a tree of its own
/// (four from the pool, the rest cloned), and each pushes exactly its commit.
#[tokio::test]
async fn concurrent_promotions_get_trees_of_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let url = remote(dir.path());
    let mirrors = Arc::new(Mirrors::new(dir.path().join("mirrors")));
    let main = Checkout::Branch { name: "main".into(), create: false };
    for warm in 0..4 {
        take(&mirrors, &url, &dir.path().join(format!("warm-{warm}/src")), main.clone(), &[]).await;
        return_trees(&dir.path().join(format!("warm-{warm}")));
    }
    let tasks: Vec<_> = (0..8)
        .map(|n| {
            let (mirrors, url, root) = (mirrors.clone(), url.clone(), dir.path().to_owned());
            tokio::spawn(async move {
                let stage = n % 4;
                let dest = root.join(format!("promotion-{n}/src"));
                let tree =
                    take(&mirrors, &url, &dest, Checkout::Branch { name: "main".into(), create: false }, &[]).await;
                std::fs::write(tree.join(format!("stage-{stage}-promotion-{n}.txt")), format!("{n}")).unwrap();
                let tree = convoy_git::WorkTree::open(&tree, None).await.unwrap();
                let commit = tree.commit(&format!("promotion {n}"), &Signature::default()).await.unwrap();
                tree.push(&mirrors, Some("main"), false, 20).await.unwrap();
                commit
            })
        })
        .collect();
    let mut commits = Vec::new();
    for task in tasks {
        commits.push(task.await.unwrap());
    }
    assert_eq!(mirrors.reused_count(), 4);
    let bare = dir.path().join("remote.git");
    let messages = sh(&bare, &["log", "--format=%s", "main"]);
    for n in 0..8 {
        assert_eq!(messages.lines().filter(|m| *m == format!("promotion {n}")).count(), 1, "{messages}");
    }
    let listing = sh(&bare, &["ls-tree", "--name-only", "main"]);
    assert_eq!(listing.lines().filter(|f| f.starts_with("stage-")).count(), 8, "{listing}");
    assert_eq!(commits.len(), 8);
}
