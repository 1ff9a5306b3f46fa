//! `docs/cli-reference.md` is generated from the clap definitions (each command's `--help`);
//! this test fails when the file is out of date. Regenerate with
//! `CONVOY_UPDATE_DOCS=1 cargo nextest run -p convoy reference`.

use super::{convoy, repo_root};

const COMMANDS: &[&str] = &[
    "server",
    "quickstart",
    "login",
    "apply",
    "create",
    "delete",
    "get",
    "describe",
    "promote",
    "approve",
    "verify",
    "refresh",
    "update",
    "events",
    "logs",
    "abort",
    "lint",
    "migrate",
    "render",
    "eval",
    "doctor",
    "grant",
    "revoke",
    "audit",
    "version",
    "completion",
];

fn help(args: &[&str]) -> String {
    // A clean environment: clap shows environment variables' values in the help.
    let out = convoy()
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .args(args)
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim_end().to_owned()
}

#[test]
fn cli_reference_is_generated_from_the_clap_definitions() {
    let top = help(&[]);
    let listed: Vec<&str> = top
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert_eq!(listed, COMMANDS, "every command has its section");
    let mut text = String::from(
        "# CLI reference\n\nGenerated from the command definitions (`convoy COMMAND --help`); `docs/cli.md` explains\nbehaviour and exit codes. Regenerate with `CONVOY_UPDATE_DOCS=1 cargo nextest run -p convoy reference`.\n\n## convoy\n\n```text\n",
    );
    text.push_str(&help(&[]));
    text.push_str("\n```\n");
    for command in COMMANDS {
        text.push_str(&format!("\n## convoy {command}\n\n```text\n{}\n```\n", help(&[command])));
    }
    let path = repo_root().join("docs/cli-reference.md");
    if std::env::var("CONVOY_UPDATE_DOCS").as_deref() == Ok("1") {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == text,
        "docs/cli-reference.md is out of date: run CONVOY_UPDATE_DOCS=1 cargo nextest run -p convoy reference"
    );
}

/// `convoy completion SHELL`: a script the shell itself accepts, offering every command.
#[test]
fn completion_scripts_parse_and_offer_every_command() {
    let out = convoy().args(["completion", "bash"]).output().unwrap();
    assert!(out.status.success());
    let script = String::from_utf8_lossy(&out.stdout).into_owned();
    for command in COMMANDS {
        assert!(script.contains(command), "{command} missing from the bash completion");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("convoy.bash");
    std::fs::write(&file, &script).unwrap();
    let check = std::process::Command::new("bash").arg("-n").arg(&file).output().unwrap();
    assert!(check.status.success(), "bash -n: {}", String::from_utf8_lossy(&check.stderr));
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = convoy().args(["completion", shell]).output().unwrap();
        assert!(out.status.success() && out.stdout.len() > 1000, "{shell}");
    }
    let out = convoy().args(["completion", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "an unknown shell is a usage error");
}

/// Global flags are shown under their own heading; the commands that never talk to a server do
/// not list `--server` / `--token` (and still accept them, so scripts keep working).
#[test]
fn offline_commands_do_not_offer_the_servers_flags() {
    for offline in ["lint", "render", "eval", "migrate", "completion", "server", "quickstart"] {
        let text = help(&[offline]);
        assert!(text.contains("Global options:"), "{offline}: {text}");
        assert!(!text.contains("--server") && !text.contains("--token"), "{offline} lists the server's flags:\n{text}");
    }
    for online in ["get", "promote", "apply", "logs", "doctor"] {
        let text = help(&[online]);
        let global = text.split("Global options:").nth(1).unwrap_or_else(|| panic!("{online}: {text}"));
        assert!(global.contains("--server") && global.contains("--token"), "{online}: {text}");
    }
    let out =
        convoy().args(["eval", "--server", "http://127.0.0.1:9", "--token", "t", "${{ 1 + 1 }}"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "2");
}
