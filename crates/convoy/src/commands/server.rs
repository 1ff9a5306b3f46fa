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
