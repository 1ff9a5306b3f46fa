//! One module per command; each returns the process exit code.

mod apply;
mod describe;
mod doctor;
mod eval;
mod events;
mod get;
mod lint;
mod login;
mod migrate;
mod promote;
mod quickstart;
mod refresh;
mod render;
mod server;
mod sso;
mod team;
mod version;

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::client::{Client, Settings};

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let client = || -> anyhow::Result<Client> { Client::new(Settings::resolve(&cli.global)?) };
    match &cli.command {
        Command::Server(args) => server::run(args),
        Command::Quickstart(args) => quickstart::run(args),
        Command::Login(args) => login::run(&cli.global, args),
        Command::Apply(args) => apply::run(client()?, args, "apply"),
        Command::Create(args) => match &args.what {
            Some(crate::cli::CreateWhat::Credentials(credentials)) => apply::create_credentials(client()?, credentials),
            Some(crate::cli::CreateWhat::Role(role)) => team::create_role(client()?, role),
            Some(crate::cli::CreateWhat::Token(token)) => team::create_token(client()?, token),
            None => apply::run(client()?, &args.apply, "create"),
        },
        Command::Delete(args) if args.kind.as_deref().is_some_and(|k| matches!(k, "token" | "tokens")) => {
            team::delete_token(client()?, args.name.as_deref().unwrap_or_default(), args.system)
        }
        Command::Delete(args) => apply::delete(client()?, args),
        Command::Get(args) if matches!(args.kind.as_str(), "token" | "tokens") => {
            team::get_tokens(client()?, args.system, args.output)
        }
        Command::Get(args) if matches!(args.kind.as_str(), "role" | "roles") && args.name.is_none() => {
            team::get_roles(client()?, args.system, args.output)
        }
        Command::Get(args) => get::run(client()?, args),
        Command::Describe(args) => describe::run(client()?, args),
        Command::Promote(args) => promote::run(client()?, args),
        Command::Approve(args) => refresh::approve(client()?, args),
        Command::Refresh(args) => refresh::run(client()?, args),
        Command::Verify(args) => refresh::verify(client()?, args),
        Command::Update(args) => refresh::update_freight(client()?, args),
        Command::Events(args) => events::run(client()?, args),
        Command::Logs(args) => promote::logs(client()?, args),
        Command::Abort(args) => promote::abort(client()?, args),
        Command::Lint(args) => lint::run(args, cli.global.project.as_deref()),
        Command::Migrate(args) => migrate::run(args),
        Command::Render(args) => render::run(args, cli.global.project.as_deref()),
        Command::Eval(args) => eval::run(args),
        Command::Version(args) => version::run(client()?, args),
        Command::Completion(args) => {
            let mut command = Cli::command();
            clap_complete::generate(args.shell, &mut command, "convoy", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Doctor(args) => doctor::run(client()?, args.format),
        Command::Grant(args) => team::grant(client()?, args, true),
        Command::Revoke(args) => team::grant(client()?, args, false),
        Command::Audit(args) => team::audit(client()?, args),
    }
}
