//! What each provider's request proves (its signature or token) and says: the repositories or
//! images pushed to, and the refs, tags or versions (qualifiers) that were pushed.

use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

use super::{Receiver, hex, hmac_sha256, image_repository, same};

/// What an event asks for.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Event {
    pub git_urls: Vec<String>,
    /// Image repositories (also matched against `oci://` chart subscriptions).
    pub images: Vec<String>,
    /// Refs (`refs/heads/main`), tags or versions; empty: every subscriber is refreshed.
    pub qualifiers: Vec<String>,
    /// An acknowledgement to answer with instead of refreshing (pings).
    pub ping: Option<String>,
    /// A pull request that was closed or merged: the promotions waiting for it look again.
    pub pull_request: Option<String>,
}

type Refusal = (StatusCode, String);

fn refuse(status: StatusCode, message: impl Into<String>) -> Refusal {
    (status, message.into())
}

/// Checks the provider's signature or token; path-only providers (Docker Hub, Quay, Azure)
/// prove themselves by the unguessable path alone.
pub(super) fn authenticate(receiver: &Receiver, headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    let expected_hmac = || hex(&hmac_sha256(receiver.secret.as_bytes(), body));
    let matches = |given: &str, what: &str| {
        same(given.as_bytes(), expected_hmac().as_bytes()).then_some(()).ok_or_else(|| format!("{what} does not match"))
    };
    match receiver.kind.as_str() {
        "github" => {
            let given = header("x-hub-signature-256");
            matches(given.strip_prefix("sha256=").ok_or("missing X-Hub-Signature-256 header")?, "signature")
        }
        "bitbucket" => {
            let given = header("x-hub-signature");
            if given.is_empty() {
                return Err("missing signature".into());
            }
            matches(given.strip_prefix("sha256=").ok_or("only sha256= signatures are accepted")?, "signature")
        }
        "gitea" => matches(header("x-gitea-signature"), "signature"),
        "artifactory" => {
            let given = header("x-jfrog-event-auth");
            if given.is_empty() {
                return Err("missing signature".into());
            }
            matches(given, "X-Jfrog-Event-Auth")
        }
        "gitlab" => same(header("x-gitlab-token").as_bytes(), receiver.secret.as_bytes())
            .then_some(())
            .ok_or_else(|| "X-Gitlab-Token does not match".into()),
        "harbor" => same(header("authorization").as_bytes(), receiver.secret.as_bytes())
            .then_some(())
            .ok_or_else(|| "the Authorization header does not match".into()),
        _ => Ok(()),
    }
}

/// Reads the event of an authenticated request.
pub(super) fn event(receiver: &Receiver, headers: &HeaderMap, body: &[u8]) -> Result<Event, Refusal> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let kind_header = match receiver.kind.as_str() {
        "github" => header("x-github-event"),
        "gitlab" => header("x-gitlab-event"),
        "gitea" => header("x-gitea-event"),
        _ => String::new(),
    };
    if kind_header == "ping" {
        return Ok(Event { ping: Some(PING_REPLY.into()), ..Event::default() });
    }
    let payload: Value =
        serde_json::from_slice(body).map_err(|_| refuse(StatusCode::BAD_REQUEST, "invalid request body"))?;
    let text = |p: &str| payload.pointer(p).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
    let texts = |list: &str, field: &str| -> Vec<String> {
        payload
            .pointer(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|item| item.pointer(field).and_then(Value::as_str))
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let event = match receiver.kind.as_str() {
        "github" => github(&kind_header, &text)?,
        "gitea" => push(&text, REPOSITORY_URLS),
        "gitlab" => push(&text, &["/project/git_http_url", "/project/web_url", "/project/git_ssh_url"]),
        "bitbucket" => bitbucket(&header("x-event-key"), &payload, &text, &texts)?,
        "dockerhub" => Event {
            images: text("/repository/repo_name").into_iter().collect(),
            qualifiers: text("/push_data/tag").into_iter().collect(),
            ..Event::default()
        },
        "quay" => Event {
            images: text("/docker_url").into_iter().collect(),
            qualifiers: payload
                .pointer("/updated_tags")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            ..Event::default()
        },
        // `host/project/repo:tag` (or `@digest`) per pushed artifact.
        "harbor" => Event {
            images: texts("/event_data/resources", "/resource_url")
                .iter()
                .map(|u| image_repository(u).to_owned())
                .collect(),
            qualifiers: texts("/event_data/resources", "/tag"),
            ..Event::default()
        },
        "azure" => azure(&header("user-agent"), &text, &texts)?,
        "artifactory" => artifactory(receiver.virtual_repo.as_deref(), &text)?,
        other => return Err(refuse(StatusCode::NOT_IMPLEMENTED, format!("{other} events are not read"))),
    };
    if event.git_urls.is_empty() && event.images.is_empty() && event.ping.is_none() && event.pull_request.is_none() {
        return Err(refuse(StatusCode::BAD_REQUEST, "the event names no repository"));
    }
    Ok(event)
}

