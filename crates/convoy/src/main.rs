//! The `convoy` command: CLI and (later) `convoy server`.

mod cli;
mod client;
mod commands;
mod env;
mod files;
mod helm_shim;
mod manifests;
mod output;
mod serve;

use std::process::ExitCode;

/// mimalloc gives memory back to the system after a burst (a 10,000-object apply); glibc's
/// allocator kept the burst's peak as resident memory (measured in docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    quiet_expression_panics();
    let mut args = std::env::args_os();
    if helm_shim::called_as_helm(args.next().as_ref()) {
        return helm_shim::run(args.map(|a| a.to_string_lossy().into_owned()).collect());
    }
    let cli = cli::Cli::parse_args();
    match commands::run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(1)
        }
    }
}

/// The expression engine is guarded against panics (they become errors with a message); its
/// panic reports would only add noise to that message, so they are not printed.
fn quiet_expression_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let from_expr = info.location().is_some_and(|l| l.file().contains("expr-lang"));
        if !from_expr {
            default(info);
        }
    }));
}
