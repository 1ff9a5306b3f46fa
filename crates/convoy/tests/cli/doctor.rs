//! `convoy doctor`: every check passes on a healthy install, and each fails (with its fix)
//! when its part is broken.

use super::promote::{setup, stdout};
use super::server::Server;

fn doctor(server: &Server) -> (Option<i32>, String) {
    let out = server.convoy().arg("doctor").output().unwrap();
    (out.status.code(), stdout(&out))
}

/// The line of check `name` and the fix below it.
fn line(report: &str, name: &str) -> String {
    let mut lines = report.lines().skip_while(|l| !l.contains(name));
    let first = lines.next().unwrap_or_else(|| panic!("no check {name:?} in\n{report}"));
    let fix = lines.next().filter(|l| l.trim_start().starts_with("fix:")).unwrap_or("");
    format!("{first}\n{fix}")
}

#[test]
fn doctor_checks_pass_then_fail_with_their_fix() {
    let dir = tempfile::tempdir().unwrap();
    let (bare, manifests) = setup(dir.path());
    let receiver = "---\napiVersion: v1\nkind: Secret\nmetadata: {name: hook, namespace: demo}\nstringData: {secret: s3cret}\n---\napiVersion: kargo.akuity.io/v1alpha1\nkind: ProjectConfig\nmetadata: {name: demo, namespace: demo}\nspec:\n  webhookReceivers:\n  - name: gh\n    github: {secretRef: {name: hook}}\n";
    let mut text = std::fs::read_to_string(&manifests).unwrap();
    text.push_str(receiver);
    std::fs::write(&manifests, text).unwrap();
    let server = Server::start(dir.path());
    server.login();
    let out = server.convoy().args(["apply", "-f"]).arg(&manifests).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let (code, report) = doctor(&server);
    assert_eq!(code, Some(0), "{report}");
    for name in [
        "git",
        "kustomize",
        "versions",
        "clock",
        "store",
        "disk",
        "warehouse demo/app source",
        "stage demo/dev task promote",
        "receiver demo/gh",
    ] {
        assert!(line(&report, name).starts_with("ok "), "{name}: {report}");
    }

    // Break the source (and so the Stage's remote), the task and the receiver's secret.
    std::fs::rename(&bare, dir.path().join("moved.git")).unwrap();
    let (code, report) = doctor(&server);
    assert_eq!(code, Some(1), "{report}");
    let push = line(&report, "stage demo/dev push file://");
    assert!(push.starts_with("fail") && push.contains("fix: give the credentials Secret"), "{push}");
    for (kind, name) in [("promotiontask", "promote"), ("secret", "hook")] {
        let out = server.convoy().args(["-p", "demo", "delete", kind, name]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let (code, report) = doctor(&server);
    assert_eq!(code, Some(1), "{report}");
    let source = line(&report, "warehouse demo/app source");
    assert!(source.starts_with("fail") && source.contains("fix: check the repoURL"), "{source}");
    let task = line(&report, "stage demo/dev task promote");
    assert!(task.contains("PromotionTask \"promote\" not found") && task.contains("fix: apply the task"), "{task}");
    let receiver = line(&report, "receiver demo/gh");
    assert!(receiver.starts_with("fail") && receiver.contains("fix: create the Secret"), "{receiver}");

    // Client side: no git on PATH; an unreachable server.
    let empty = dir.path().join("empty-path");
    std::fs::create_dir_all(&empty).unwrap();
    let out = server.convoy().arg("doctor").env("PATH", &empty).output().unwrap();
    let git_line = line(&stdout(&out), "git");
    assert!(git_line.starts_with("fail") && git_line.contains("fix: install git"), "{git_line}");
    let kustomize_line = line(&stdout(&out), "kustomize");
    assert!(kustomize_line.starts_with("warn") && kustomize_line.contains("fix: install kubectl"), "{kustomize_line}");
    let out = server.convoy().args(["doctor", "--server", "http://127.0.0.1:9"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(line(&stdout(&out), "server").contains("fix: start `convoy server`"), "{}", stdout(&out));
}
