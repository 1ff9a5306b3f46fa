//! `convoy quickstart`: a pipeline end to end with nothing but git. Makes an "app" and a
//! "config" repository (file://), runs Convoy in this process on the embedded store, applies
//! `examples/quickstart/pipeline.yaml`, waits for the first Freight, promotes it to dev and then
//! staging, and says what happened and what to try next.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::QuickstartArgs;
use crate::client::config::default_data_dir;
use crate::client::{Client, Settings};

const PIPELINE: &str = include_str!("../../../../examples/quickstart/pipeline.yaml");
const PROJECT: &str = "quickstart";

pub fn run(args: &QuickstartArgs) -> anyhow::Result<ExitCode> {
    let data_dir = args.data_dir.clone().unwrap_or_else(default_data_dir);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(quickstart(&data_dir))
}

async fn quickstart(data_dir: &Path) -> anyhow::Result<ExitCode> {
    // The data dir holds the admin token: private from the start (the server refuses others).
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(data_dir)?;
    let repos = data_dir.join("quickstart");
    // The server first: it takes the data dir's lock, so a quickstart next to a running server
    // stops before it changes anything.
    let listen = "127.0.0.1:0".parse()?;
    // The quickstart's repositories are local (`file://`): allowed for this in-process server.
    let config_server = crate::serve::ServerConfig {
        allow_file_remotes: true,
        ..crate::serve::ServerConfig::new(listen, data_dir.to_owned())
    };
    let server = crate::serve::start(config_server).await.map_err(anyhow::Error::msg)?;
    let prepared = repositories(&repos)
        .and_then(|(app, config)| Ok((git(&repos.join("app"), &["rev-parse", "HEAD"])?, app, config)));
    let (app_commit, app, config) = match prepared {
        Ok(prepared) => prepared,
        Err(e) => {
            server.stop().await.map_err(anyhow::Error::msg)?;
            return Err(e);
        }
    };
    println!(
        "1. Repositories (file://) in {}: app at commit {}, config with env/dev and env/staging",
        repos.display(),
        &app_commit[..7]
    );
    let token = std::fs::read_to_string(data_dir.join("admin-token"))?.trim().to_owned();
    let client = Client::new(Settings {
        server: format!("http://{}", server.address),
        token: Some(token),
        project: Some(PROJECT.into()),
        config_path: PathBuf::from("/nonexistent"),
        tls: Default::default(),
    })?;
    println!(
        "2. Convoy runs in this process on the embedded store in {} (http://{})",
        data_dir.display(),
        server.address
    );

    let outcome = drive(&client, &app, &config, &app_commit).await;
    server.stop().await.map_err(anyhow::Error::msg)?;
    let freight = match outcome {
        Ok(freight) => freight,
        Err(e) => {
            eprintln!("quickstart failed: {e:#}");
            return Ok(ExitCode::from(1));
        }
    };
    let log = git(&repos.join("config.git"), &["log", "--oneline", "-3", "main"]).unwrap_or_default();
    println!("5. The config repository now records commit {} for both Stages:\n{}", &app_commit[..7], indent(&log));
    let convoy = invocation();
    let install = if convoy == "convoy" {
        ""
    } else {
        "  (or put convoy on your PATH: cargo install --path crates/convoy --locked)\n"
    };
    println!(
        "\nNext:\n{install}  {convoy} server --data-dir {dir} --allow-file-remotes   # the same data as a server (the quickstart's repositories are local)\n  {convoy} login --server http://127.0.0.1:7070 --token-file {dir}/admin-token\n  {convoy} -p {PROJECT} get stages\n  {convoy} -p {PROJECT} get freight\n  {convoy} -p {PROJECT} promote --freight {freight} --stage staging --wait\n  {convoy} -p {PROJECT} logs promotion NAME   # from {convoy} -p {PROJECT} get promotions",
        dir = data_dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// How to run this binary from here: `convoy` when that is what PATH finds, else its path
/// (relative to the current directory when under it, as `cargo run` leaves it).
fn invocation() -> String {
    let Ok(exe) = std::env::current_exe().and_then(std::fs::canonicalize) else { return "convoy".into() };
    let on_path = std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path)
            .any(|dir| std::fs::canonicalize(dir.join("convoy")).is_ok_and(|found| found == exe))
    });
    if on_path {
        return "convoy".into();
    }
    let relative = std::env::current_dir()
        .ok()
        .and_then(|cwd| std::fs::canonicalize(cwd).ok())
        .and_then(|cwd| exe.strip_prefix(cwd).ok().map(std::path::Path::to_path_buf));
    match relative {
        Some(path) => path.display().to_string(),
        None => exe.display().to_string(),
    }
}

