//! The `convoy` binary, end to end: exit codes and output of lint, render and version.

mod argocd;
mod backup;
mod browser;
mod compat;
mod discovery;
mod doctor;
mod e2e;
mod eval;
mod helm_charts;
mod hostile;
mod lint;
mod manifests;
mod metrics;
mod pipeline;
mod private_git;
mod promote;
mod pull_requests;
mod reference;
mod render;
mod replicas;
mod server;
mod snapshots;
mod sso;
mod teams;
mod tls;
mod ui;
mod windows;

use std::path::{Path, PathBuf};

use assert_cmd::Command;

pub fn convoy() -> Command {
    let mut cmd = Command::cargo_bin("convoy").expect("binary is built");
    // Tests never read the developer's configuration.
    cmd.env("CONVOY_CONFIG", "/nonexistent/convoy-test-config.yaml").env_remove("CONVOY_PROJECT");
    cmd
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

pub fn fixture(name: &str) -> String {
    format!("tests/fixtures/broken/{name}")
}
