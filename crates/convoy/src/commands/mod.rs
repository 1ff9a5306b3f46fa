//! One module per command; each returns the process exit code.

mod eval;
mod lint;
mod render;
mod version;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Lint(args) => lint::run(&args, cli.global.project.as_deref()),
        Command::Render(args) => render::run(&args, cli.global.project.as_deref()),
        Command::Eval(args) => eval::run(&args),
        Command::Version(args) => version::run(&args),
    }
}
