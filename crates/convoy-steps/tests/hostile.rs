//! Stages and repositories written by someone the Convoy host should not trust: each test is a
//! way out of the work dir or into running a command, and each must fail with an error that
//! says why, leaving everything outside the work dir as it was.

mod common;

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use common::{Now, sh};
use convoy_api::PromotionStep;
use convoy_engine::{NoJournal, NoResources, Orchestrator, Outcome, Phase, Progress, PromotionContext};
use convoy_git::Mirrors;
use serde_json::json;

/// What the attacker wants: a file outside the work dir, holding a secret.
struct Outside {
    _dir: tempfile::TempDir,
    secret: PathBuf,
    dir: PathBuf,
}

fn outside() -> Outside {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("admin-token");
    std::fs::write(&secret, "s3cr3t-token\n").unwrap();
    let path = dir.path().to_owned();
    Outside { _dir: dir, secret, dir: path }
}

struct Run {
    progress: Progress,
    outcome: Outcome,
}

impl Run {
    fn message(&self, alias: &str) -> String {
        self.progress.meta(alias).and_then(|m| m.message.clone()).unwrap_or_default()
    }
}

async fn run(work: &Path, mirrors: &Path, plan: serde_json::Value) -> Run {
    let registry = convoy_steps::builtin(Arc::new(Mirrors::new(mirrors)), Arc::new(NoResources));
    let plan: Vec<PromotionStep> = serde_json::from_value(plan).unwrap();
    let context = PromotionContext { work_dir: work.to_owned(), ..PromotionContext::default() };
    let orchestrator = Orchestrator { registry: &registry, data: &convoy_expr::NoData, clock: &Now };
    let mut progress = Progress::default();
    let outcome = orchestrator.run(&context, &plan, &mut progress, &mut NoJournal).await;
    Run { progress, outcome }
}

fn failed(run: &Run) -> bool {
    run.outcome == Outcome::Finished { phase: Phase::Errored }
        || run.outcome == Outcome::Finished { phase: Phase::Failed }
}

/// A bare repository whose `main` holds `files` (path, content) and `links` (path, target).
fn repository(dir: &Path, files: &[(&str, &str)], links: &[(&str, &str)]) -> String {
    convoy_git::allow_file_remotes(true);
    let bare = dir.join("config.git");
    sh(dir, &["init", "--quiet", "--bare", "-b", "main", bare.to_str().unwrap()]);
    let seed = dir.join("seed");
    sh(dir, &["clone", "--quiet", bare.to_str().unwrap(), seed.to_str().unwrap()]);
    for (path, content) in files {
        std::fs::create_dir_all(seed.join(path).parent().unwrap()).unwrap();
        std::fs::write(seed.join(path), content).unwrap();
    }
    for (path, target) in links {
        std::fs::create_dir_all(seed.join(path).parent().unwrap()).unwrap();
        symlink(target, seed.join(path)).unwrap();
    }
    sh(&seed, &["add", "."]);
    sh(&seed, &["commit", "--quiet", "-m", "init"]);
    sh(&seed, &["push", "--quiet", "origin", "main"]);
    format!("file://{}", bare.display())
}

#[tokio::test]
async fn writes_into_git_directories_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = repository(dir.path(), &[("a.yaml", "a: 1\n")], &[]);
    let marker = dir.path().join("fsmonitor-ran");
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let config = format!("[core]\n\tfsmonitor = touch {}\n", marker.display());
    let run = run(
        &work,
        &dir.path().join("m"),
        json!([
            {"uses": "git-clone", "config": {"repoURL": url, "checkout": [{"branch": "main", "path": "./out"}]}},
            {"uses": "file-write", "as": "config", "config": {"path": "./out/.git/config", "contents": config, "overwrite": true}},
            {"uses": "copy", "as": "copy", "if": "${{ always() }}", "config": {"inPath": "./out/a.yaml", "outPath": "./out/.git/hooks/pre-commit"}},
            {"uses": "yaml-update", "as": "edit", "if": "${{ always() }}", "config": {"path": "./out/.GIT/config", "updates": [{"key": "a", "value": "b"}]}},
            {"uses": "git-commit", "as": "commit", "if": "${{ always() }}", "config": {"path": "./out", "message": "m"}}
        ]),
    )
    .await;
    for alias in ["config", "copy", "edit"] {
        assert!(run.message(alias).contains("reaches into a .git directory"), "{alias}: {}", run.message(alias));
    }
    assert!(failed(&run));
    assert!(!marker.exists(), "git ran the command set through .git/config");
    let git_config = std::fs::read_to_string(work.join("out/.git/config")).unwrap();
    assert!(!git_config.contains("fsmonitor"), "{git_config}");
}

