//! The web UI in a real browser (headless Chromium over WebDriver) against a real server with a
//! real git remote: sign in (a bad token first), the pipeline, the promote dialog with its
//! dry-run diff, a promotion followed live to green, and the CSRF rules. Screenshots go to
//! `docs/ui/` with `CONVOY_UPDATE_SCREENSHOTS=1`.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::browser::Browser;
use super::promote::setup;
use super::server::Server;

/// Signs in with the admin token from the sign-in page, to come back to `next`.
fn sign_in(browser: &Browser, server: &Server, next: &str) {
    let token = std::fs::read_to_string(server.data.join("admin-token")).unwrap();
    browser.goto(&format!("{}/login?next={next}", server.url()));
    browser.type_into("#token", token.trim());
    browser.click("form.login button[type=submit]");
}

/// No serious or critical accessibility violation on the page now.
fn accessible(browser: &Browser, page: &str) {
    if let Some(violations) = browser.accessibility_violations() {
        assert!(violations.is_empty(), "{page}: {violations:#?}");
    }
}

fn shots(dir: &std::path::Path) -> PathBuf {
    if std::env::var("CONVOY_UPDATE_SCREENSHOTS").as_deref() == Ok("1") {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/ui")
    } else {
        dir.to_owned()
    }
}

#[test]
fn sign_in_see_the_pipeline_promote_with_a_dry_run_and_watch_it_go_green() {
    let Some(browser) = Browser::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (bare, manifests) = setup(dir.path());
    let server = Server::start(dir.path());
    server.login();
    let out = server.convoy().args(["apply", "-f"]).arg(&manifests).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = std::fs::read_to_string(server.data.join("admin-token")).unwrap();
    let shots = shots(dir.path());

    // Not signed in: the pipeline sends to the sign-in page; a bad token is refused in words.
    browser.goto(&format!("{}/p/demo", server.url()));
    browser.find("form.login");
    accessible(&browser, "sign-in");
    browser.type_into("#token", "cvy_not-a-token");
    browser.click("form.login button[type=submit]");
    browser.wait_for("the refusal", "document.querySelector('.error[role=alert]')");
    assert!(browser.text(".error").contains("not valid"), "{}", browser.text("body"));
    browser.type_into("#token", token.trim());
    browser.click("form.login button[type=submit]");

    // The pipeline: the Warehouse and the Stage, the Freight to promote.
    browser.find(".node[data-stage=dev]");
    assert!(browser.url().ends_with("/p/demo"), "back where the sign-in started: {}", browser.url());
    assert!(browser.text(".strip").contains("first-light"), "{}", browser.text("body"));
    browser.screenshot(&shots.join("pipeline.png"));
    accessible(&browser, "pipeline");

    // A write without the CSRF token is refused, even from the signed-in page.
    let refused = browser.run(
        "const r = await fetch('/v1/projects/demo/stages/dev/refresh', {method: 'POST', credentials: 'same-origin'}); return r.status;",
        json!([]),
    );
    assert_eq!(refused, json!(403));

    // The promote dialog: the Freight is available; its dry run shows the diff it would push.
    browser.click(".node[data-stage=dev] button[data-promote]");
    browser.find("dialog[open] table");
    assert!(browser.text("dialog").contains("available"), "{}", browser.text("dialog"));
    browser.click("dialog button[data-show]");
    browser.wait_for("the dry-run diff", "document.querySelector('dialog pre.diff')");
    let diff = browser.text("dialog pre.diff");
    assert!(diff.contains("+  newTag: 1.2.0") && diff.contains("-  newTag: 1.0.0"), "{diff}");
    browser.screenshot(&shots.join("promote-dialog.png"));
    accessible(&browser, "promote dialog");
    let before = git_log(&bare);
    assert_eq!(before, git_log(&bare), "the dry run pushed nothing");

    // Promote: the promotion page follows the steps to green without a reload.
    browser.click("dialog button.primary[data-api]");
    browser.wait_for("the promotion page", "location.pathname.includes('/promotions/')");
    browser.run("window.convoyMarker = 'same page'; return true;", json!([]));
    browser.wait_for("every step green", "document.querySelectorAll('ol.steps li .badge.ok').length === 4");
    assert_eq!(browser.run("return window.convoyMarker;", json!([])), Value::String("same page".into()), "no reload");
    browser.screenshot(&shots.join("promotion.png"));
    assert!(browser.text("ol.steps").contains("task task-1"), "steps grouped by task: {}", browser.text("ol.steps"));
    let configs = browser.run(
        "return [...document.querySelectorAll('ol.steps details.config summary')].map(s => s.textContent).join('|');",
        json!([]),
    );
    assert!(
        configs.as_str().is_some_and(|c| c.split('|').all(|s| s == "Config, as evaluated")),
        "every finished step shows what it was given: {configs}"
    );
    accessible(&browser, "promotion");
    assert_ne!(git_log(&bare), before, "the promotion pushed");

    // The Freight moved: the pipeline card shows it in dev.
    browser.goto(&format!("{}/p/demo", server.url()));
    browser.wait_for(
        "dev holding first-light",
        "document.querySelector('.node[data-stage=dev]').textContent.includes('first-light')",
    );
    let pages = [
        "/",
        "/p/demo?view=list",
        "/p/demo/stages/dev",
        "/p/demo/freight",
        "/p/demo/freight/first-light",
        "/p/demo/events",
        "/p/demo/warehouses/app",
    ];
    for page in pages {
        browser.goto(&format!("{}{page}", server.url()));
        browser.find("main h1");
        accessible(&browser, page);
    }
    // dev's card shows its verification; its page, its events.
    browser.goto(&format!("{}/p/demo", server.url()));
    assert!(browser.text(".node[data-stage=dev]").contains("Successful"), "{}", browser.text(".node[data-stage=dev]"));
    browser.goto(&format!("{}/p/demo/stages/dev", server.url()));
    assert!(browser.text("#live").contains("PromotionSucceeded"), "{}", browser.text("#live"));
    // The projects page's search narrows the list.
    browser.goto(&format!("{}/", server.url()));
    browser.type_into("#filter", "nomatch");
    browser.wait_for("demo filtered out", "document.querySelector('tr[data-search=demo]').classList.contains('dim')");
    // Rename the Freight from its page; the API holds the new alias.
    browser.goto(&format!("{}/p/demo/freight/first-light", server.url()));
    browser.replace_text("#alias", "renamed-light");
    browser.click("form[data-alias] button[type=submit]");
    browser.wait_for("the rename", "document.getElementById('status').textContent.includes('Renamed')");
    let out = server.convoy().args(["-p", "demo", "get", "freight", "renamed-light"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // The event log names the promotion.
    browser.goto(&format!("{}/p/demo/events", server.url()));
    assert!(browser.text("#live").contains("PromotionSucceeded"), "{}", browser.text("#live"));
}

/// The doctor page shows the server's checks, read from /v1/diagnostics by the page with the
/// session's CSRF token. (A server of its own: diagnostics try every source, and the other
/// tests' image registry is not reachable from here.)
#[test]
fn the_doctor_page_shows_the_servers_checks() {
    let Some(browser) = Browser::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    sign_in(&browser, &server, "/doctor");
    browser.wait_for("the checks", "document.querySelector('#doctor tbody .badge')");
    assert!(browser.text("#doctor").contains("store"), "{}", browser.text("#doctor"));
    accessible(&browser, "/doctor");
}

#[test]
fn a_cross_site_write_with_the_session_cookie_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server.login();
    let token = std::fs::read_to_string(server.data.join("admin-token")).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let url = server.url();
    runtime.block_on(async {
        let signed_in = client
            .post(format!("{url}/login"))
            .header("content-type", FORM)
            .body(format!("token={}&next=/", token.trim()))
            .send()
            .await
            .unwrap();
        assert_eq!(signed_in.status(), 303);
        let cookie = signed_in.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
        let session = cookie.split(';').next().unwrap().to_owned();
        // The API takes the cookie only with the session's CSRF token, reads included.
        let read = client.get(format!("{url}/v1/projects")).header("cookie", &session).send().await.unwrap();
        assert_eq!(read.status(), 403);
        let page = client.get(format!("{url}/")).header("cookie", &session).send().await.unwrap().text().await.unwrap();
        let csrf =
            page.split("name=\"csrf-token\" content=\"").nth(1).and_then(|s| s.split('"').next()).unwrap().to_owned();
        let read = client
            .get(format!("{url}/v1/projects"))
            .header("cookie", &session)
            .header("x-csrf-token", &csrf)
            .send()
            .await
            .unwrap();
        assert_eq!(read.status(), 200);
        // A form posted from another site: no CSRF token, foreign Origin.
        let forged = client
            .post(format!("{url}/v1/apply"))
            .header("cookie", &session)
            .header("origin", "https://evil.example")
            .body("apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata: {name: pwned}\n")
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), 403);
        let body = forged.text().await.unwrap();
        assert!(body.contains("another site") || body.contains("CSRF"), "{body}");
        let projects = client
            .get(format!("{url}/v1/projects"))
            .header("cookie", &session)
            .header("x-csrf-token", &csrf)
            .send()
            .await
            .unwrap();
        assert!(!projects.text().await.unwrap().contains("pwned"), "nothing was written");
        // Signing in from another site is refused too.
        let login = client
            .post(format!("{url}/login"))
            .header("origin", "https://evil.example")
            .header("content-type", FORM)
            .body(format!("token={}", token.trim()))
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), 403);
        // And an open redirect after sign-in is not possible.
        let away = client
            .post(format!("{url}/login"))
            .header("content-type", FORM)
            .body(format!("token={}&next=%2F%2Fevil.example%2F", token.trim()))
            .send()
            .await
            .unwrap();
        assert_eq!(away.headers()["location"].to_str().unwrap(), "/");
    });
}

