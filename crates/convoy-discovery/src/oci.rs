//! OCI artifacts for the `oci-download` and `oci-push` steps: a layer of an image or chart, and
//! copies of images and indexes between repositories (blobs mounted or streamed through, the
//! manifest bytes kept unless annotations are added, so a plain retag keeps its digest).

use std::collections::BTreeMap;

use convoy_git::Credentials;
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use crate::DiscoveryError;
use crate::registry::{Call, Fetched, ImageName, MANIFEST_TYPES, Registries};

/// `host/repo:tag` or `host/repo@sha256:...`, with `oci://` for Helm charts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub name: ImageName,
    /// A tag or a digest.
    pub reference: String,
    /// Written with `oci://`: a Helm chart, whose credentials are `helm` ones.
    pub chart: bool,
}

impl Reference {
    pub fn parse(text: &str) -> Result<Reference, String> {
        let (chart, rest) = match text.strip_prefix("oci://") {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (repository, reference) = match rest.split_once('@') {
            Some((repository, digest)) => (repository, digest),
            None => match rest.rsplit_once(':') {
                Some((repository, tag)) if !tag.contains('/') => (repository, tag),
                _ => return Err(format!("{text:?} names no tag or digest (host/repository:tag or @sha256:...)")),
            },
        };
        if reference.is_empty() {
            return Err(format!("{text:?} has an empty tag or digest"));
        }
        Ok(Reference { name: ImageName::parse(repository)?, reference: reference.to_owned(), chart })
    }

    /// The repository as credentials Secrets name it (`oci://` kept for charts).
    pub fn repository_url(&self) -> String {
        let url = format!("{}/{}", self.name.registry, self.name.repository);
        if self.chart { format!("oci://{url}") } else { url }
    }

    pub fn tag(&self) -> Option<&str> {
        (!self.reference.starts_with("sha256:")).then_some(self.reference.as_str())
    }
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let separator = if self.tag().is_some() { ':' } else { '@' };
        write!(f, "{}/{}{separator}{}", self.name.registry, self.name.repository, self.reference)
    }
}

/// A manifest or index as stored: its media type and exact bytes.
struct Manifest {
    media_type: String,
    bytes: Vec<u8>,
}

impl Manifest {
    fn is_index(&self) -> bool {
        self.media_type.contains("index") || self.media_type.contains("manifest.list")
    }

    fn json(&self, at: &str) -> Result<Value, DiscoveryError> {
        serde_json::from_slice(&self.bytes)
            .map_err(|e| DiscoveryError::config(format!("{at}: manifest is not JSON: {e}")))
    }
}

fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect::<String>())
}

fn failure(name: &ImageName, what: &str, fetched: &Fetched) -> DiscoveryError {
    let detail = String::from_utf8_lossy(&fetched.body).chars().take(200).collect::<String>();
    DiscoveryError::source(
        &format!("{}/{}", name.registry, name.repository),
        format!("{what} answered {}: {}", fetched.status.as_u16(), detail.trim()),
        "",
    )
}

async fn get_manifest(
    registries: &Registries,
    name: &ImageName,
    reference: &str,
    credentials: Option<&Credentials>,
) -> Result<Manifest, DiscoveryError> {
    let path = format!("/v2/{}/manifests/{reference}", name.repository);
    let fetched = registries.fetch(name, Method::GET, &path, Some(MANIFEST_TYPES), credentials).await?;
    if fetched.status == StatusCode::NOT_FOUND {
        return Err(DiscoveryError::source(
            &format!("{}/{}", name.registry, name.repository),
            format!("{reference} not found"),
            "check the reference",
        ));
    }
    if !fetched.status.is_success() {
        return Err(failure(name, "reading the manifest", &fetched));
    }
    let media_type = fetched
        .headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|t| t.split(';').next().unwrap_or(t).trim().to_owned())
        .filter(|t| !t.is_empty() && t != "application/json")
        .or_else(|| serde_json::from_slice::<Value>(&fetched.body).ok()?["mediaType"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "application/vnd.oci.image.manifest.v1+json".to_owned());
    Ok(Manifest { media_type, bytes: fetched.body })
}

async fn get_blob(
    registries: &Registries,
    name: &ImageName,
    digest: &str,
    credentials: Option<&Credentials>,
    limit: usize,
) -> Result<Vec<u8>, DiscoveryError> {
    let path = format!("/v2/{}/blobs/{digest}", name.repository);
    let call = Call { method: Method::GET, path: &path, accept: None, body: None, push: false, limit };
    let fetched = registries.send(name, &call, credentials).await?;
    if !fetched.status.is_success() {
        return Err(failure(name, &format!("reading blob {digest}"), &fetched));
    }
    if digest_of(&fetched.body) != digest {
        return Err(DiscoveryError::config(format!("blob {digest} does not match its digest")));
    }
    Ok(fetched.body)
}

