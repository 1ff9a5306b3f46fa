//! Command-line definitions (clap). Flags and exit codes follow docs/cli.md.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "convoy", version, about = "Continuous promotion for GitOps, compatible with Kargo's resources")]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Project for documents and commands that do not name one.
    #[arg(short = 'p', long, global = true, env = "CONVOY_PROJECT")]
    pub project: Option<String>,
    /// Address of the Convoy server.
    #[arg(long, global = true, env = "CONVOY_SERVER")]
    pub server: Option<String>,
    /// Bearer token for the server.
    #[arg(long, global = true, env = "CONVOY_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Client configuration file [default: $XDG_CONFIG_HOME/convoy/config.yaml].
    #[arg(long, global = true, env = "CONVOY_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check manifests offline: defaulting, task expansion and validation over the whole set.
    Lint(LintArgs),
    /// Print the steps and vars a promotion of a Stage would run, after task expansion.
    Render(RenderArgs),
    /// Evaluate one template (`${{ }}` expressions) and print the result as JSON.
    Eval(EvalArgs),
    /// Print the client version.
    Version(VersionArgs),
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The template, e.g. 'v${{ vars.major + 1 }}'.
    pub template: String,
    /// JSON file with the variables and data in scope (`-` for standard input); see docs/eval.md.
    #[arg(long, value_name = "FILE")]
    pub context: Option<PathBuf>,
}

/// Which manifests to read.
#[derive(Debug, Args)]
pub struct FileArgs {
    /// File or directory of YAML/JSON manifests; `-` reads standard input. Repeatable.
    #[arg(short = 'f', long = "filename", value_name = "PATH", required = true)]
    pub files: Vec<PathBuf>,
    /// Descend into sub-directories of directories given with -f.
    #[arg(short = 'R', long)]
    pub recursive: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LintFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    #[command(flatten)]
    pub files: FileArgs,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value = "text")]
    pub format: LintFormat,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The Stage whose promotion steps to render.
    #[arg(long)]
    pub stage: String,
    #[command(flatten)]
    pub files: FileArgs,
}

#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Print only the client's version.
    #[arg(long)]
    pub client: bool,
}
