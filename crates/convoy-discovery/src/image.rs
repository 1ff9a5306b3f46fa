//! Image subscriptions: SemVer, Lexical, NewestBuild and Digest over a registry's tags, with
//! platform choice in multi-arch indexes.

use convoy_api::ImageSubscription;
use convoy_git::Credentials;
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::DiscoveryError;
use crate::registry::{ImageName, MANIFEST_TYPES, Registries};
use crate::select::{TagFilter, by_lexical, by_newest, by_semver};

/// At most this many tags are inspected for their build time (NewestBuild reads a config per tag).
const MAX_INSPECTED: usize = 200;

/// One tag's manifest as discovery records it.
#[derive(Debug, Clone)]
struct Reference {
    tag: String,
    digest: String,
    annotations: Value,
    created_at: String,
}

pub async fn discover(
    registries: &Registries,
    sub: &ImageSubscription,
    credentials: Option<&Credentials>,
) -> Result<Value, DiscoveryError> {
    if sub.allow_tags.as_deref().is_some_and(|t| !t.is_empty()) {
        return Err(DiscoveryError::config(
            "AllowTags is deprecated and unsupported as of v1.11.0; use AllowTagsRegexes instead",
        ));
    }
    if !sub.ignore_tags.is_empty() {
        return Err(DiscoveryError::config(
            "IgnoreTags is deprecated and unsupported as of v1.11.0; use IgnoreTagsRegexes instead",
        ));
    }
    let name = ImageName::parse(&sub.repo_url).map_err(DiscoveryError::config)?;
    let limit = sub.discovery_limit.unwrap_or(20).clamp(1, 100) as usize;
    let platform = sub.platform.as_deref().filter(|p| !p.is_empty());
    let strategy = sub.image_selection_strategy.as_deref().filter(|s| !s.is_empty()).unwrap_or("SemVer");
    let constraint_text = sub.constraint.as_deref().or(sub.semver_constraint.as_deref()).filter(|c| !c.is_empty());
    let tags = registries.tags(&name, credentials).await?;
    let filter = TagFilter::new(&sub.allow_tags_regexes, &sub.ignore_tags_regexes).map_err(DiscoveryError::config)?;
    let allowed: Vec<&str> = tags.iter().map(String::as_str).filter(|t| filter.allows(t)).collect();
    let mut references = Vec::new();
    match strategy {
        "SemVer" | "Lexical" => {
            let ordered = if strategy == "SemVer" {
                let constraint = match constraint_text {
                    Some(c) => Some(
                        convoy_core::constraint::parse(c)
                            .map_err(|e| DiscoveryError::config(format!("constraint: {e}")))?,
                    ),
                    None => None,
                };
                by_semver(allowed, sub.strict_semvers.unwrap_or(true), constraint.as_ref())
            } else {
                by_lexical(allowed)
            };
            for tag in ordered {
                if references.len() == limit {
                    break;
                }
                if let Some(r) = inspect(registries, &name, tag, platform, false, credentials).await? {
                    references.push(r);
                }
            }
        }
        "NewestBuild" => {
            for tag in allowed.into_iter().take(MAX_INSPECTED) {
                if let Some(r) = inspect(registries, &name, tag, platform, true, credentials).await? {
                    references.push(r);
                }
            }
            by_newest(&mut references, |r| &r.created_at, |r| &r.tag);
            references.truncate(limit);
        }
        "Digest" => {
            let tag = constraint_text
                .ok_or_else(|| DiscoveryError::config("the Digest strategy needs constraint: the tag to follow"))?;
            if !tags.iter().any(|t| t == tag) {
                return Err(DiscoveryError::nothing(&sub.repo_url, format!("tag {tag:?} does not exist")));
            }
            references.extend(inspect(registries, &name, tag, platform, false, credentials).await?);
        }
        other => {
            return Err(DiscoveryError::config(format!(
                "imageSelectionStrategy {other:?} is not one of SemVer, Lexical, NewestBuild, Digest"
            )));
        }
    }
    if references.is_empty() {
        return Err(DiscoveryError::nothing(
            &sub.repo_url,
            format!(
                "no tag of {} tag(s) passed the filters (allowTagsRegexes, ignoreTagsRegexes, constraint, strictSemvers{}); loosen them or push a matching tag",
                tags.len(),
                if platform.is_some() { ", platform" } else { "" }
            ),
        ));
    }
    let references: Vec<Value> = references
        .into_iter()
        .map(|r| {
            let mut v = json!({"tag": r.tag, "digest": r.digest});
            if r.annotations.as_object().is_some_and(|a| !a.is_empty()) {
                v["annotations"] = r.annotations;
            }
            if !r.created_at.is_empty() {
                v["createdAt"] = json!(r.created_at);
            }
            v
        })
        .collect();
    let mut result = json!({"repoURL": sub.repo_url, "references": references});
    if let Some(p) = platform {
        result["platform"] = json!(p);
    }
    Ok(result)
}

