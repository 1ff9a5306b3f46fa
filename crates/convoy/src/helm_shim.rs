//! `helm`, as kustomize's Helm chart inflation generator calls it (`helmCharts` in a
//! kustomization, built by the `kustomize-build` step): the server links its own binary as
//! `DATA_DIR/bin/helm`, and run under that name it answers `helm version` and
//! `helm template` with Convoy's renderer. It does not download charts (`helm pull`): the
//! chart must be in the repository, under the kustomization's `chartHome` (`charts/`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use convoy_helm::chart::Chart;
use convoy_helm::render::{Options, render};
use convoy_helm::{Map, Value};

/// The Helm version whose rendering Convoy reproduces (kustomize asks for a v3).
const HELM_VERSION: &str = "v3.19.5";

/// Whether this process was started under the name `helm`.
pub fn called_as_helm(argv0: Option<&OsString>) -> bool {
    argv0.and_then(|a| Path::new(a).file_name()).is_some_and(|name| name == "helm")
}

pub fn run(args: Vec<String>) -> ExitCode {
    match answer(&args) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("Error: {message}");
            ExitCode::from(1)
        }
    }
}

fn answer(args: &[String]) -> Result<String, String> {
    match args.first().map(String::as_str) {
        Some("version") => Ok(format!("{HELM_VERSION}+convoy\n")),
        Some("template") => template(&args[1..]),
        Some("pull") => Err("Convoy does not download charts: put the chart in the repository under the \
             kustomization's chartHome (charts/NAME), where kustomize finds it without pulling"
            .into()),
        other => Err(format!(
            "{}: Convoy's helm answers only `version` and `template` (for kustomize's helmCharts)",
            other.unwrap_or("no command")
        )),
    }
}

#[derive(Debug, Default)]
struct TemplateArgs {
    release: Option<String>,
    chart: Option<PathBuf>,
    values: Vec<PathBuf>,
    options: Options,
}

/// `helm template [NAME] CHART` with the flags kustomize passes.
fn parse(args: &[String]) -> Result<TemplateArgs, String> {
    let mut parsed = TemplateArgs {
        options: Options { namespace: "default".into(), ..Options::default() },
        ..TemplateArgs::default()
    };
    let mut positional = Vec::new();
    let mut generate_name = false;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_owned())),
            _ => (arg.as_str(), None),
        };
        let mut value =
            || inline.clone().or_else(|| args.next().cloned()).ok_or(format!("flag needs an argument: {flag}"));
        match flag {
            "--namespace" | "-n" => parsed.options.namespace = value()?,
            "--values" | "-f" => parsed.values.push(PathBuf::from(value()?)),
            "--api-versions" | "-a" => parsed.options.api_versions.push(value()?),
            "--kube-version" => parsed.options.kube_version = Some(value()?),
            "--name-template" => parsed.release = Some(value()?),
            "--include-crds" => parsed.options.include_crds = true,
            "--skip-tests" => parsed.options.skip_tests = true,
            "--no-hooks" => parsed.options.disable_hooks = true,
            "--generate-name" | "-g" => generate_name = true,
            "--devel" | "--debug" => {}
            other if other.starts_with('-') => return Err(format!("unknown flag: {other}")),
            _ => positional.push(arg.clone()),
        }
    }
    match positional.as_slice() {
        [chart] => parsed.chart = Some(chart.into()),
        [name, chart] if !generate_name => {
            parsed.release = parsed.release.or(Some(name.clone()));
            parsed.chart = Some(chart.into());
        }
        _ => return Err("expected `helm template [NAME] CHART`".into()),
    }
    Ok(parsed)
}