/// Applies the pipeline, waits for the Freight of `commit`, promotes it to dev and staging.
async fn drive(client: &Client, app: &str, config: &str, commit: &str) -> anyhow::Result<String> {
    let manifests = PIPELINE
        .replace("https://example.invalid/quickstart/app.git", app)
        .replace("https://example.invalid/quickstart/config.git", config);
    client.send(Method::POST, "/v1/apply", Some(manifests)).await?;
    println!(
        "3. Applied examples/quickstart/pipeline.yaml: Warehouse app, PromotionTask record-commit, Stages dev -> staging"
    );
    client.send(Method::POST, &format!("/v1/projects/{PROJECT}/warehouses/app/refresh"), Some(String::new())).await?;
    let freight = wait_for(Duration::from_secs(60), || async {
        let list = client.get(&format!("/v1/projects/{PROJECT}/freight")).await.ok()?;
        list["items"]
            .as_array()?
            .iter()
            .find(|f| f.pointer("/commits/0/id").and_then(Value::as_str) == Some(commit))
            .map(|f| {
                (f["metadata"]["name"].as_str().unwrap_or("").to_owned(), f["alias"].as_str().unwrap_or("").to_owned())
            })
    })
    .await
    .ok_or_else(|| {
        anyhow::anyhow!(
            "no Freight for commit {commit} within 60 s; see `convoy -p {PROJECT} get warehouse app -o yaml`"
        )
    })?;
    println!("4. Discovered Freight {} ({}) for app commit {}", &freight.0[..7], freight.1, &commit[..7]);
    for stage in ["dev", "staging"] {
        let body = json!({"freight": freight.0}).to_string();
        let (created, _) =
            client.send(Method::POST, &format!("/v1/projects/{PROJECT}/stages/{stage}/promote"), Some(body)).await?;
        let name = created["metadata"]["name"].as_str().unwrap_or("").to_owned();
        let phase = wait_for(Duration::from_secs(120), || async {
            let promotion = client.get(&format!("/v1/projects/{PROJECT}/promotions/{name}")).await.ok()?;
            let phase = promotion.pointer("/status/phase").and_then(Value::as_str)?.to_owned();
            let done = matches!(phase.as_str(), "Succeeded" | "Failed" | "Errored" | "Aborted");
            done.then(|| (phase, promotion.pointer("/status/message").and_then(Value::as_str).unwrap_or("").to_owned()))
        })
        .await
        .ok_or_else(|| anyhow::anyhow!("Promotion {name} did not finish within 120 s"))?;
        if phase.0 != "Succeeded" {
            anyhow::bail!("Promotion {name} into {stage} ended {}: {}", phase.0, phase.1);
        }
        // staging takes Freight verified in dev: wait for the Stage controller to record it.
        if stage == "dev" {
            wait_for(Duration::from_secs(30), || async {
                let f = client.get(&format!("/v1/projects/{PROJECT}/freight/{}", freight.0)).await.ok()?;
                f.pointer("/status/verifiedIn/dev").map(|_| ())
            })
            .await
            .ok_or_else(|| anyhow::anyhow!("dev did not verify Freight {} within 30 s", freight.0))?;
        }
        println!("   promoted to {stage}: Promotion {name} Succeeded");
    }
    Ok(freight.0)
}

async fn wait_for<T, F, Fut>(limit: Duration, mut probe: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(found) = probe().await {
            return Some(found);
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The app and config repositories (bare, served as file://), made on first run; each run adds
/// a commit to the app so there is something new to promote. Returns their URLs.
fn repositories(root: &Path) -> anyhow::Result<(String, String)> {
    std::fs::create_dir_all(root)?;
    let app_bare = root.join("app.git");
    let config_bare = root.join("config.git");
    if !app_bare.exists() {
        git(root, &["init", "--quiet", "--bare", "-b", "main", path(&app_bare)?])?;
        git(root, &["clone", "--quiet", path(&app_bare)?, "app"])?;
    }
    if !config_bare.exists() {
        git(root, &["init", "--quiet", "--bare", "-b", "main", path(&config_bare)?])?;
        let seed = root.join("config-checkout");
        git(root, &["clone", "--quiet", path(&config_bare)?, "config-checkout"])?;
        for env in ["dev", "staging"] {
            std::fs::create_dir_all(seed.join("env").join(env))?;
            std::fs::write(
                seed.join("env").join(env).join("app.yaml"),
                format!("# The app commit deployed to {env}; Convoy's promotions update it.\napp:\n  commit: none\n"),
            )?;
        }
        git(&seed, &["add", "."])?;
        git(&seed, &["commit", "--quiet", "-m", "Stages dev and staging"])?;
        git(&seed, &["push", "--quiet", "origin", "main"])?;
    }
    let app = root.join("app");
    let runs = git(&app, &["rev-list", "--count", "HEAD"]).ok().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0) + 1;
    std::fs::write(app.join("release.txt"), format!("release {runs}\n"))?;
    git(&app, &["add", "."])?;
    git(&app, &["commit", "--quiet", "-m", &format!("release {runs}")])?;
    git(&app, &["push", "--quiet", "origin", "main"])?;
    Ok((format!("file://{}", app_bare.display()), format!("file://{}", config_bare.display())))
}

fn path(p: &Path) -> anyhow::Result<&str> {
    p.to_str().ok_or_else(|| anyhow::anyhow!("{} is not valid UTF-8", p.display()))
}

/// Runs git with a fixed identity (the quickstart's own commits).
fn git(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Convoy quickstart")
        .env("GIT_AUTHOR_EMAIL", "quickstart@convoy.invalid")
        .env("GIT_COMMITTER_NAME", "Convoy quickstart")
        .env("GIT_COMMITTER_EMAIL", "quickstart@convoy.invalid")
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run git ({e}); the quickstart needs git on PATH"))?;
    if !out.status.success() {
        anyhow::bail!("git {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("   {l}")).collect::<Vec<_>>().join("\n")
}