/// The manifest of `tag`: its digest (the platform's image in an index, when a platform is
/// asked for), annotations and, when wanted or needed, the build time. `None` when the tag has
/// no image for the platform.
async fn inspect(
    registries: &Registries,
    name: &ImageName,
    tag: &str,
    platform: Option<&str>,
    want_created: bool,
    credentials: Option<&Credentials>,
) -> Result<Option<Reference>, DiscoveryError> {
    let (digest, manifest) = manifest(registries, name, tag, credentials).await?;
    let is_index = manifest.get("manifests").is_some_and(Value::is_array);
    let (digest, manifest) = match (is_index, platform) {
        (true, Some(platform)) => {
            let Some(child) = manifest["manifests"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|m| platform_matches(&m["platform"], platform))
            else {
                return Ok(None);
            };
            let child_digest = child["digest"].as_str().unwrap_or_default().to_owned();
            let (_, child_manifest) = manifest_of(registries, name, &child_digest, credentials).await?;
            (child_digest, child_manifest)
        }
        _ => (digest, manifest),
    };
    let annotations = manifest.get("annotations").cloned().unwrap_or(json!({}));
    let needs_config =
        !manifest.get("manifests").is_some_and(Value::is_array) && (want_created || (platform.is_some() && !is_index));
    let mut created_at = String::new();
    if needs_config && let Some(config_digest) = manifest.pointer("/config/digest").and_then(Value::as_str) {
        let config = blob(registries, name, config_digest, credentials).await?;
        if let Some(platform) = platform
            && !is_index
        {
            let own = json!({"os": config["os"], "architecture": config["architecture"], "variant": config["variant"]});
            if !platform_matches(&own, platform) {
                return Ok(None);
            }
        }
        let labels = &config["config"]["Labels"];
        created_at = [
            labels["org.opencontainers.image.created"].as_str(),
            labels["org.label-schema.build-date"].as_str(),
            config["created"].as_str(),
        ]
        .into_iter()
        .flatten()
        .find(|t| !t.is_empty())
        .unwrap_or_default()
        .to_owned();
    }
    Ok(Some(Reference { tag: tag.to_owned(), digest, annotations, created_at }))
}

/// `os/arch[/variant]` against an index entry's (or config's) platform.
fn platform_matches(platform: &Value, wanted: &str) -> bool {
    let mut parts = wanted.split('/');
    let (os, arch, variant) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next());
    platform["os"].as_str() == Some(os)
        && platform["architecture"].as_str() == Some(arch)
        && variant.is_none_or(|v| platform["variant"].as_str() == Some(v))
}

async fn manifest(
    registries: &Registries,
    name: &ImageName,
    tag: &str,
    credentials: Option<&Credentials>,
) -> Result<(String, Value), DiscoveryError> {
    manifest_of(registries, name, tag, credentials).await
}

async fn manifest_of(
    registries: &Registries,
    name: &ImageName,
    reference: &str,
    credentials: Option<&Credentials>,
) -> Result<(String, Value), DiscoveryError> {
    let path = format!("/v2/{}/manifests/{reference}", name.repository);
    let fetched = registries.fetch(name, Method::GET, &path, Some(MANIFEST_TYPES), credentials).await?;
    if !fetched.status.is_success() {
        return Err(DiscoveryError::source(
            &name.registry,
            format!("manifest {reference} answered {}", fetched.status.as_u16()),
            "",
        ));
    }
    let digest = fetched
        .headers
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| {
            format!("sha256:{}", Sha256::digest(&fetched.body).iter().map(|b| format!("{b:02x}")).collect::<String>())
        });
    let value = serde_json::from_slice(&fetched.body)
        .map_err(|e| DiscoveryError::source(&name.registry, format!("manifest {reference}: {e}"), ""))?;
    Ok((digest, value))
}

async fn blob(
    registries: &Registries,
    name: &ImageName,
    digest: &str,
    credentials: Option<&Credentials>,
) -> Result<Value, DiscoveryError> {
    let path = format!("/v2/{}/blobs/{digest}", name.repository);
    let fetched = registries.fetch(name, Method::GET, &path, None, credentials).await?;
    if !fetched.status.is_success() {
        return Err(DiscoveryError::source(
            &name.registry,
            format!("blob {digest} answered {}", fetched.status.as_u16()),
            "",
        ));
    }
    serde_json::from_slice(&fetched.body)
        .map_err(|e| DiscoveryError::source(&name.registry, format!("config {digest}: {e}"), ""))
}