/// Where GitHub and Gitea push events name the repository.
const REPOSITORY_URLS: &[&str] =
    &["/repository/clone_url", "/repository/html_url", "/repository/ssh_url", "/repository/git_url"];

/// A push event: the repository's URLs at `url_fields`, the pushed `ref`.
fn push(text: &dyn Fn(&str) -> Option<String>, url_fields: &[&str]) -> Event {
    Event {
        git_urls: url_fields.iter().filter_map(|p| text(p)).collect(),
        qualifiers: text("/ref").into_iter().collect(),
        ..Event::default()
    }
}

const PING_REPLY: &str = "ping event received, webhook is configured correctly";

/// GitHub: pushes, and container images published to GitHub Packages.
fn github(event_type: &str, text: &dyn Fn(&str) -> Option<String>) -> Result<Event, Refusal> {
    match event_type {
        "push" => Ok(push(text, REPOSITORY_URLS)),
        // Merged and closed both arrive as `closed`; the waiting step reads which from the API.
        "pull_request" => match (text("/action").as_deref(), text("/pull_request/html_url")) {
            (Some("closed"), Some(url)) => Ok(Event { pull_request: Some(url), ..Event::default() }),
            (Some("closed"), None) => Err(refuse(StatusCode::BAD_REQUEST, "invalid request body")),
            _ => Ok(Event { ping: Some("pull_request event ignored".into()), ..Event::default() }),
        },
        "package" | "registry_package" => {
            let package = if event_type == "package" { "/package" } else { "/registry_package" };
            let action = text("/action").unwrap_or_default();
            let kind = text(&format!("{package}/package_type")).unwrap_or_default().to_ascii_lowercase();
            // Only newly published or updated container images can change what a Warehouse sees.
            if !matches!(action.as_str(), "published" | "updated") || !matches!(kind.as_str(), "container" | "docker") {
                return Ok(Event { ping: Some(format!("{event_type} event ignored")), ..Event::default() });
            }
            let version = format!("{package}/package_version");
            let url = text(&format!("{version}/package_url"))
                .ok_or_else(|| refuse(StatusCode::BAD_REQUEST, "invalid request body"))?;
            // GitHub sometimes sends `ghcr.io/owner/image:` (a colon and no tag).
            let image = image_repository(url.trim_end_matches(':')).to_owned();
            let tag = text(&format!("{version}/container_metadata/tag/name"));
            Ok(Event { images: vec![image], qualifiers: tag.into_iter().collect(), ..Event::default() })
        }
        other => Err(refuse(StatusCode::BAD_REQUEST, format!("event type {other} is not supported"))),
    }
}

