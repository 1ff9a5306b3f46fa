//! `convoy login`: checks the token against the server, then saves it.

use std::process::ExitCode;

use crate::cli::{GlobalArgs, LoginArgs};
use crate::client::config;
use crate::client::{Client, Settings};

pub fn run(global: &GlobalArgs, args: &LoginArgs) -> anyhow::Result<ExitCode> {
    let token = match (&global.token, &args.token_file) {
        _ if args.sso => match sso(global, args.device_code) {
            Ok(token) => token,
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(ExitCode::from(3));
            }
        },
        (Some(token), _) => token.clone(),
        (None, Some(file)) => std::fs::read_to_string(file)
            .map_err(|e| anyhow::anyhow!("cannot read token file {}: {}", file.display(), crate::output::plain_io(&e)))?
            .trim()
            .to_owned(),
        (None, None) => {
            eprintln!("error: give the token with --token-file FILE or --token TOKEN");
            return Ok(ExitCode::from(2));
        }
    };
    let Some(server) = global.server.clone() else {
        eprintln!("error: give the server address with --server URL");
        return Ok(ExitCode::from(2));
    };
    let mut settings = Settings::resolve(global)?;
    settings.server = server.trim_end_matches('/').to_owned();
    settings.token = Some(token.clone());
    settings.tls = config::tls_for(global, &config::read(&settings.config_path)?, &settings.server);
    let client = Client::new(settings.clone())?;
    let runtime = tokio::runtime::Runtime::new()?;
    if let Err(e) = runtime.block_on(client.get("/v1/projects")) {
        eprintln!("error: {e}");
        return Ok(ExitCode::from(e.exit_code()));
    }
    let mut file = config::read(&settings.config_path)?;
    // A relative CA path is saved as absolute: later commands run from anywhere.
    let mut tls = settings.tls.clone();
    if let Some(ca) = tls.certificate_authority.as_mut() {
        *ca = std::path::absolute(&*ca).unwrap_or_else(|_| ca.clone());
    }
    file.save_login(&settings.server, token, tls);
    config::write(&settings.config_path, &file)?;
    eprintln!("logged in to {}; settings saved in {}", settings.server, settings.config_path.display());
    Ok(ExitCode::SUCCESS)
}

/// The ID token from the issuer the server names (`GET /v1/auth/config`).
fn sso(global: &GlobalArgs, device: bool) -> anyhow::Result<String> {
    use convoy_server::oidc::PublicConfig;
    let Some(server) = global.server.clone() else { anyhow::bail!("give the server address with --server URL") };
    let mut settings = Settings::resolve(global)?;
    settings.server = server.trim_end_matches('/').to_owned();
    settings.token = None;
    settings.tls = config::tls_for(global, &config::read(&settings.config_path)?, &settings.server);
    let client = Client::new(settings)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let answer = client.get("/v1/auth/config").await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let public: PublicConfig = serde_json::from_value(answer)?;
        super::sso::sign_in(&public, device).await
    })
}
