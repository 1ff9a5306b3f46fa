//! Promotions through the CLI against a real repository, including crashes at every step.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::server::Server;

pub use convoy_git::testing::git;

/// A config repository with a dev overlay, and the manifests of a project promoting into it.
pub fn setup(dir: &Path) -> (PathBuf, PathBuf) {
    let bare = dir.join("config.git");
    git(dir, &["init", "--quiet", "--bare", "-b", "main", bare.to_str().unwrap()]);
    let seed = dir.join("seed");
    git(dir, &["clone", "--quiet", bare.to_str().unwrap(), seed.to_str().unwrap()]);
    std::fs::create_dir_all(seed.join("env/dev")).unwrap();
    std::fs::write(
        seed.join("env/dev/kustomization.yaml"),
        "# dev overlay: edited by promotions\nimages:\n- name: ghcr.io/example/app # the app image\n  newTag: 1.0.0\n",
    )
    .unwrap();
    git(&seed, &["add", "."]);
    git(&seed, &["commit", "--quiet", "-m", "init"]);
    git(&seed, &["push", "--quiet", "origin", "main"]);
    let commit = git(&seed, &["rev-parse", "HEAD"]);
    let url = format!("file://{}", bare.display());
    let manifests = dir.join("project.yaml");
    std::fs::write(
        &manifests,
        format!(
            r#"apiVersion: kargo.akuity.io/v1alpha1
kind: Project
metadata: {{name: demo}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {{name: app, namespace: demo}}
spec:
  subscriptions:
  - image: {{repoURL: ghcr.io/example/app}}
  - git: {{repoURL: "{url}"}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Freight
metadata: {{namespace: demo}}
alias: first-light
origin: {{kind: Warehouse, name: app}}
images:
- {{repoURL: ghcr.io/example/app, tag: 1.2.0}}
commits:
- {{repoURL: "{url}", id: {commit}}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: PromotionTask
metadata: {{name: promote, namespace: demo}}
spec:
  vars:
  - name: repoURL
  - name: image
    value: ghcr.io/example/app
  steps:
  - uses: git-clone
    as: clone
    config:
      repoURL: ${{{{ vars.repoURL }}}}
      checkout:
      - branch: main
        path: ./repo
  - uses: kustomize-set-image
    as: update-image
    config:
      path: ./repo/env/${{{{ ctx.stage }}}}
      images:
      - image: ${{{{ vars.image }}}}
  - uses: git-commit
    as: commit
    config:
      path: ./repo
      message: ${{{{ task.outputs['update-image'].commitMessage }}}}
  - uses: git-push
    as: push
    config:
      path: ./repo
      targetBranch: main
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata: {{name: dev, namespace: demo}}
spec:
  requestedFreight:
  - origin: {{kind: Warehouse, name: app}}
    sources: {{direct: true}}
  promotionTemplate:
    spec:
      steps:
      - task: {{name: promote}}
        vars:
        - name: repoURL
          value: "{url}"
"#
        ),
    )
    .unwrap();
    (bare, manifests)
}

/// `setup`'s manifests, edited, applied to a server of their own: the config repository and the server.
fn serve_edited(dir: &Path, edit: impl FnOnce(String) -> String) -> (PathBuf, Server) {
    let (bare, manifests) = setup(dir);
    let text = edit(std::fs::read_to_string(&manifests).unwrap());
    std::fs::write(&manifests, text).unwrap();
    let server = Server::start(dir);
    server.login();
    let out = server.convoy().args(["apply", "-f"]).arg(&manifests).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (bare, server)
}

/// `convoy promote` of the Freight `setup` made (alias first-light) to `dev`, waiting for the end.
pub fn promote_first_light(server: &Server) -> std::process::Output {
    server
        .convoy()
        .args(["-p", "demo", "promote", "--freight-alias", "first-light", "--stage", "dev", "--wait"])
        .output()
        .unwrap()
}

pub fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn promote_wait_updates_the_repository() {
    let dir = tempfile::tempdir().unwrap();
    let (bare, manifests) = setup(dir.path());
    let server = Server::start(dir.path());
    server.login();
    let out = server.convoy().args(["apply", "-f"]).arg(&manifests).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = promote_first_light(&server);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}\n{}", String::from_utf8_lossy(&out.stderr), server.log());
    for alias in ["task-1::clone", "task-1::update-image", "task-1::commit", "task-1::push"] {
        assert!(text.contains(&format!("Succeeded {alias}")), "{alias} in\n{text}");
    }
    let pushed = git(&bare, &["show", "main:env/dev/kustomization.yaml"]);
    assert!(pushed.contains("newTag: 1.2.0"), "{pushed}");
    assert!(
        pushed.contains("# dev overlay: edited by promotions") && pushed.contains("# the app image"),
        "comments kept: {pushed}"
    );
    assert_eq!(git(&bare, &["rev-list", "--count", "main"]), "2");
    // The documented default author (docs/configuration.md).
    assert_eq!(git(&bare, &["log", "-1", "--format=%an <%ae>", "main"]), "Convoy <no-reply@convoy.invalid>");
    let name = text.lines().next().unwrap().trim_start_matches("Promotion/").trim_end_matches(" created").to_owned();
    let out = server.convoy().args(["-p", "demo", "logs", "promotion", &name]).output().unwrap();
    assert!(stdout(&out).contains("Succeeded task-1::push (git-push)"), "{}", stdout(&out));
    // A Stage's logs are its latest Promotion's; each step says its kind and how long it took.
    let by_stage = stdout(&server.convoy().args(["-p", "demo", "logs", "stage", "dev", "--follow"]).output().unwrap());
    assert!(by_stage.starts_with(&format!("Promotion {name} -> Stage dev")), "{by_stage}");
    let clone = by_stage.lines().find(|l| l.contains("task-1::clone (git-clone)")).expect(&by_stage);
    assert!(clone.split_whitespace().any(|w| w.ends_with('s') && w[..w.len() - 1].parse::<u64>().is_ok()), "{clone}");
    let out = server.convoy().args(["-p", "demo", "logs", "stage", "nosuch"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    // The newest Promotion into a Stage, as one object.
    let out = server
        .convoy()
        .args(["-p", "demo", "get", "promotions", "--stage", "dev", "--latest", "-o", "json"])
        .output()
        .unwrap();
    let latest: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(latest["metadata"]["name"].as_str(), Some(name.as_str()));
    let out = server.convoy().args(["-p", "demo", "get", "promotions", "--stage", "nosuch"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("no promotions found"));
    let out = server.convoy().args(["-p", "demo", "get", "promotion", &name, "-o", "yaml"]).output().unwrap();
    assert!(stdout(&out).contains("stepExecutionMetadata"), "the journal is part of the Promotion");
    // Freight answers to its alias wherever its name is taken.
    let out = server.convoy().args(["-p", "demo", "get", "freight", "first-light", "-o", "json"]).output().unwrap();
    let freight: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(freight["alias"], "first-light");
    assert_eq!(freight["metadata"]["name"].as_str().map(str::len), Some(40));
    let described =
        stdout(&server.convoy().args(["-p", "demo", "describe", "freight", "first-light"]).output().unwrap());
    assert!(
        described.contains("Alias:            first-light") && described.contains("In Stages:        dev"),
        "{described}"
    );
    let out = server.convoy().args(["-p", "demo", "get", "freight", "no-such-alias"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
}

/// The server dies while each step runs in turn; after a restart the promotion completes and
/// the branch has exactly one new commit.
#[test]
fn a_crash_at_any_step_resumes_without_pushing_twice() {
    for step in ["task-1::clone", "task-1::update-image", "task-1::commit", "task-1::push"] {
        let dir = tempfile::tempdir().unwrap();
        let (bare, manifests) = setup(dir.path());
        let mut server = Server::start(dir.path());
        server.login();
        assert!(server.convoy().args(["apply", "-f"]).arg(&manifests).output().unwrap().status.success());
        server.env = vec![("CONVOY_TEST_CRASH_AT_STEP".into(), step.into())];
        server.restart();
        let out = server
            .convoy()
            .args(["-p", "demo", "promote", "--freight-alias", "first-light", "--stage", "dev"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let name = stdout(&out).trim().trim_start_matches("Promotion/").trim_end_matches(" created").to_owned();
        server.wait_for_exit(Duration::from_secs(30));
        server.env.clear();
        server.start_again();
        let out = server.convoy().args(["-p", "demo", "logs", "promotion", &name]).output().unwrap();
        let _ = out;
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let out = server.convoy().args(["-p", "demo", "get", "promotion", &name, "-o", "json"]).output().unwrap();
            let promotion: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            let phase = promotion.pointer("/status/phase").and_then(|p| p.as_str()).unwrap_or("").to_owned();
            if phase == "Succeeded" {
                break;
            }
            assert!(!matches!(phase.as_str(), "Failed" | "Errored"), "crash at {step}: {promotion:#}");
            assert!(
                std::time::Instant::now() < deadline,
                "crash at {step}: not finished: {promotion:#}\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        assert_eq!(git(&bare, &["rev-list", "--count", "main"]), "2", "crash at {step}: exactly one new commit");
        assert!(git(&bare, &["show", "main:env/dev/kustomization.yaml"]).contains("newTag: 1.2.0"));
    }
}

/// `--dry-run` prints the diff the commit would make, pushes nothing and stores no Promotion.
#[test]
fn promote_dry_run_prints_the_diff_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (bare, manifests) = setup(dir.path());
    let server = Server::start(dir.path());
    server.login();
    assert!(server.convoy().args(["apply", "-f"]).arg(&manifests).output().unwrap().status.success());
    let before = git(&bare, &["rev-parse", "main"]);
    let out = server
        .convoy()
        .args(["-p", "demo", "promote", "--freight-alias", "first-light", "--stage", "dev", "--dry-run"])
        .output()
        .unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}\n{}", String::from_utf8_lossy(&out.stderr), server.log());
    // What `git diff` shows for the tag change (written by hand from the seed file).
    assert!(text.contains("-  newTag: 1.0.0\n+  newTag: 1.2.0\n"), "{text}");
    assert!(text.contains("env/dev/kustomization.yaml"), "{text}");
    assert!(text.contains("Succeeded task-1::push (git-push): skipped"), "{text}");
    assert_eq!(git(&bare, &["rev-parse", "main"]), before, "nothing pushed");
    let out = server.convoy().args(["-p", "demo", "get", "promotions", "-o", "json"]).output().unwrap();
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list["items"].as_array().map(Vec::len), Some(0), "no Promotion stored: {list:#}");
    let leftovers = std::fs::read_dir(server.data.join("work")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(leftovers, 0, "the throwaway work tree is removed");
}

/// `set-freight-alias` and `set-metadata` change the stored Freight and Stage, through admission:
/// a taken alias is refused with the webhook's message.
#[test]
fn steps_set_freight_alias_and_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("project.yaml");
    std::fs::write(
        &manifests,
        r#"apiVersion: kargo.akuity.io/v1alpha1
kind: Project
metadata: {name: demo}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {name: app, namespace: demo}
spec:
  subscriptions:
  - image: {repoURL: ghcr.io/example/app}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Freight
metadata: {namespace: demo}
alias: first-light
origin: {kind: Warehouse, name: app}
images:
- {repoURL: ghcr.io/example/app, tag: 1.2.0}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Freight
metadata: {namespace: demo}
alias: taken
origin: {kind: Warehouse, name: app}
images:
- {repoURL: ghcr.io/example/app, tag: 0.9.0}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata: {name: dev, namespace: demo}
spec:
  requestedFreight:
  - origin: {kind: Warehouse, name: app}
    sources: {direct: true}
  promotionTemplate:
    spec:
      steps:
      - uses: compose-output
        as: before
        config:
          seen: "${{ stageMetadata('dev') == nil ? 'nothing' : stageMetadata('dev').deployedTag }}"
      - uses: set-metadata
        config:
          updates:
          - kind: Stage
            name: dev
            values: {deployedTag: "${{ imageFrom('ghcr.io/example/app').Tag }}"}
          - kind: Freight
            name: ${{ ctx.targetFreight.name }}
            values: {checkedBy: convoy}
      - uses: set-freight-alias
        config:
          name: ${{ ctx.targetFreight.name }}
          alias: "${{ ctx.targetFreight.alias == 'first-light' ? 'in-dev' : 'taken' }}"
"#,
    )
    .unwrap();
    let server = Server::start(dir.path());
    server.login();
    let out = server.convoy().args(["apply", "-f"]).arg(&manifests).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let promote = |alias: &str| {
        server
            .convoy()
            .args(["-p", "demo", "promote", "--freight-alias", alias, "--stage", "dev", "--wait"])
            .output()
            .unwrap()
    };
    let out = promote("first-light");
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stdout(&out), server.log());
    let get = |kind: &str, name: &str| -> serde_json::Value {
        let out = server.convoy().args(["-p", "demo", "get", kind, name, "-o", "json"]).output().unwrap();
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)))
    };
    let stage = get("stage", "dev");
    assert_eq!(stage.pointer("/status/metadata/deployedTag"), Some(&serde_json::json!("1.2.0")), "{stage:#}");
    // The alias moved: the Freight is now found by its new alias, and the label follows it.
    let out = server
        .convoy()
        .args(["-p", "demo", "get", "freight", "-l", "kargo.akuity.io/alias=in-dev", "-o", "json"])
        .output()
        .unwrap();
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let freight = &list["items"][0];
    assert_eq!(freight["alias"], "in-dev", "{list:#}");
    assert_eq!(freight.pointer("/status/metadata/checkedBy"), Some(&serde_json::json!("convoy")), "{freight:#}");
    // Second promotion: it reads the metadata the first one wrote, then tries a taken alias.
    let out = promote("in-dev");
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let name =
        stdout(&out).lines().next().unwrap().trim_start_matches("Promotion/").trim_end_matches(" created").to_owned();
    let promotion = get("promotion", &name);
    assert_eq!(promotion.pointer("/status/state/before/seen"), Some(&serde_json::json!("1.2.0")), "{promotion:#}");
    let message = promotion.pointer("/status/message").and_then(|m| m.as_str()).unwrap_or_default();
    assert!(message.contains("alias already used by another piece of Freight"), "{message}");
}

/// ClusterConfig `spec.gitClient` names the author of promotion commits.
#[test]
fn cluster_config_sets_the_commit_author() {
    let dir = tempfile::tempdir().unwrap();
    let (bare, server) = serve_edited(dir.path(), |text| {
        text + "---\napiVersion: kargo.akuity.io/v1alpha1\nkind: ClusterConfig\nmetadata: {name: cluster}\nspec:\n  gitClient: {name: Release Bot, email: release-bot@example.com}\n"
    });
    let out = promote_first_light(&server);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(git(&bare, &["log", "-1", "--format=%an <%ae>", "main"]), "Release Bot <release-bot@example.com>");
}

/// The README's first command: the quickstart runs end to end with nothing but git, twice.
#[test]
fn quickstart_promotes_through_dev_and_staging() {
    let dir = tempfile::tempdir().unwrap();
    // As `convoy quickstart` makes its default data dir: private.
    std::fs::set_permissions(dir.path(), <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o700))
        .unwrap();
    for run in 0..2 {
        let out = super::convoy().args(["quickstart", "--data-dir"]).arg(dir.path()).output().unwrap();
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(0), "run {run}: {text}\n{}", String::from_utf8_lossy(&out.stderr));
        assert!(text.contains("promoted to staging") && text.contains("convoy -p quickstart get stages"), "{text}");
        // The "Next" commands run as printed: the binary is not on PATH here, so its path is given.
        let server_line = text.lines().find(|l| l.contains(" server --data-dir")).unwrap_or_default();
        let program = server_line.split_whitespace().next().unwrap_or_default();
        assert!(std::path::Path::new(program).is_file(), "{program:?} from {server_line:?}");
        assert!(text.contains("cargo install --path crates/convoy --locked"), "{text}");
    }
    // Both Stages record the app's newest commit in the config repository, comments kept.
    let app = git(&dir.path().join("quickstart/app"), &["rev-parse", "HEAD"]);
    let config = dir.path().join("quickstart/config.git");
    for env in ["dev", "staging"] {
        let file = git(&config, &["show", &format!("main:env/{env}/app.yaml")]);
        // Read as YAML: the emitter may quote a hash that starts like a number (`0b7e…`).
        let parsed: serde_json::Value = serde_yaml::from_str(&file).unwrap();
        assert_eq!(parsed["app"]["commit"].as_str(), Some(app.as_str()), "{env}: {file}");
        assert!(file.starts_with("# The app commit"), "{env}: {file}");
    }
}

/// A quickstart on a data dir a server holds stops before it changes anything.
#[test]
fn quickstart_beside_a_running_server_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let out = super::convoy().args(["quickstart", "--data-dir"]).arg(&server.data).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("another convoy server is using the data directory"), "{stderr}");
    assert!(!server.data.join("quickstart").exists(), "no repository was made or changed");
}