#[tokio::test]
async fn links_out_of_the_work_dir_are_not_followed() {
    let secret = outside();
    let dir = tempfile::tempdir().unwrap();
    let target = secret.secret.to_str().unwrap().to_owned();
    let url = repository(
        dir.path(),
        &[("base/a.yaml", "a: 1\n")],
        &[("base/token", &target), ("escape", "../../../../../../../../../../"), ("inner", "base/a.yaml")],
    );
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let run = run(
        &work,
        &dir.path().join("m"),
        json!([
            {"uses": "git-clone", "config": {"repoURL": url, "checkout": [{"branch": "main", "path": "./src"}]}},
            {"uses": "copy", "as": "copy", "config": {"inPath": "./src/base", "outPath": "./out"}},
            {"uses": "yaml-parse", "as": "read", "if": "${{ always() }}", "config": {"path": "./src/base/token", "outputs": [{"name": "x", "fromExpression": "x"}]}},
            {"uses": "file-write", "as": "through", "if": "${{ always() }}", "config": {"path": format!("./src/escape{}/planted", secret.dir.display()), "contents": "x"}},
            {"uses": "copy", "as": "inside", "if": "${{ always() }}", "config": {"inPath": "./src/inner", "outPath": "./copied.yaml"}}
        ]),
    )
    .await;
    assert!(run.message("copy").contains("symbolic link"), "{}", run.message("copy"));
    assert!(run.message("copy").contains("base/token"), "names the link: {}", run.message("copy"));
    assert!(run.message("read").contains("outside the promotion's working directory"), "{}", run.message("read"));
    assert!(run.message("through").contains("outside the promotion's working directory"), "{}", run.message("through"));
    assert!(!secret.dir.join("planted").exists());
    let copied = std::fs::read_to_string(work.join("out/token")).unwrap_or_default();
    assert!(!copied.contains("s3cr3t"), "the secret was copied into the work tree");
    // A link that stays inside is followed.
    assert_eq!(std::fs::read_to_string(work.join("copied.yaml")).unwrap(), "a: 1\n");
    assert_eq!(std::fs::read_to_string(&secret.secret).unwrap(), "s3cr3t-token\n");
}

#[tokio::test]
async fn copied_links_stay_links_and_only_inside() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir_all(work.join("src/base")).unwrap();
    std::fs::write(work.join("src/base/a.yaml"), "a: 1\n").unwrap();
    symlink("a.yaml", work.join("src/base/alias.yaml")).unwrap();
    // A destination that is already a link out is replaced, not written through.
    let secret = outside();
    std::fs::create_dir_all(work.join("out")).unwrap();
    symlink(&secret.secret, work.join("out/a.yaml")).unwrap();
    let run = run(
        &work,
        &dir.path().join("m"),
        json!([{"uses": "copy", "as": "copy", "config": {"inPath": "./src/base", "outPath": "./out"}}]),
    )
    .await;
    assert_eq!(run.outcome, Outcome::Finished { phase: Phase::Succeeded }, "{}", run.message("copy"));
    assert_eq!(std::fs::read_link(work.join("out/alias.yaml")).unwrap(), Path::new("a.yaml"));
    assert!(!std::fs::symlink_metadata(work.join("out/a.yaml")).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read_to_string(&secret.secret).unwrap(), "s3cr3t-token\n");
}

