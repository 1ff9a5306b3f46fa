//! `convoy server`.

use std::process::ExitCode;

use crate::cli::{LogFormat, ServerArgs};
use crate::client::config::default_data_dir;

pub fn run(args: &ServerArgs) -> anyhow::Result<ExitCode> {
    init_logging(args.log_format);
    let config = crate::serve::ServerConfig {
        listen: args.listen,
        data_dir: args.data_dir.clone().unwrap_or_else(default_data_dir),
        database_url: args.database_url.clone(),
        shard: args.shard.clone(),
        allow_file_remotes: args.allow_file_remotes,
        require_data_dir_lock: !args.no_data_dir_lock,
        kubeconfig: args.kubeconfig.clone(),
        argocd_namespace: args.argocd_namespace.clone(),
        argocd_namespace_only: args.argocd_watch_namespace_only,
        metrics_listen: args.metrics_listen.0,
        tls: args.tls_cert.clone().zip(args.tls_key.clone()),
        audit_retention: args.audit_retention,
        oidc: oidc_config(args)?,
    };
    let runtime = tokio::runtime::Runtime::new()?;
    match runtime.block_on(crate::serve::serve(config)) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(message) => {
            tracing::error!("{message}");
            Ok(ExitCode::from(1))
        }
    }
}

/// `--oidc-*` as the server takes them; a mapping that is not CLAIM=VALUE is an error.
fn oidc_config(args: &ServerArgs) -> anyhow::Result<Option<convoy_server::oidc::OidcConfig>> {
    let (Some(issuer), Some(client_id)) = (&args.oidc_issuer, &args.oidc_client_id) else { return Ok(None) };
    let mut system_roles = Vec::new();
    for (role, flag, mappings) in [
        ("kargo-admin", "--oidc-admins", &args.oidc_admins),
        ("kargo-viewer", "--oidc-viewers", &args.oidc_viewers),
        ("kargo-user", "--oidc-users", &args.oidc_users),
        ("kargo-project-creator", "--oidc-project-creators", &args.oidc_project_creators),
    ] {
        for mapping in mappings {
            let Some((claim, value)) = mapping.split_once('=').filter(|(c, v)| !c.is_empty() && !v.is_empty()) else {
                anyhow::bail!("{flag} {mapping:?}: expected CLAIM=VALUE, e.g. groups=ops");
            };
            system_roles.push((role.to_owned(), claim.to_owned(), value.to_owned()));
        }
    }
    Ok(Some(convoy_server::oidc::OidcConfig {
        issuer: issuer.clone(),
        client_id: client_id.clone(),
        cli_client_id: args.oidc_cli_client_id.clone().unwrap_or_else(|| client_id.clone()),
        scopes: args.oidc_scopes.clone(),
        system_roles,
    }))
}

/// Logs go to stderr; `CONVOY_LOG` filters them (default `info`).
fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CONVOY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}
