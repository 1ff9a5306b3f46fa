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
        // Gitea also sends `closed` when a PR is merged.
        "gitea" if kind_header == "pull_request" => closed_pull_request(&text, &["closed"], "/pull_request/html_url")?,
        "gitea" => push(&text, REPOSITORY_URLS),
        "gitlab" if kind_header == "Merge Request Hook" => {
            closed_pull_request(&text, &["close", "merge"], "/object_attributes/url")?
        }
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

/// A pull-request event: when its action is one of `acted` (the forge's words for closed and
/// merged), the PR's URL at `url_field` (the waiting step reads from the forge's API which it
/// was); any other action is acknowledged and ignored.
fn closed_pull_request(
    text: &dyn Fn(&str) -> Option<String>,
    acted: &[&str],
    url_field: &str,
) -> Result<Event, Refusal> {
    let action = text("/action").or_else(|| text("/object_attributes/action")).unwrap_or_default();
    match (acted.contains(&action.as_str()), text(url_field)) {
        (true, Some(url)) => Ok(Event { pull_request: Some(url), ..Event::default() }),
        (true, None) => Err(refuse(StatusCode::BAD_REQUEST, "invalid request body")),
        (false, _) => Ok(Event { ping: Some("pull request event ignored".into()), ..Event::default() }),
    }
}

/// GitHub: pushes, closed pull requests, and container images published to GitHub Packages.
fn github(event_type: &str, text: &dyn Fn(&str) -> Option<String>) -> Result<Event, Refusal> {
    match event_type {
        "push" => Ok(push(text, REPOSITORY_URLS)),
        // Merged and closed both arrive as `closed`.
        "pull_request" => closed_pull_request(text, &["closed"], "/pull_request/html_url"),
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
        // Merged (fulfilled) or declined (rejected): Cloud, then Data Center.
        "pullrequest:fulfilled" | "pullrequest:rejected" => pull_request_at(text, "/pullrequest/links/html/href"),
        "pr:merged" | "pr:declined" => pull_request_at(text, "/pullRequest/links/self/0/href"),
        other => Err(refuse(StatusCode::BAD_REQUEST, format!("event type {other} is not supported"))),
    }
}

/// The pull request at `url_field` of an event that always means closed or merged.
fn pull_request_at(text: &dyn Fn(&str) -> Option<String>, url_field: &str) -> Result<Event, Refusal> {
    let url = text(url_field).ok_or_else(|| refuse(StatusCode::BAD_REQUEST, "invalid request body"))?;
    Ok(Event { pull_request: Some(url), ..Event::default() })
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
            // "Merge attempted" (also on conflicts) and abandoned PRs: the step reads which.
            Some("git.pullrequest.merged") => pull_request_at(text, "/resource/_links/web/href"),
            Some("git.pullrequest.updated") if text("/resource/status").as_deref() == Some("abandoned") => {
                pull_request_at(text, "/resource/_links/web/href")
            }
            Some("git.pullrequest.updated" | "git.pullrequest.created") => {
                Ok(Event { ping: Some("pull request event ignored".into()), ..Event::default() })
            }
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
    fn closed_and_merged_pull_requests_on_every_forge() {
        let url = |event: Result<Event, Refusal>| event.unwrap().pull_request;
        let gitlab = |action: &str| {
            let body = json!({"object_kind": "merge_request", "object_attributes": {"action": action, "url": "https://gitlab.com/g/p/-/merge_requests/3"}});
            super::event(
                &receiver("gitlab"),
                &headers(&[("x-gitlab-event", "Merge Request Hook")]),
                body.to_string().as_bytes(),
            )
        };
        assert_eq!(url(gitlab("merge")).as_deref(), Some("https://gitlab.com/g/p/-/merge_requests/3"));
        assert_eq!(url(gitlab("close")).as_deref(), Some("https://gitlab.com/g/p/-/merge_requests/3"));
        assert_eq!(url(gitlab("update")), None, "an update wakes nothing");
        let gitea = |action: &str| {
            let body = json!({"action": action, "pull_request": {"html_url": "https://gitea.example/o/r/pulls/4", "merged": true}});
            super::event(
                &receiver("gitea"),
                &headers(&[("x-gitea-event", "pull_request")]),
                body.to_string().as_bytes(),
            )
        };
        assert_eq!(url(gitea("closed")).as_deref(), Some("https://gitea.example/o/r/pulls/4"));
        assert_eq!(url(gitea("opened")), None);
        let bitbucket = |key: &str, body: Value| {
            super::event(&receiver("bitbucket"), &headers(&[("x-event-key", key)]), body.to_string().as_bytes())
        };
        let cloud = json!({"pullrequest": {"id": 5, "links": {"html": {"href": "https://bitbucket.org/ws/r/pull-requests/5"}}}});
        assert_eq!(
            url(bitbucket("pullrequest:fulfilled", cloud.clone())).as_deref(),
            Some("https://bitbucket.org/ws/r/pull-requests/5")
        );
        assert!(url(bitbucket("pullrequest:rejected", cloud.clone())).is_some());
        // As Kargo: other pull-request keys are not events it reads.
        assert_eq!(bitbucket("pullrequest:updated", cloud).unwrap_err().0, StatusCode::BAD_REQUEST);
        let center = json!({"pullRequest": {"id": 6, "links": {"self": [{"href": "https://git.example.com/projects/P/repos/r/pull-requests/6"}]}}});
        assert_eq!(
            url(bitbucket("pr:merged", center.clone())).as_deref(),
            Some("https://git.example.com/projects/P/repos/r/pull-requests/6")
        );
        assert!(url(bitbucket("pr:declined", center)).is_some());
        assert_eq!(bitbucket("pr:merged", json!({})).unwrap_err().0, StatusCode::BAD_REQUEST);
        let azure = |event_type: &str, status: &str| {
            let body = json!({"eventType": event_type, "resource": {"status": status, "_links": {"web": {"href": "https://dev.azure.com/o/p/_git/r/pullrequest/7"}}}});
            super::event(
                &receiver("azure"),
                &headers(&[("user-agent", "VSServices/16.255")]),
                body.to_string().as_bytes(),
            )
        };
        assert_eq!(
            url(azure("git.pullrequest.merged", "completed")).as_deref(),
            Some("https://dev.azure.com/o/p/_git/r/pullrequest/7")
        );
        assert!(url(azure("git.pullrequest.updated", "abandoned")).is_some());
        assert_eq!(url(azure("git.pullrequest.updated", "active")), None, "a vote or a push wakes nothing");
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
