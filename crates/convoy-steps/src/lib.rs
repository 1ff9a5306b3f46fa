//! Convoy's built-in steps, with Kargo's config fields, defaults and outputs (reference §3.8).
//!
//! Every runner decodes its evaluated config into a typed struct that rejects unknown fields:
//! a bad config fails the step with `invalid <kind> config: <path>: <reason>`.

mod basic;
mod config;
pub mod dry_run;
mod files;
mod git;
mod github_push;
mod helm;
mod helm_template;
mod http;
pub mod jsonedit;
mod merge;
mod oci;
mod paths;
mod pr;
mod resources;
mod toml;
mod untar;
mod yaml;
pub mod yamledit;

use std::sync::Arc;

use convoy_discovery::registry::Registries;
use convoy_engine::{Registry, Resources};
use convoy_forge::ApiOverrides;
use convoy_git::Mirrors;

/// Every built-in step, sharing one set of git mirrors; `resources` is how steps find git
/// credentials and the commit author, and change stored Stages and Freight. Forge API roots
/// come from `CONVOY_FORGE_API_URLS` (an unreadable value is reported and ignored).
pub fn builtin(mirrors: Arc<Mirrors>, resources: Arc<dyn Resources>) -> Registry {
    let overrides = ApiOverrides::from_env().unwrap_or_else(|e| {
        tracing::error!("{e}; forge API URLs are not overridden");
        ApiOverrides::default()
    });
    builtin_with(mirrors, resources, overrides)
}

/// [`builtin`] with the forge API roots given.
pub fn builtin_with(mirrors: Arc<Mirrors>, resources: Arc<dyn Resources>, overrides: ApiOverrides) -> Registry {
    let overrides = Arc::new(overrides);
    let mut registry = Registry::default();
    registry.register(Arc::new(basic::Fail));
    registry.register(Arc::new(basic::ComposeOutput));
    registry.register(Arc::new(basic::FileWrite));
    registry.register(Arc::new(git::GitClone { mirrors: mirrors.clone(), resources: resources.clone() }));
    registry.register(Arc::new(git::GitClear));
    registry.register(Arc::new(git::GitCommit { resources: resources.clone() }));
    registry.register(Arc::new(git::GitPush { mirrors: mirrors.clone(), resources: resources.clone() }));
    registry.register(Arc::new(yaml::YamlUpdate));
    registry.register(Arc::new(yaml::KustomizeSetImage));
    registry.register(Arc::new(files::Copy));
    registry.register(Arc::new(files::Delete));
    registry.register(Arc::new(files::JsonUpdate));
    registry.register(Arc::new(files::Parse(files::Format::Yaml)));
    registry.register(Arc::new(files::Parse(files::Format::Json)));
    registry.register(Arc::new(files::Parse(files::Format::Toml)));
    registry.register(Arc::new(toml::TomlUpdate));
    registry.register(Arc::new(merge::YamlMerge));
    registry.register(Arc::new(files::KustomizeBuild { helm: None }));
    registry.register(Arc::new(git::GitTag { resources: resources.clone() }));
    registry.register(Arc::new(helm::HelmUpdateChart { registries: Registries::new(), resources: resources.clone() }));
    registry.register(Arc::new(oci::OciDownload { registries: Registries::new(), resources: resources.clone() }));
    registry.register(Arc::new(oci::OciPush { registries: Registries::new(), resources: resources.clone() }));
    registry.register(Arc::new(helm_template::HelmTemplate {
        registries: Registries::new(),
        resources: resources.clone(),
    }));
    registry.register(Arc::new(http::Http));
    registry.register(Arc::new(http::HttpDownload));
    registry.register(Arc::new(untar::Untar));
    registry.register(Arc::new(github_push::GitHubPush { resources: resources.clone(), overrides: overrides.clone() }));
    registry.register(Arc::new(pr::GitOpenPr { mirrors, resources: resources.clone(), overrides: overrides.clone() }));
    registry.register(Arc::new(pr::GitWaitForPr { resources: resources.clone(), overrides: overrides.clone() }));
    registry.register(Arc::new(pr::GitMergePr { resources: resources.clone(), overrides }));
    registry.register(Arc::new(resources::SetMetadata(resources.clone())));
    registry.register(Arc::new(resources::SetFreightAlias(resources)));
    registry
}

/// Lets `kustomize-build` inflate a kustomization's `helmCharts` with `helm`, an executable
/// that answers as Helm does (the server's own binary, linked as `helm`).
pub fn render_helm_charts_with(registry: &mut Registry, helm: std::path::PathBuf) {
    registry.register(Arc::new(files::KustomizeBuild { helm: Some(helm) }));
}

/// The kinds [`builtin`] registers: the list lint knows as running.
pub const KINDS: &[&str] = convoy_core::steps::CONVOY_RUNS;

#[cfg(test)]
mod tests {
    #[test]
    fn lint_knows_what_runs() {
        let registry = super::builtin(
            std::sync::Arc::new(convoy_git::Mirrors::new("/nonexistent")),
            std::sync::Arc::new(convoy_engine::NoResources),
        );
        // The Argo CD steps are registered next to these by `convoy_argocd::register`.
        let listed: Vec<&str> = super::KINDS.iter().copied().filter(|k| !k.starts_with("argocd-")).collect();
        assert_eq!(registry.kinds(), listed, "lint's list of running kinds is the registry");
    }
}
