//! Chart subscriptions: versions from a Helm HTTP repository's `index.yaml` or an OCI
//! repository's tags, filtered by `semverConstraint`, greatest first.

use convoy_api::ChartSubscription;
use convoy_git::Credentials;
use serde_json::{Value, json};

use crate::DiscoveryError;
use crate::registry::{ImageName, Registries};
use crate::select::by_semver;

/// The largest `index.yaml` read (big public repositories publish tens of MB).
const MAX_INDEX: usize = 64 << 20;

pub async fn discover(
    registries: &Registries,
    sub: &ChartSubscription,
    credentials: Option<&Credentials>,
) -> Result<Value, DiscoveryError> {
    let limit = sub.discovery_limit.unwrap_or(20).clamp(1, 100) as usize;
    let name = sub.name.clone().unwrap_or_default();
    let versions = match sub.repo_url.strip_prefix("oci://") {
        Some(reference) => {
            let image = ImageName::parse(reference).map_err(DiscoveryError::config)?;
            // OCI tags cannot hold `+`; Helm writes it as `_`.
            registries.tags(&image, credentials).await?.into_iter().map(|t| t.replace('_', "+")).collect()
        }
        None => index_versions(&sub.repo_url, &name, credentials).await?,
    };
    let constraint = match sub.semver_constraint.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(
            convoy_core::constraint::parse(c).map_err(|e| DiscoveryError::config(format!("semverConstraint: {e}")))?,
        ),
        None => None,
    };
    let selected: Vec<&str> =
        by_semver(versions.iter().map(String::as_str), false, constraint.as_ref()).into_iter().take(limit).collect();
    if selected.is_empty() {
        return Err(DiscoveryError::nothing(
            &sub.repo_url,
            format!(
                "no version of {} satisfies semverConstraint {:?}; loosen it or publish a matching version",
                if name.is_empty() { "the chart" } else { &name },
                sub.semver_constraint.as_deref().unwrap_or("")
            ),
        ));
    }
    let mut result = json!({"repoURL": sub.repo_url, "versions": selected});
    if !name.is_empty() {
        result["name"] = json!(name);
    }
    if let Some(c) = &sub.semver_constraint {
        result["semverConstraint"] = json!(c);
    }
    Ok(result)
}

/// Versions of `name` in `<repo>/index.yaml`.
async fn index_versions(
    repo: &str,
    name: &str,
    credentials: Option<&Credentials>,
) -> Result<Vec<String>, DiscoveryError> {
    Ok(index_entries(repo, name, credentials)
        .await?
        .iter()
        .filter_map(|e| e["version"].as_str().map(str::to_owned))
        .collect())
}

/// Whether a subscription's repository answers and, over HTTP, lists the chart.
pub async fn probe(
    registries: &Registries,
    sub: &ChartSubscription,
    credentials: Option<&Credentials>,
) -> Result<(), DiscoveryError> {
    match sub.repo_url.strip_prefix("oci://") {
        Some(reference) => {
            let image = ImageName::parse(reference).map_err(DiscoveryError::config)?;
            registries.probe(&image, credentials).await
        }
        None => index_entries(&sub.repo_url, sub.name.as_deref().unwrap_or_default(), credentials).await.map(|_| ()),
    }
}

/// Every version of a chart a repository (`oci://` or HTTP) offers.
pub async fn versions(
    registries: &Registries,
    repository: &str,
    name: &str,
    credentials: Option<&Credentials>,
) -> Result<Vec<String>, DiscoveryError> {
    match repository.strip_prefix("oci://") {
        Some(reference) => {
            let image = ImageName::parse(&format!("{}/{name}", reference.trim_end_matches('/')))
                .map_err(DiscoveryError::config)?;
            Ok(registries.tags(&image, credentials).await?.into_iter().map(|t| t.replace('_', "+")).collect())
        }
        None => index_versions(repository, name, credentials).await,
    }
}