fn template(args: &[String]) -> Result<String, String> {
    let parsed = parse(args)?;
    let chart_path = parsed.chart.as_deref().unwrap_or(Path::new("."));
    if let Some(root) = std::env::var_os(convoy_helm::CHART_ROOT_VARIABLE) {
        let inside = |path: &Path| {
            let (path, root) = (path.canonicalize().ok()?, Path::new(&root).canonicalize().ok()?);
            path.starts_with(root).then_some(())
        };
        inside(chart_path)
            .ok_or_else(|| format!("{}: the chart is outside the promotion's work directory", chart_path.display()))?;
    }
    let chart = if chart_path.is_dir() {
        Chart::load_dir(chart_path)?
    } else {
        let bytes = std::fs::read(chart_path).map_err(|e| format!("{}: {e}", chart_path.display()))?;
        Chart::load_archive(&bytes, chart_path)?
    };
    let values = Map::default();
    for file in &parsed.values {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        match convoy_helm::yaml_in::from_yaml(&text).map_err(|e| format!("{}: {e}", file.display()))? {
            Value::Map(map) => values.merge(&map),
            Value::Nil => {}
            _ => return Err(format!("{}: values must be a map", file.display())),
        }
    }
    let mut options = parsed.options;
    options.release_name = match parsed.release {
        // `--name-template` is a template (`foobar-{{ b64enc "abc" | lower }}-baz`).
        Some(name) if name.contains("{{") => {
            let mut set = convoy_helm::engine::new_set();
            set.add("name-template", &name).map_err(|e| e.to_string())?;
            set.execute("name-template", &Value::Nil).map_err(|e| e.to_string())?
        }
        Some(name) => name,
        // Helm's generated name: the chart's name and the time.
        None => format!(
            "{}-{}",
            chart.name(),
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
        ),
    };
    render(&chart, &values, &options)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| (*s).to_owned()).collect()
    }

    /// The arguments kustomize v5's HelmChartInflationGenerator builds.
    #[test]
    fn kustomize_s_template_command_is_understood() {
        let parsed = parse(&strings(&[
            "minecraft",
            "/repo/charts/minecraft",
            "--namespace",
            "games",
            "--values",
            "/tmp/v.yaml",
            "-f",
            "extra.yaml",
            "--api-versions",
            "monitoring.coreos.com/v1",
            "--kube-version",
            "1.29.0",
            "--include-crds",
            "--skip-tests",
            "--no-hooks",
        ]))
        .unwrap();
        assert_eq!(parsed.release.as_deref(), Some("minecraft"));
        assert_eq!(parsed.chart.as_deref(), Some(Path::new("/repo/charts/minecraft")));
        assert_eq!(parsed.values, [PathBuf::from("/tmp/v.yaml"), PathBuf::from("extra.yaml")]);
        assert_eq!(parsed.options.namespace, "games");
        assert_eq!(parsed.options.api_versions, ["monitoring.coreos.com/v1"]);
        assert_eq!(parsed.options.kube_version.as_deref(), Some("1.29.0"));
        assert!(parsed.options.include_crds && parsed.options.skip_tests && parsed.options.disable_hooks);

        let generated = parse(&strings(&["--generate-name", "/repo/charts/x"])).unwrap();
        assert_eq!((generated.release, generated.options.namespace.as_str()), (None, "default"));
        assert!(parse(&strings(&["a", "--post-renderer", "x"])).unwrap_err().contains("unknown flag: --post-renderer"));
        assert!(parse(&strings(&["a", "b", "c"])).unwrap_err().contains("expected `helm template [NAME] CHART`"));
    }

    #[test]
    fn version_is_helm_3_and_pull_is_refused_saying_where_charts_go() {
        assert!(answer(&strings(&["version", "-c", "--short"])).unwrap().starts_with("v3."));
        assert!(
            answer(&strings(&["pull", "--untar", "x"])).unwrap_err().contains("under the kustomization's chartHome")
        );
        assert!(called_as_helm(Some(&OsString::from("/data/bin/helm"))));
        assert!(!called_as_helm(Some(&OsString::from("/usr/bin/convoy"))));
    }
}
