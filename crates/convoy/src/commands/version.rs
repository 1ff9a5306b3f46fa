//! `convoy version`: the client's version and, when reachable, the server's.

use std::process::ExitCode;

use crate::cli::VersionArgs;
use crate::client::Client;

pub fn run(client: Client, args: &VersionArgs) -> anyhow::Result<ExitCode> {
    let ours = env!("CARGO_PKG_VERSION");
    println!("Client Version: v{ours}");
    if args.client {
        return Ok(ExitCode::SUCCESS);
    }
    let runtime = tokio::runtime::Runtime::new()?;
    match runtime.block_on(client.get("/version")) {
        Ok(info) => {
            let theirs = info["version"].as_str().unwrap_or("unknown");
            println!("Server Version: v{theirs}");
            if minor(theirs) != minor(ours) {
                eprintln!(
                    "warning: client v{ours} and server v{theirs} differ in minor version; install convoy v{theirs} to match the server"
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("Server Version: unknown ({e})");
            Ok(ExitCode::from(e.exit_code()))
        }
    }
}

fn minor(version: &str) -> Option<(String, String)> {
    let mut parts = version.trim_start_matches('v').split('.');
    Some((parts.next()?.to_owned(), parts.next()?.to_owned()))
}