const FORM: &str = "application/x-www-form-urlencoded";

fn git_log(bare: &std::path::Path) -> String {
    let out = std::process::Command::new("git")
        .args(["--git-dir"])
        .arg(bare)
        .args(["log", "--oneline", "main"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `setup`'s project with three more Stages: `broken` (its overlay does not exist: the step
/// fails), `prod` (takes Freight verified in dev: first-light needs approval), `waiting` (an
/// http step that never succeeds: something to abort).
fn more_stages(manifests: &std::path::Path, bare: &std::path::Path, wait_port: u16) {
    let url = format!("file://{}", bare.display());
    let stage = |name: &str, sources: &str, steps: &str| {
        format!(
            "---\napiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\nmetadata: {{name: {name}, namespace: demo}}\nspec:\n  requestedFreight:\n  - origin: {{kind: Warehouse, name: app}}\n    sources: {sources}\n  promotionTemplate:\n    spec:\n      steps:\n{steps}"
        )
    };
    let task = format!(
        "      - task: {{name: promote}}\n        vars:\n        - name: repoURL\n          value: \"{url}\"\n"
    );
    let wait = format!(
        "      - uses: http\n        config: {{url: \"http://127.0.0.1:{wait_port}/wait\", pollInterval: 1s, successExpression: \"response.body.ok == 'never'\"}}\n"
    );
    let mut text = std::fs::read_to_string(manifests).unwrap();
    text.push_str(&stage("broken", "{direct: true}", &task));
    text.push_str(&stage("prod", "{stages: [dev]}", &task));
    text.push_str(&stage("waiting", "{direct: true}", &wait));
    std::fs::write(manifests, text).unwrap();
}

/// Opens the promote dialog of `stage` from its page and waits for its table.
fn open_dialog(browser: &Browser, server: &Server, stage: &str) {
    browser.goto(&format!("{}/p/demo/stages/{stage}", server.url()));
    browser.click("button[data-promote]");
    browser.find("dialog[open] table");
}

#[test]
fn drag_to_promote_see_a_failing_step_approve_and_abort() {
    let Some(browser) = Browser::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (bare, manifests) = setup(dir.path());
    let (mut endpoint, port) = super::pipeline::health_endpoint(dir.path());
    more_stages(&manifests, &bare, port);
    let server = Server::start(dir.path());
    server.login();
    let out = server.convoy().args(["apply", "-f"]).arg(&manifests).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    sign_in(&browser, &server, "/p/demo");
    browser.find(".node[data-stage=broken]");

    // Drag the Freight chip onto `broken`: its dialog opens with that Freight; promote it.
    browser.run(
        "const chip = document.querySelector('.chip[data-freight]');
         const node = document.querySelector('.node[data-stage=broken]');
         const transfer = new DataTransfer();
         chip.dispatchEvent(new DragEvent('dragstart', {bubbles: true, dataTransfer: transfer}));
         node.dispatchEvent(new DragEvent('dragover', {bubbles: true, cancelable: true, dataTransfer: transfer}));
         node.dispatchEvent(new DragEvent('drop', {bubbles: true, cancelable: true, dataTransfer: transfer}));
         return true;",
        json!([]),
    );
    browser.find("dialog[open] table");
    assert!(browser.text("dialog h2").contains("broken"), "{}", browser.text("dialog"));
    browser.click("dialog button.primary[data-api]");
    // The failing step says why, in the engine's words.
    browser.wait_for("the failed step", "document.querySelector('ol.steps .error')");
    let error = browser.text("ol.steps .error");
    assert!(error.contains("env/broken"), "{error}");
    browser.wait_for(
        "the promotion to end",
        "['Errored', 'Failed'].some(w => document.querySelector('#live p .badge').textContent.includes(w))",
    );

    // prod takes Freight verified in dev: not available, with the reason; approve it there.
    open_dialog(&browser, &server, "prod");
    let dialog = browser.text("dialog");
    assert!(dialog.contains("Approve") && !dialog.contains("✓ available"), "not available yet: {dialog}");
    let reason = browser.text("dialog .badge.warn");
    assert!(reason.contains("dev"), "the reason names the upstream Stage: {reason}");
    browser.click("dialog button[data-api*=approve]");
    browser.wait_for("the approval", "document.getElementById('status').textContent.includes('Approved')");
    // The Freight is available now (as soon as the server's view has the approval).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        open_dialog(&browser, &server, "prod");
        if !browser.text("dialog").contains("Approve") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still not available: {}", browser.text("dialog"));
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(browser.text("dialog").contains("available"), "{}", browser.text("dialog"));

    // A promotion waiting on its http step is aborted from its page.
    open_dialog(&browser, &server, "waiting");
    browser.click("dialog button.primary[data-api]");
    browser.wait_for("the promotion page", "location.pathname.includes('/promotions/')");
    browser.wait_for("the abort button", "document.querySelector('button[data-confirm]')");
    browser.run("window.confirm = () => true; return true;", json!([]));
    browser.click("button[data-confirm]");
    browser.wait_for("the abort request", "document.getElementById('status').textContent.includes('Abort requested')");
    browser.wait_for("the abort", "document.querySelector('#live').textContent.includes('Aborted')");

    // A change to one Stage redraws only its card on the pipeline: the others are the same nodes.
    browser.goto(&format!("{}/p/demo", server.url()));
    browser.find(".node[data-stage=dev]");
    browser.run(
        "document.querySelector('.node.warehouse').convoyMark = 1;
         document.querySelector('.node[data-stage=prod]').convoyMark = 1;
         document.querySelector('.node[data-stage=dev]').convoyMark = 1; return true;",
        json!([]),
    );
    let out = server
        .convoy()
        .args(["-p", "demo", "promote", "--freight-alias", "first-light", "--stage", "dev", "--wait"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    browser.wait_for(
        "dev's card to show the Freight",
        "document.querySelector('.node[data-stage=dev]').textContent.includes('first-light')",
    );
    let marks = browser.run(
        "return [document.querySelector('.node.warehouse').convoyMark === 1,
                 document.querySelector('.node[data-stage=prod]').convoyMark === 1,
                 document.querySelector('.node[data-stage=dev]').convoyMark === 1];",
        json!([]),
    );
    // (Stages still settling, like `waiting` after its abort, may be redrawn too: not checked.)
    assert_eq!(marks, json!([true, true, false]), "the Warehouse's and prod's nodes kept, dev's replaced");
    // dev's subtree (prod, fed by it) folds away and back.
    browser.click(".node[data-stage=dev] [data-collapse]");
    browser.wait_for("prod hidden", "document.querySelector('.node[data-stage=prod]').hidden");
    assert_eq!(
        browser.run("return getComputedStyle(document.querySelector('.node[data-stage=prod]')).display;", json!([])),
        json!("none")
    );
    browser.click(".node[data-stage=dev] [data-collapse]");
    browser.wait_for("prod shown", "!document.querySelector('.node[data-stage=prod]').hidden");
    accessible(&browser, "pipeline of four Stages");

    // Once dev holds the Freight, its page promotes it to the Stages downstream (prod).
    browser.goto(&format!("{}/p/demo/stages/dev", server.url()));
    browser.click("button[data-api$=promote-downstream]");
    browser
        .wait_for("the downstream promotion", "document.getElementById('status').textContent.includes('downstream')");
    let out = server.convoy().args(["-p", "demo", "get", "promotions", "-o", "json"]).output().unwrap();
    let promotions: Value = serde_json::from_slice(&out.stdout).unwrap();
    let stages: Vec<&str> =
        promotions["items"].as_array().unwrap().iter().filter_map(|p| p["spec"]["stage"].as_str()).collect();
    assert!(stages.contains(&"prod"), "{stages:?}");
    let _ = endpoint.kill();
    let _ = endpoint.wait();
}

/// Freight discovered in a real registry (Debian's docker-registry) shows on the open pipeline,
/// and the next image pushed appears there live after a refresh, without a reload.
#[test]
fn freight_discovered_in_a_real_registry_appears_on_the_open_pipeline() {
    let Some(browser) = Browser::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let registry_dir = dir.path().join("registry");
    std::fs::create_dir_all(&registry_dir).unwrap();
    let Some(registry) = convoy_discovery::testing::start_registry(&registry_dir, None) else { return };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let pusher = convoy_discovery::testing::Pusher {
        client: reqwest::Client::new(),
        base: format!("http://{}", registry.address),
        auth: None,
    };
    runtime.block_on(pusher.image("shop/app", "1.0.0", "amd64", "2024-01-01T00:00:00Z"));
    let image = format!("{}/shop/app", registry.address);
    let manifests = dir.path().join("pipeline.yaml");
    std::fs::write(
        &manifests,
        format!(
            "apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata: {{name: demo}}\n---\n\
             apiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\nmetadata: {{name: app, namespace: demo}}\n\
             spec:\n  subscriptions:\n  - image: {{repoURL: \"{image}\"}}\n---\n\
             apiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\nmetadata: {{name: dev, namespace: demo}}\n\
             spec:\n  requestedFreight:\n  - origin: {{kind: Warehouse, name: app}}\n    sources: {{direct: true}}\n\
             \x20 promotionTemplate:\n    spec:\n      steps:\n      - uses: compose-output\n        config: {{tag: x}}\n"
        ),
    )
    .unwrap();
    let server = Server::start(dir.path());
    server.login();
    let out = server.convoy().args(["apply", "-f"]).arg(&manifests).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    sign_in(&browser, &server, "/p/demo");
    // Waited for by hand: a failure says whether the Freight exists (then the page did not
    // follow the store) or not (then discovery did not find it).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let shown = "return !!document.querySelector('.chip[title*=\"1.0.0\"]');";
    while browser.run(shown, json!([])) != json!(true) {
        if std::time::Instant::now() > deadline {
            let freight = server.convoy().args(["-p", "demo", "get", "freight"]).output().unwrap();
            let warehouse = server.convoy().args(["-p", "demo", "describe", "warehouse", "app"]).output().unwrap();
            panic!(
                "the discovered Freight is not on the page:\n{}\nstored Freight:\n{}\nWarehouse:\n{}\nserver log:\n{}",
                browser.text("body"),
                String::from_utf8_lossy(&freight.stdout),
                String::from_utf8_lossy(&warehouse.stdout),
                server.log()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    browser.run("window.convoyMarker = 'same page'; return true;", json!([]));

    runtime.block_on(pusher.image("shop/app", "1.1.0", "amd64", "2024-02-01T00:00:00Z"));
    let out = server.convoy().args(["-p", "demo", "refresh", "warehouse", "app"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    browser.wait_for("the new Freight's chip", "document.querySelector('.chip[title*=\"1.1.0\"]')");
    assert_eq!(browser.run("return window.convoyMarker;", json!([])), json!("same page"), "no reload");
    drop(registry);
}