/// The bytes of one layer: the first with `media_type`, or the first of all. An index resolves
/// to its linux/amd64 image (else its first). At most `limit` bytes.
pub async fn download_layer(
    registries: &Registries,
    reference: &Reference,
    media_type: Option<&str>,
    credentials: Option<&Credentials>,
    limit: usize,
) -> Result<Vec<u8>, DiscoveryError> {
    let mut manifest = get_manifest(registries, &reference.name, &reference.reference, credentials).await?;
    if manifest.is_index() {
        let index = manifest.json(&reference.to_string())?;
        let children = index["manifests"].as_array().cloned().unwrap_or_default();
        let platform = |m: &Value| {
            m.pointer("/platform/os").and_then(Value::as_str) == Some("linux")
                && m.pointer("/platform/architecture").and_then(Value::as_str) == Some("amd64")
        };
        let child = children
            .iter()
            .find(|m| platform(m))
            .or(children.first())
            .and_then(|m| m["digest"].as_str())
            .ok_or_else(|| DiscoveryError::config(format!("{reference}: the index lists no manifests")))?;
        manifest = get_manifest(registries, &reference.name, child, credentials).await?;
    }
    let json = manifest.json(&reference.to_string())?;
    let layers = json["layers"].as_array().cloned().unwrap_or_default();
    let layer = match media_type {
        Some(wanted) => layers
            .iter()
            .find(|l| l["mediaType"].as_str() == Some(wanted))
            .ok_or_else(|| DiscoveryError::config(format!("{reference}: no layer found with media type {wanted:?}")))?,
        None => {
            layers.first().ok_or_else(|| DiscoveryError::config(format!("{reference}: the image has no layers")))?
        }
    };
    let size = layer["size"].as_u64().unwrap_or(0);
    if size > limit as u64 {
        return Err(DiscoveryError::config(format!(
            "{reference}: the layer has {size} bytes, more than the {} MiB allowed",
            limit >> 20
        )));
    }
    let digest = layer["digest"]
        .as_str()
        .ok_or_else(|| DiscoveryError::config(format!("{reference}: a layer without digest")))?;
    get_blob(registries, &reference.name, digest, credentials, limit).await
}

/// Where `oci-push` copies from and to, with each side's credentials.
pub struct Copy<'a> {
    pub source: &'a Reference,
    pub source_credentials: Option<&'a Credentials>,
    pub destination: &'a Reference,
    pub destination_credentials: Option<&'a Credentials>,
    /// Keys with `index:` go on an index, with `manifest:` (or none) on image manifests.
    pub annotations: &'a BTreeMap<String, String>,
    /// The largest blob carried across.
    pub limit: usize,
}

/// Copies the artifact and tags it at the destination; returns the digest it has there.
pub async fn copy(registries: &Registries, copy: &Copy<'_>) -> Result<String, DiscoveryError> {
    if copy.destination.tag().is_none() {
        return Err(DiscoveryError::config(format!("destination {} must name a tag", copy.destination)));
    }
    let (mut for_index, mut for_manifests) = (Map::new(), Map::new());
    for (key, value) in copy.annotations {
        match key.split_once(':') {
            Some(("index", k)) => for_index.insert(k.to_owned(), Value::String(value.clone())),
            Some(("manifest", k)) => for_manifests.insert(k.to_owned(), Value::String(value.clone())),
            _ => for_manifests.insert(key.clone(), Value::String(value.clone())),
        };
    }
    let manifest = get_manifest(registries, &copy.source.name, &copy.source.reference, copy.source_credentials).await?;
    let manifest = if manifest.is_index() {
        let mut index = manifest.json(&copy.source.to_string())?;
        for child in index["manifests"].as_array_mut().into_iter().flatten() {
            let Some(digest) = child["digest"].as_str().map(str::to_owned) else { continue };
            let image = get_manifest(registries, &copy.source.name, &digest, copy.source_credentials).await?;
            let image = copy_image(registries, copy, image, &for_manifests).await?;
            child["digest"] = Value::String(digest_of(&image.bytes));
            child["size"] = Value::from(image.bytes.len());
        }
        let changed = !for_manifests.is_empty() || !for_index.is_empty();
        annotate(manifest, index, &for_index, changed)?
    } else {
        copy_image(registries, copy, manifest, &for_manifests).await?
    };
    let tag = copy.destination.tag().unwrap_or_default();
    put_manifest(registries, copy.destination, copy.destination_credentials, tag, &manifest).await?;
    Ok(digest_of(&manifest.bytes))
}

/// The manifest as it will be pushed: the original bytes, or with the annotations merged in.
fn annotate(
    original: Manifest,
    mut json: Value,
    annotations: &Map<String, Value>,
    changed: bool,
) -> Result<Manifest, DiscoveryError> {
    if !changed {
        return Ok(original);
    }
    if !annotations.is_empty() {
        if !json["annotations"].is_object() {
            json["annotations"] = Value::Object(Map::new());
        }
        for (k, v) in annotations {
            json["annotations"][k] = v.clone();
        }
    }
    let bytes = serde_json::to_vec(&json).map_err(|e| DiscoveryError::config(e.to_string()))?;
    Ok(Manifest { media_type: original.media_type, bytes })
}