/// Bitbucket Cloud (`repo:push`) and Data Center (`repo:refs_changed`).
fn bitbucket(
    event_key: &str,
    payload: &Value,
    text: &dyn Fn(&str) -> Option<String>,
    texts: &dyn Fn(&str, &str) -> Vec<String>,
) -> Result<Event, Refusal> {
    match event_key {
        "repo:push" => {
            // Cloud names the pushed branch or tag without its `refs/` prefix.
            let qualifiers = payload
                .pointer("/push/changes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|change| {
                    let name = change.pointer("/new/name")?.as_str()?;
                    let prefix = if change.pointer("/new/type").and_then(Value::as_str) == Some("tag") {
                        "refs/tags/"
                    } else {
                        "refs/heads/"
                    };
                    Some(format!("{prefix}{name}"))
                })
                .collect();
            Ok(Event {
                git_urls: text("/repository/links/html/href").into_iter().collect(),
                qualifiers,
                ..Event::default()
            })
        }
        "repo:refs_changed" => Ok(Event {
            git_urls: texts("/repository/links/clone", "/href"),
            qualifiers: texts("/changes", "/ref/id"),
            ..Event::default()
        }),
        other => Err(refuse(StatusCode::BAD_REQUEST, format!("event type {other} is not supported"))),
    }
}

/// Azure Container Registry and Azure DevOps, told apart by their User-Agent.
fn azure(
    user_agent: &str,
    text: &dyn Fn(&str) -> Option<String>,
    texts: &dyn Fn(&str, &str) -> Vec<String>,
) -> Result<Event, Refusal> {
    if user_agent.starts_with("AzureContainerRegistry") {
        return match text("/action").as_deref() {
            Some("push") => {
                let (host, repository) = (text("/request/host"), text("/target/repository"));
                Ok(Event {
                    images: host.zip(repository).map(|(h, r)| format!("{h}/{r}")).into_iter().collect(),
                    qualifiers: text("/target/tag").into_iter().collect(),
                    ..Event::default()
                })
            }
            Some("ping") => Ok(Event { ping: Some(PING_REPLY.into()), ..Event::default() }),
            other => Err(refuse(
                StatusCode::BAD_REQUEST,
                format!("event type {} is not supported", other.unwrap_or_default()),
            )),
        };
    }
    if user_agent.starts_with("VSServices") {
        return match text("/eventType").as_deref() {
            Some("git.push") => Ok(Event {
                git_urls: text("/resource/repository/remoteUrl").into_iter().collect(),
                qualifiers: texts("/resource/refUpdates", "/name"),
                ..Event::default()
            }),
            other => Err(refuse(
                StatusCode::BAD_REQUEST,
                format!("event type {} is not supported", other.unwrap_or_default()),
            )),
        };
    }
    Err(refuse(StatusCode::BAD_REQUEST, "request does not appear to have originated from a supported service"))
}