/// After a promotion that ends badly the Stage is not Ready, and says why in Kargo's words
/// (`LastPromotionErrored`), with the last promotion in the table.
#[test]
fn a_stage_after_an_errored_promotion_says_so() {
    let dir = tempfile::tempdir().unwrap();
    // The clone of a repository that does not exist errors.
    let (config, missing) =
        (format!("file://{}/config.git", dir.path().display()), format!("file://{}/missing.git", dir.path().display()));
    let (_, server) = serve_edited(dir.path(), |text| {
        text.replace(&format!("value: \"{config}\""), &format!("value: \"{missing}\""))
    });
    let out = promote_first_light(&server);
    assert_ne!(out.status.code(), Some(0), "{}", stdout(&out));
    let ready = || {
        let out = server.convoy().args(["-p", "demo", "get", "stage", "dev", "-o", "json"]).output().unwrap();
        let stage: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let conditions = stage["status"]["conditions"].as_array().cloned().unwrap_or_default();
        conditions.into_iter().find(|c| c["type"] == "Ready")
    };
    let mut condition = None;
    for _ in 0..100 {
        condition = ready().filter(|c| c["reason"] == "LastPromotionErrored");
        if condition.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let condition = condition.unwrap_or_else(|| panic!("Ready: {:?}", ready()));
    assert_eq!(condition["status"], "False");
    assert!(condition["message"].as_str().unwrap().contains("errored"), "{condition}");
    let table = stdout(&server.convoy().args(["-p", "demo", "get", "stages"]).output().unwrap());
    let row = table.lines().find(|l| l.starts_with("dev")).unwrap();
    assert!(row.contains("False") && row.contains("Errored") && row.contains("ago"), "{table}");
    assert!(!table.contains('\u{1b}'), "no colours when piped: {table:?}");
    // describe reads as sections, not a YAML dump.
    let described = stdout(&server.convoy().args(["-p", "demo", "describe", "stage", "dev"]).output().unwrap());
    for expected in [
        "Ready:            False (LastPromotionErrored): Promotion ",
        "Auto-promotion:   off",
        "Requested Freight:\n  Warehouse/app            directly",
        "Promotions (newest first):",
        "Events:",
    ] {
        assert!(described.contains(expected), "{expected:?} in\n{described}");
    }
    assert!(!described.contains("apiVersion"), "{described}");
    let name = described
        .lines()
        .skip_while(|l| !l.starts_with("Promotions"))
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let described = stdout(&server.convoy().args(["-p", "demo", "describe", "promotion", &name]).output().unwrap());
    assert!(described.contains("Phase:            Errored"), "{described}");
    assert!(described.contains("task-1::clone (git-clone)"), "{described}");
    assert!(described.contains("PromotionCreated") && described.contains("PromotionErrored"), "{described}");
}

/// `get promotions -w`: a header, aligned columns, and a line only when something shown changed.
#[test]
fn watching_promotions_prints_a_header_and_only_changes() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let (_, server) = serve_edited(dir.path(), |text| text);
    let mut watch = std::process::Command::new(assert_cmd::cargo::cargo_bin!("convoy"))
        .env("CONVOY_CONFIG", &server.config)
        .env_remove("CONVOY_PROJECT")
        .args(["-p", "demo", "get", "promotions", "-w"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(watch.stdout.take().unwrap()).lines();
    let header = lines.next().unwrap().unwrap();
    assert!(header.starts_with("EVENT") && header.contains("PHASE"), "{header}");
    let out = promote_first_light(&server);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = line.contains("Succeeded");
        seen.push(line);
        if done {
            break;
        }
    }
    watch.kill().unwrap();
    let _ = watch.wait();
    assert!(seen[0].starts_with("ADDED"), "{seen:#?}");
    assert!(seen.windows(2).all(|w| w[0] != w[1]), "no line twice in a row: {seen:#?}");
    // Columns line up under the header.
    let phase_at = header.find("PHASE").unwrap();
    let last = seen.last().unwrap();
    assert_eq!(last.get(phase_at..phase_at + 9), Some("Succeeded"), "{header}\n{last}");
}