/// Carries an image's config and layers across and pushes its (annotated) manifest by digest.
async fn copy_image(
    registries: &Registries,
    copy: &Copy<'_>,
    manifest: Manifest,
    annotations: &Map<String, Value>,
) -> Result<Manifest, DiscoveryError> {
    let json = manifest.json(&copy.source.to_string())?;
    let blobs = json["config"]["digest"]
        .as_str()
        .into_iter()
        .chain(json["layers"].as_array().into_iter().flatten().filter_map(|l| l["digest"].as_str()));
    for digest in blobs.map(str::to_owned).collect::<Vec<_>>() {
        copy_blob(registries, copy, &digest).await?;
    }
    let manifest = annotate(manifest, json, annotations, !annotations.is_empty())?;
    let digest = digest_of(&manifest.bytes);
    put_manifest(registries, copy.destination, copy.destination_credentials, &digest, &manifest).await?;
    Ok(manifest)
}

async fn copy_blob(registries: &Registries, copy: &Copy<'_>, digest: &str) -> Result<(), DiscoveryError> {
    let (to, credentials) = (&copy.destination.name, copy.destination_credentials);
    let head_path = format!("/v2/{}/blobs/{digest}", to.repository);
    let head = Call { method: Method::HEAD, path: &head_path, accept: None, body: None, push: true, limit: 0 };
    if registries.send(to, &head, credentials).await?.status.is_success() {
        return Ok(());
    }
    // Within one registry the blob can be mounted from the source repository: no bytes move.
    if to.registry == copy.source.name.registry {
        let path = format!("/v2/{}/blobs/uploads/?mount={digest}&from={}", to.repository, copy.source.name.repository);
        let mount = Call::write(Method::POST, &path, "application/octet-stream", Vec::new());
        if registries.send(to, &mount, credentials).await?.status == StatusCode::CREATED {
            return Ok(());
        }
    }
    let bytes = get_blob(registries, &copy.source.name, digest, copy.source_credentials, copy.limit).await?;
    let path = format!("/v2/{}/blobs/uploads/", to.repository);
    let start = Call::write(Method::POST, &path, "application/octet-stream", Vec::new());
    let started = registries.send(to, &start, credentials).await?;
    if started.status != StatusCode::ACCEPTED {
        return Err(failure(to, "starting a blob upload", &started));
    }
    let location = started
        .headers
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| DiscoveryError::config("the registry gave no upload location"))?;
    // The location may be absolute; the registry is the same either way.
    let location = match reqwest::Url::parse(location) {
        Ok(url) => format!("{}{}", url.path(), url.query().map(|q| format!("?{q}")).unwrap_or_default()),
        Err(_) => location.to_owned(),
    };
    let separator = if location.contains('?') { '&' } else { '?' };
    let path = format!("{location}{separator}digest={digest}");
    let put = Call::write(Method::PUT, &path, "application/octet-stream", bytes);
    let done = registries.send(to, &put, credentials).await?;
    if done.status != StatusCode::CREATED {
        return Err(failure(to, &format!("uploading blob {digest}"), &done));
    }
    Ok(())
}

async fn put_manifest(
    registries: &Registries,
    destination: &Reference,
    credentials: Option<&Credentials>,
    reference: &str,
    manifest: &Manifest,
) -> Result<(), DiscoveryError> {
    let name = &destination.name;
    let path = format!("/v2/{}/manifests/{reference}", name.repository);
    let call = Call::write(Method::PUT, &path, manifest.media_type.as_str(), manifest.bytes.clone());
    let put = registries.send(name, &call, credentials).await?;
    if put.status != StatusCode::CREATED {
        return Err(failure(name, &format!("pushing the manifest {reference}"), &put));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Reference;

    #[test]
    fn references() {
        let r = Reference::parse("127.0.0.1:5000/team/app:1.2.0").unwrap();
        assert_eq!(
            (r.name.registry.as_str(), r.name.repository.as_str(), r.reference.as_str()),
            ("127.0.0.1:5000", "team/app", "1.2.0")
        );
        assert_eq!(
            (r.to_string(), r.repository_url()),
            ("127.0.0.1:5000/team/app:1.2.0".to_owned(), "127.0.0.1:5000/team/app".to_owned())
        );
        let chart = Reference::parse("oci://ghcr.io/o/charts/app@sha256:abc").unwrap();
        assert!(chart.chart && chart.tag().is_none());
        assert_eq!(chart.repository_url(), "oci://ghcr.io/o/charts/app");
        assert!(Reference::parse("127.0.0.1:5000/team/app").unwrap_err().contains("no tag or digest"));
        assert_eq!(Reference::parse("nginx:1.27").unwrap().name.repository, "library/nginx");
    }
}
