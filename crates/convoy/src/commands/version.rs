//! `convoy version`.

use std::process::ExitCode;

use crate::cli::VersionArgs;

pub fn run(args: &VersionArgs) -> anyhow::Result<ExitCode> {
    println!("Client Version: v{}", env!("CARGO_PKG_VERSION"));
    if !args.client {
        // The API server is not part of this build yet; say so rather than guess.
        eprintln!("Server Version: unknown (no server to ask in this build)");
    }
    Ok(ExitCode::SUCCESS)
}