#[tokio::test]
async fn delete_globs_do_not_enter_linked_directories() {
    let secret = outside();
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir_all(work.join("out")).unwrap();
    std::fs::write(work.join("out/old.yaml"), "x").unwrap();
    symlink(&secret.dir, work.join("out/linked")).unwrap();
    let run = run(
        &work,
        &dir.path().join("m"),
        json!([
            {"uses": "delete", "as": "globs", "config": {"path": "./out/**", "pathsAreGlobs": true}},
        ]),
    )
    .await;
    assert_eq!(run.outcome, Outcome::Finished { phase: Phase::Succeeded }, "{}", run.message("globs"));
    assert!(secret.secret.exists(), "a file behind a linked directory was deleted");
    assert!(!work.join("out/old.yaml").exists());
    assert!(std::fs::symlink_metadata(work.join("out/linked")).is_err(), "the link itself is deleted");
}

#[tokio::test]
async fn untar_does_not_write_through_links() {
    let secret = outside();
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    let staging = dir.path().join("staging");
    std::fs::create_dir_all(staging.join("sub")).unwrap();
    std::fs::write(staging.join("sub/planted"), "x").unwrap();
    let archive = work.join("a.tar");
    std::fs::create_dir_all(&work).unwrap();
    let status = Command::new("tar").arg("-cf").arg(&archive).arg("-C").arg(&staging).arg("sub").status().unwrap();
    assert!(status.success());
    std::fs::create_dir_all(work.join("out")).unwrap();
    symlink(&secret.dir, work.join("out/sub")).unwrap();
    let run = run(
        &work,
        &dir.path().join("m"),
        json!([{"uses": "untar", "as": "untar", "config": {"inPath": "./a.tar", "outPath": "./out"}}]),
    )
    .await;
    assert!(failed(&run));
    assert!(run.message("untar").contains("symbolic link"), "{}", run.message("untar"));
    assert!(!secret.dir.join("planted").exists());
}

#[tokio::test]
async fn refs_and_urls_that_are_options_never_reach_git() {
    let dir = tempfile::tempdir().unwrap();
    let url = repository(dir.path(), &[("a.yaml", "a: 1\n")], &[]);
    let marker = dir.path().join("upload-pack-ran");
    let injected = format!("--upload-pack=touch {};git-upload-pack", marker.display());
    let cases = [
        ("branch", json!({"repoURL": url, "checkout": [{"branch": injected, "path": "./a"}]}), "checkout[0].branch"),
        ("tag", json!({"repoURL": url, "checkout": [{"tag": injected, "path": "./b"}]}), "checkout[0].tag"),
        ("commit", json!({"repoURL": url, "checkout": [{"commit": injected, "path": "./c"}]}), "checkout[0].commit"),
        ("url", json!({"repoURL": injected, "checkout": [{"branch": "main", "path": "./d"}]}), "repoURL"),
        (
            "helper",
            json!({"repoURL": format!("ext::sh -c touch% {}", marker.display()), "checkout": [{"path": "./e"}]}),
            "repoURL",
        ),
    ];
    for (alias, config, field) in cases {
        let work = dir.path().join(format!("work-{alias}"));
        std::fs::create_dir_all(&work).unwrap();
        let run =
            run(&work, &dir.path().join("m"), json!([{"uses": "git-clone", "as": alias, "config": config}])).await;
        assert!(failed(&run), "{alias}");
        let message = run.message(alias);
        assert!(message.contains(&format!("invalid git-clone config: {field}")), "{alias}: {message}");
        assert!(message.contains("unrecoverable"), "a bad ref is not retried: {message}");
    }
    let work = dir.path().join("work-push");
    std::fs::create_dir_all(&work).unwrap();
    let run = run(
        &work,
        &dir.path().join("m"),
        json!([
            {"uses": "git-clone", "config": {"repoURL": url, "checkout": [{"branch": "main", "path": "./out"}]}},
            {"uses": "git-push", "as": "push", "config": {"path": "./out", "targetBranch": injected}},
            {"uses": "git-push", "as": "tag", "if": "${{ always() }}", "config": {"path": "./out", "tag": "-f"}}
        ]),
    )
    .await;
    assert!(run.message("push").contains("targetBranch"), "{}", run.message("push"));
    assert!(run.message("tag").contains("tag"), "{}", run.message("tag"));
    assert!(!marker.exists(), "git ran a command given as a ref or URL");
}