/// JFrog Artifactory: a pushed Docker image or OCI chart, at `<origin host>/<repo key>/<path
/// without its last two sections>` (the virtual repository's name, when configured, as the key).
fn artifactory(virtual_repo: Option<&str>, text: &dyn Fn(&str) -> Option<String>) -> Result<Event, Refusal> {
    if text("/event_type").as_deref() != Some("pushed") || text("/domain").as_deref() != Some("docker") {
        return Err(refuse(StatusCode::NOT_IMPLEMENTED, "event type must be 'pushed' and domain must be 'docker'"));
    }
    let image_type = text("/data/image_type").unwrap_or_default();
    if image_type != "docker" && image_type != "oci" {
        return Err(refuse(StatusCode::NOT_IMPLEMENTED, format!("unsupported image type {image_type:?}")));
    }
    let origin = text("/jpd_origin").unwrap_or_default();
    let host = reqwest::Url::parse(&origin)
        .ok()
        .and_then(|u| u.host_str().map(|h| u.port().map_or(h.to_owned(), |p| format!("{h}:{p}"))))
        .ok_or_else(|| refuse(StatusCode::BAD_REQUEST, "invalid request body"))?;
    let path = text("/data/path").unwrap_or_default();
    let sections: Vec<&str> = path.split('/').collect();
    if sections.len() < 2 {
        return Err(refuse(StatusCode::BAD_REQUEST, "invalid path"));
    }
    let key = virtual_repo.filter(|v| !v.is_empty()).map(str::to_owned).or_else(|| text("/data/repo_key"));
    let mut parts = vec![host];
    parts.extend(key);
    parts.extend(sections[..sections.len() - 2].iter().map(|s| (*s).to_owned()));
    Ok(Event { images: vec![parts.join("/")], qualifiers: text("/data/tag").into_iter().collect(), ..Event::default() })
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue};
    use serde_json::json;

    use super::*;

    fn receiver(kind: &str) -> Receiver {
        Receiver {
            project: "p".into(),
            kind: kind.into(),
            secret: "s3cret".into(),
            actions: Vec::new(),
            virtual_repo: None,
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn bitbucket_cloud_and_data_center() {
        let cloud = json!({"push": {"changes": [{"new": {"name": "main", "type": "branch"}}, {"new": {"name": "v1.0.0", "type": "tag"}}]},
            "repository": {"links": {"html": {"href": "https://bitbucket.org/team/app"}}}});
        let event = super::event(
            &receiver("bitbucket"),
            &headers(&[("x-event-key", "repo:push")]),
            cloud.to_string().as_bytes(),
        )
        .unwrap();
        assert_eq!(event.git_urls, ["https://bitbucket.org/team/app"]);
        assert_eq!(event.qualifiers, ["refs/heads/main", "refs/tags/v1.0.0"]);
        let server = json!({"changes": [{"ref": {"id": "refs/heads/main"}}],
            "repository": {"links": {"clone": [{"href": "https://git.example.com/scm/team/app.git"}, {"href": "ssh://git@git.example.com:7999/team/app.git"}]}}});
        let event = super::event(
            &receiver("bitbucket"),
            &headers(&[("x-event-key", "repo:refs_changed")]),
            server.to_string().as_bytes(),
        )
        .unwrap();
        assert_eq!(event.git_urls.len(), 2);
        assert_eq!(event.qualifiers, ["refs/heads/main"]);
        let refused =
            super::event(&receiver("bitbucket"), &headers(&[("x-event-key", "pr:opened")]), b"{}").unwrap_err();
        assert_eq!(refused, (StatusCode::BAD_REQUEST, "event type pr:opened is not supported".to_owned()));
    }

    #[test]
    fn azure_registry_and_devops() {
        let push = json!({"action": "push", "target": {"repository": "team/app", "tag": "1.2.0", "mediaType": "application/vnd.docker.distribution.manifest.v2+json"}, "request": {"host": "example.azurecr.io"}});
        let acr = headers(&[("user-agent", "AzureContainerRegistry/1.0")]);
        let event = super::event(&receiver("azure"), &acr, push.to_string().as_bytes()).unwrap();
        assert_eq!(
            (event.images, event.qualifiers),
            (vec!["example.azurecr.io/team/app".to_owned()], vec!["1.2.0".to_owned()])
        );
        let ping = super::event(&receiver("azure"), &acr, br#"{"action": "ping"}"#).unwrap();
        assert!(ping.ping.unwrap().contains("configured correctly"));
        let devops = json!({"eventType": "git.push", "resource": {"refUpdates": [{"name": "refs/heads/main"}], "repository": {"remoteUrl": "https://dev.azure.com/org/proj/_git/app"}}});
        let event = super::event(
            &receiver("azure"),
            &headers(&[("user-agent", "VSServices/16.0")]),
            devops.to_string().as_bytes(),
        )
        .unwrap();
        assert_eq!(event.git_urls, ["https://dev.azure.com/org/proj/_git/app"]);
        assert_eq!(event.qualifiers, ["refs/heads/main"]);
        let unknown = super::event(&receiver("azure"), &headers(&[("user-agent", "curl/8")]), b"{}").unwrap_err();
        assert!(unknown.1.contains("supported service"));
    }

    #[test]
    fn artifactory_paths_and_virtual_repositories() {
        let body = json!({"domain": "docker", "event_type": "pushed", "jpd_origin": "https://acme.jfrog.io",
            "data": {"path": "team/app/1.2.0/manifest.json", "repo_key": "docker-local", "image_type": "docker", "tag": "1.2.0"}});
        let event = super::event(&receiver("artifactory"), &HeaderMap::new(), body.to_string().as_bytes()).unwrap();
        assert_eq!(event.images, ["acme.jfrog.io/docker-local/team/app"]);
        assert_eq!(event.qualifiers, ["1.2.0"]);
        let mut virtual_repo = receiver("artifactory");
        virtual_repo.virtual_repo = Some("docker".into());
        let event = super::event(&virtual_repo, &HeaderMap::new(), body.to_string().as_bytes()).unwrap();
        assert_eq!(event.images, ["acme.jfrog.io/docker/team/app"]);
        let deleted = json!({"domain": "docker", "event_type": "deleted"});
        let refused =
            super::event(&receiver("artifactory"), &HeaderMap::new(), deleted.to_string().as_bytes()).unwrap_err();
        assert_eq!(refused.0, StatusCode::NOT_IMPLEMENTED);
    }

    #[test]
    fn github_pushes_and_packages() {
        let push = json!({"ref": "refs/heads/main", "repository": {"clone_url": "https://github.com/o/app.git"}});
        let gh = |event: &str, body: &serde_json::Value| {
            super::event(&receiver("github"), &headers(&[("x-github-event", event)]), body.to_string().as_bytes())
        };
        let event = gh("push", &push).unwrap();
        assert_eq!(
            (event.git_urls[0].as_str(), event.qualifiers),
            ("https://github.com/o/app.git", vec!["refs/heads/main".to_owned()])
        );
        let package = json!({"action": "published", "package": {"package_type": "CONTAINER", "package_version": {
            "package_url": "ghcr.io/o/app:1.4.0", "container_metadata": {"tag": {"name": "1.4.0"}}}}});
        let event = gh("package", &package).unwrap();
        assert_eq!((event.images, event.qualifiers), (vec!["ghcr.io/o/app".to_owned()], vec!["1.4.0".to_owned()]));
        let deleted = json!({"action": "deleted", "registry_package": {"package_type": "CONTAINER"}});
        assert!(gh("registry_package", &deleted).unwrap().ping.is_some(), "acknowledged, nothing refreshed");
        assert!(gh("ping", &json!({})).unwrap().ping.unwrap().contains("configured correctly"));
        assert_eq!(gh("issues", &json!({})).unwrap_err().1, "event type issues is not supported");
        let merged = json!({"action": "closed", "pull_request": {"html_url": "https://github.com/o/config/pull/7", "merged": true}});
        assert_eq!(
            gh("pull_request", &merged).unwrap().pull_request.as_deref(),
            Some("https://github.com/o/config/pull/7")
        );
        let opened = json!({"action": "opened", "pull_request": {"html_url": "https://github.com/o/config/pull/8"}});
        let ignored = gh("pull_request", &opened).unwrap();
        assert!(ignored.pull_request.is_none() && ignored.ping.is_some(), "only closing wakes anything");
    }

    #[test]
    fn signatures() {
        let body = b"{\"x\": 1}";
        // HMAC-SHA256("s3cret", body), computed with `openssl dgst -sha256 -hmac s3cret`.
        let mac = "325f7f611ce2a8939c43779a1fa900ba75f52ea2f51f41a234594edc1dfb43fe";
        let ok = |kind: &str, pairs: &[(&'static str, &str)]| authenticate(&receiver(kind), &headers(pairs), body);
        assert_eq!(ok("artifactory", &[("x-jfrog-event-auth", mac)]), Ok(()));
        assert_eq!(ok("bitbucket", &[("x-hub-signature", &format!("sha256={mac}"))]), Ok(()));
        assert_eq!(ok("artifactory", &[]), Err("missing signature".into()));
        assert!(ok("bitbucket", &[("x-hub-signature", "sha256=00")]).is_err());
        assert_eq!(ok("azure", &[]), Ok(()), "the path is the secret");
    }
}