/// The `.tgz` of one chart version: the chart layer of an OCI artifact, or the file an
/// `index.yaml` entry points at.
pub async fn archive(
    registries: &Registries,
    repository: &str,
    name: &str,
    version: &str,
    credentials: Option<&Credentials>,
) -> Result<Vec<u8>, DiscoveryError> {
    if let Some(reference) = repository.strip_prefix("oci://") {
        let image =
            ImageName::parse(&format!("{}/{name}", reference.trim_end_matches('/'))).map_err(DiscoveryError::config)?;
        let path = format!("/v2/{}/manifests/{}", image.repository, version.replace('+', "_"));
        let manifest = registries
            .fetch(&image, reqwest::Method::GET, &path, Some(crate::registry::MANIFEST_TYPES), credentials)
            .await?;
        if !manifest.status.is_success() {
            return Err(DiscoveryError::source(
                repository,
                format!("chart {name} {version}: manifest answered {}", manifest.status.as_u16()),
                "",
            ));
        }
        let manifest: Value = serde_json::from_slice(&manifest.body)
            .map_err(|e| DiscoveryError::source(repository, format!("manifest: {e}"), ""))?;
        let layer = manifest["layers"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|l| l["mediaType"] == "application/vnd.cncf.helm.chart.content.v1.tar+gzip")
            .and_then(|l| l["digest"].as_str())
            .ok_or_else(|| {
                DiscoveryError::source(
                    repository,
                    format!("{name} {version} is not a Helm chart (no chart content layer)"),
                    "",
                )
            })?;
        let blob = registries
            .fetch(&image, reqwest::Method::GET, &format!("/v2/{}/blobs/{layer}", image.repository), None, credentials)
            .await?;
        if !blob.status.is_success() {
            return Err(DiscoveryError::source(
                repository,
                format!("chart {name} {version}: blob answered {}", blob.status.as_u16()),
                "",
            ));
        }
        return Ok(blob.body);
    }
    let entries = index_entries(repository, name, credentials).await?;
    let entry = entries
        .iter()
        .find(|e| e["version"].as_str() == Some(version))
        .ok_or_else(|| DiscoveryError::nothing(repository, format!("chart {name} has no version {version}")))?;
    let file = entry["urls"][0]
        .as_str()
        .ok_or_else(|| DiscoveryError::source(repository, format!("{name} {version} lists no download URL"), ""))?;
    let base = reqwest::Url::parse(&format!("{}/", repository.trim_end_matches('/')))
        .map_err(|e| DiscoveryError::config(format!("repository URL: {e}")))?;
    let url =
        base.join(file).map_err(|e| DiscoveryError::source(repository, format!("download URL {file:?}: {e}"), ""))?;
    // An index may point anywhere; the repository's credentials go only to the repository's
    // own scheme, host and port (Helm's fix for CVE-2021-32690).
    let same_origin = url.scheme() == base.scheme()
        && url.host_str() == base.host_str()
        && url.port_or_known_default() == base.port_or_known_default();
    download(url.as_str(), repository, credentials.filter(|_| same_origin)).await
}

async fn download(url: &str, repo: &str, credentials: Option<&Credentials>) -> Result<Vec<u8>, DiscoveryError> {
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(120)).build().unwrap_or_default();
    let mut request = client.get(url);
    if let Some(c) = credentials {
        request = request.basic_auth(&c.username, Some(&c.password));
    }
    let unreachable = |e: reqwest::Error| DiscoveryError::source(repo, format!("download: {}", e.without_url()), "");
    let mut response = request.send().await.map_err(unreachable)?;
    if !response.status().is_success() {
        return Err(DiscoveryError::source(repo, format!("download answered {}", response.status().as_u16()), ""));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
        if body.len() + chunk.len() > MAX_INDEX {
            return Err(DiscoveryError::source(
                repo,
                format!("the chart archive is larger than {} MiB", MAX_INDEX >> 20),
                "",
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The entries of `name` in `<repo>/index.yaml`.
async fn index_entries(
    repo: &str,
    name: &str,
    credentials: Option<&Credentials>,
) -> Result<Vec<Value>, DiscoveryError> {
    let url = format!("{}/index.yaml", repo.trim_end_matches('/'));

    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(60)).build().unwrap_or_default();
    let mut request = client.get(&url);
    if let Some(c) = credentials {
        request = request.basic_auth(&c.username, Some(&c.password));
    }
    let unreachable = |e: reqwest::Error| {
        DiscoveryError::source(repo, format!("cannot read index.yaml: {}", e.without_url()), "check the chart repoURL")
    };
    let mut response = request.send().await.map_err(unreachable)?;
    match response.status().as_u16() {
        200..=299 => {}
        401 | 403 => {
            return Err(DiscoveryError::source(
                repo,
                format!("index.yaml answered {}", response.status().as_u16()),
                "add or fix a Secret labelled kargo.akuity.io/cred-type: helm for this repository",
            ));
        }
        code => {
            return Err(DiscoveryError::source(repo, format!("index.yaml answered {code}"), "check the chart repoURL"));
        }
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
        if body.len() + chunk.len() > MAX_INDEX {
            return Err(DiscoveryError::source(repo, format!("index.yaml is larger than {} MiB", MAX_INDEX >> 20), ""));
        }
        body.extend_from_slice(&chunk);
    }
    // The index comes from the network: its nesting and aliases are vetted before serde_yaml,
    // whose limits act only after it has read every event.
    let text = String::from_utf8_lossy(&body);
    convoy_api::yaml::check_limits(&text)
        .map_err(|e| DiscoveryError::source(repo, format!("index.yaml is not valid YAML: {}", e.message), ""))?;
    let index: Value = serde_yaml::from_str(&text)
        .map_err(|e| DiscoveryError::source(repo, format!("index.yaml is not valid YAML: {e}"), ""))?;
    let entries = index.pointer(&format!("/entries/{}", name.replace('~', "~0").replace('/', "~1")));
    let entries = entries
        .and_then(Value::as_array)
        .ok_or_else(|| DiscoveryError::nothing(repo, format!("the repository has no chart named {name:?}")))?;
    Ok(entries.clone())
}
