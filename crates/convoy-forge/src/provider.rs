//! Which forge a repository URL is on, and where its API is.

use std::fmt;

/// A forge Convoy speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    GitHub,
    GitLab,
    Gitea,
    Azure,
    Bitbucket,
}

impl Provider {
    /// The names a step's `provider` takes (Kargo's enum).
    pub const NAMES: [&'static str; 5] = ["github", "gitlab", "gitea", "azure", "bitbucket"];

    pub fn name(self) -> &'static str {
        match self {
            Provider::GitHub => "github",
            Provider::GitLab => "gitlab",
            Provider::Gitea => "gitea",
            Provider::Azure => "azure",
            Provider::Bitbucket => "bitbucket",
        }
    }

    pub fn parse(name: &str) -> Result<Provider, String> {
        let all = [Provider::GitHub, Provider::GitLab, Provider::Gitea, Provider::Azure, Provider::Bitbucket];
        all.into_iter().find(|p| p.name() == name).ok_or_else(|| {
            format!("no registered providers with name {name:?}; use one of {}", Provider::NAMES.join(", "))
        })
    }

    /// Kargo's host predicates, tried in a fixed order (Kargo's map order is random when two
    /// match): GitHub, GitLab, Gitea, Azure DevOps, Bitbucket.
    fn matches(self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        let name = host.split(':').next().unwrap_or("");
        match self {
            Provider::GitHub => host.contains("github") || name.ends_with(".ghe.com"),
            Provider::GitLab => host.contains("gitlab"),
            Provider::Gitea => host.contains("gitea"),
            Provider::Azure => name == "dev.azure.com" || name.ends_with("visualstudio.com"),
            Provider::Bitbucket => name == "bitbucket.org",
        }
    }

    /// The provider named, else the one the URL's host says.
    pub fn for_url(url: &str, named: Option<&str>) -> Result<Provider, String> {
        if let Some(name) = named.filter(|n| !n.is_empty()) {
            return Provider::parse(name);
        }
        let parts = Parts::of(url)?;
        [Provider::GitHub, Provider::GitLab, Provider::Gitea, Provider::Azure, Provider::Bitbucket]
            .into_iter()
            .find(|p| p.matches(&parts.host))
            .ok_or_else(|| {
                format!(
                    "no registered providers for {url}: the host {:?} names no forge; set provider: {}",
                    parts.host,
                    Provider::NAMES.join("|")
                )
            })
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A URL taken apart: scheme (http or https), host (with port), path segments, case kept.
struct Parts {
    scheme: &'static str,
    host: String,
    segments: Vec<String>,
}

impl Parts {
    fn of(url: &str) -> Result<Parts, String> {
        let url = url.trim();
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(format!(
                "{url:?} is not a URL with a scheme (git@host:org/repo forms cannot name a forge's API; use https://)"
            ));
        };
        let scheme = if scheme.eq_ignore_ascii_case("http") { "http" } else { "https" };
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        // User info never reaches an API URL.
        let host = authority.rsplit('@').next().unwrap_or("").to_owned();
        if host.is_empty() || host.contains(['/', '?', '#', ' ']) {
            return Err(format!("{url:?} has no host"));
        }
        let path = path.split(['?', '#']).next().unwrap_or("");
        let mut segments: Vec<String> = path.split('/').filter(|s| !s.is_empty()).map(str::to_owned).collect();
        if let Some(last) = segments.last_mut()
            && let Some(stripped) = last.strip_suffix(".git")
        {
            *last = stripped.to_owned();
        }
        if segments.iter().any(|s| s == "." || s == "..") {
            return Err(format!("{url:?}: a repository path has no . or .. segments"));
        }
        Ok(Parts { scheme, host, segments })
    }
}

/// Where a repository's API is, and how the forge names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    pub provider: Provider,
    /// The API's root, without a trailing `/` (`https://api.github.com`,
    /// `https://ghe.example.com/api/v3`, `https://gitlab.example.com/api/v4`, ...).
    pub api: String,
    /// The web root (`https://github.com`), for PR links.
    pub web: String,
    /// GitHub, Gitea: owner; Bitbucket: workspace; Azure: organization; GitLab: the whole
    /// namespace path (`group/sub`).
    pub owner: String,
    /// The repository (GitLab: the project's last segment; Azure: the repository in `project`).
    pub name: String,
    /// Azure DevOps: the project.
    pub project: Option<String>,
    /// Bitbucket Data Center (self-hosted; `owner` is the project key), not Bitbucket Cloud.
    pub data_center: bool,
}

impl Repository {
    /// The repository of `url` on `provider`, with Kargo's path rules (the original case kept).
    pub fn of(url: &str, provider: Provider) -> Result<Repository, String> {
        let parts = Parts::of(url)?;
        let (scheme, host) = (parts.scheme, parts.host.as_str());
        let lower = host.to_ascii_lowercase();
        let segments = &parts.segments;
        let two = || -> Result<(String, String), String> {
            match segments.as_slice() {
                [owner, name] => Ok((owner.clone(), name.clone())),
                _ => Err(format!("could not extract repository owner and name from URL {url:?}: expected /OWNER/REPO")),
            }
        };
        let web = format!("{scheme}://{host}");
        Ok(match provider {
            Provider::GitHub => {
                let (owner, name) = two()?;
                let api = if lower == "github.com" || lower == "www.github.com" {
                    "https://api.github.com".to_owned()
                } else if lower.ends_with(".ghe.com") {
                    // GitHub Enterprise Cloud with data residency: api.TENANT.ghe.com.
                    format!("https://api.{lower}")
                } else if lower.starts_with("api.") || lower.contains(".api.") {
                    format!("{scheme}://{host}")
                } else {
                    format!("{scheme}://{host}/api/v3")
                };
                Repository { provider, api, web, owner, name, project: None, data_center: false }
            }
            Provider::GitLab => {
                let [namespace @ .., name] = segments.as_slice() else {
                    return Err(format!("could not extract the project path from URL {url:?}"));
                };
                if namespace.is_empty() {
                    return Err(format!(
                        "could not extract the project path from URL {url:?}: expected /GROUP/PROJECT"
                    ));
                }
                let api = format!("{scheme}://{host}/api/v4");
                Repository {
                    provider,
                    api,
                    web,
                    owner: namespace.join("/"),
                    name: name.clone(),
                    project: None,
                    data_center: false,
                }
            }
            Provider::Gitea => {
                let (owner, name) = two()?;
                Repository {
                    provider,
                    api: format!("{scheme}://{host}/api/v1"),
                    web,
                    owner,
                    name,
                    project: None,
                    data_center: false,
                }
            }
            Provider::Bitbucket if lower != "bitbucket.org" => {
                // Data Center: https://host[/context]/scm/PROJECT/repo.git.
                let Some(scm) = segments.iter().position(|s| s == "scm") else {
                    return Err(format!(
                        "{url:?} is neither on bitbucket.org nor a Bitbucket Data Center clone URL (…/scm/PROJECT/REPO.git)"
                    ));
                };
                let (context, rest) = segments.split_at(scm);
                let [_, project, name] = rest else {
                    return Err(format!(
                        "could not extract the project and repository from URL {url:?}: expected …/scm/PROJECT/REPO.git"
                    ));
                };
                let root = std::iter::once(format!("{scheme}://{host}"))
                    .chain(context.iter().cloned())
                    .collect::<Vec<_>>()
                    .join("/");
                Repository {
                    provider,
                    api: format!("{root}/rest/api/latest"),
                    web: root,
                    owner: project.clone(),
                    name: name.clone(),
                    project: None,
                    data_center: true,
                }
            }
            Provider::Bitbucket => {
                let (owner, name) = two()?;
                let api = "https://api.bitbucket.org/2.0".to_owned();
                Repository {
                    provider,
                    api,
                    web: "https://bitbucket.org".into(),
                    owner,
                    name,
                    project: None,
                    data_center: false,
                }
            }
            Provider::Azure => {
                let name_only = lower.split(':').next().unwrap_or("");
                let (organization, rest) = if name_only == "dev.azure.com" {
                    match segments.split_first() {
                        Some((org, rest)) => (org.clone(), rest),
                        None => return Err(format!("could not extract the organization from URL {url:?}")),
                    }
                } else if let Some(org) = name_only.strip_suffix(".visualstudio.com") {
                    (org.to_owned(), segments.as_slice())
                } else {
                    // Azure DevOps Server: https://server/COLLECTION/PROJECT/_git/REPO.
                    match segments.split_first() {
                        Some((collection, rest)) if rest.len() == 3 => {
                            return Azure::server(url, scheme, host, collection, rest);
                        }
                        _ => {
                            return Err(format!(
                                "could not extract the repository from URL {url:?}: expected https://SERVER/COLLECTION/PROJECT/_git/REPO"
                            ));
                        }
                    }
                };
                let [project, git, repository] = rest else {
                    return Err(format!(
                        "could not extract the repository from URL {url:?}: expected https://dev.azure.com/ORG/PROJECT/_git/REPO"
                    ));
                };
                if git != "_git" {
                    return Err(format!(
                        "could not extract the repository from URL {url:?}: expected …/PROJECT/_git/REPO"
                    ));
                }
                Repository {
                    provider,
                    api: format!("https://dev.azure.com/{organization}"),
                    web: format!("https://dev.azure.com/{organization}"),
                    owner: organization,
                    name: repository.clone(),
                    project: Some(project.clone()),
                    data_center: false,
                }
            }
        })
    }
}

/// Azure DevOps Server's coordinates (its API is under the collection).
struct Azure;

impl Azure {
    fn server(url: &str, scheme: &str, host: &str, collection: &str, rest: &[String]) -> Result<Repository, String> {
        let [project, git, repository] = rest else { unreachable!("three segments checked by the caller") };
        if git != "_git" {
            return Err(format!("could not extract the repository from URL {url:?}: expected …/PROJECT/_git/REPO"));
        }
        let root = format!("{scheme}://{host}/{collection}");
        Ok(Repository {
            provider: Provider::Azure,
            api: root.clone(),
            web: root,
            owner: collection.to_owned(),
            name: repository.clone(),
            project: Some(project.clone()),
            data_center: false,
        })
    }
}

/// API roots set by the operator for hosts whose API is not where Convoy would look (a proxy,
/// a gateway, a test double): `host=url` pairs, from `CONVOY_FORGE_API_URLS`
/// (`bitbucket.org=https://bitbucket-proxy.internal/2.0,...`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiOverrides(Vec<(String, String)>);

impl ApiOverrides {
    pub const VARIABLE: &'static str = "CONVOY_FORGE_API_URLS";

    pub fn parse(text: &str) -> Result<ApiOverrides, String> {
        let mut pairs = Vec::new();
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let Some((host, url)) = item.split_once('=') else {
                return Err(format!("{}: {item:?} is not host=url", ApiOverrides::VARIABLE));
            };
            let url = url.trim().trim_end_matches('/');
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(format!(
                    "{}: the API URL for {host} must start with https:// or http://",
                    ApiOverrides::VARIABLE
                ));
            }
            pairs.push((host.trim().to_ascii_lowercase(), url.to_owned()));
        }
        Ok(ApiOverrides(pairs))
    }

    /// From the environment; unset is none.
    pub fn from_env() -> Result<ApiOverrides, String> {
        std::env::var(ApiOverrides::VARIABLE).map_or(Ok(ApiOverrides::default()), |v| ApiOverrides::parse(&v))
    }

    /// The repository of `url` on `provider`, at the API root an override gives its host.
    /// A host with an override is also taken as the forge's own where Convoy would otherwise
    /// refuse it (Bitbucket's API on a host other than bitbucket.org).
    pub fn repository(&self, url: &str, provider: Provider) -> Result<Repository, String> {
        match Repository::of(url, provider) {
            Ok(repository) => Ok(self.apply(repository)),
            Err(refused) => {
                let parts = Parts::of(url)?;
                let api = self.0.iter().find(|(h, _)| h.eq_ignore_ascii_case(&parts.host)).map(|(_, api)| api.clone());
                match (provider, api, parts.segments.as_slice()) {
                    (Provider::Bitbucket, Some(api), [owner, name]) => Ok(Repository {
                        provider,
                        api,
                        web: format!("{}://{}", parts.scheme, parts.host),
                        owner: owner.clone(),
                        name: name.clone(),
                        project: None,
                        data_center: false,
                    }),
                    _ => Err(refused),
                }
            }
        }
    }

    /// `repository` with its API root replaced when its web host has an override.
    pub fn apply(&self, mut repository: Repository) -> Repository {
        let host = repository.web.split_once("://").map_or("", |(_, rest)| rest.split('/').next().unwrap_or(""));
        if let Some((_, url)) = self.0.iter().find(|(h, _)| h.eq_ignore_ascii_case(host)) {
            repository.api = url.clone();
        }
        repository
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_names_the_forge_in_a_fixed_order() {
        let cases = [
            ("https://github.com/akuity/kargo", Provider::GitHub),
            ("https://github.example.com/o/r.git", Provider::GitHub),
            ("https://acme.ghe.com/o/r", Provider::GitHub),
            ("https://gitlab.com/group/sub/project", Provider::GitLab),
            ("https://gitea.example.com/o/r", Provider::Gitea),
            ("https://dev.azure.com/org/proj/_git/repo", Provider::Azure),
            ("https://org.visualstudio.com/proj/_git/repo", Provider::Azure),
            ("https://bitbucket.org/ws/repo", Provider::Bitbucket),
            // Both predicates match: GitHub is tried first, every time.
            ("https://gitlab.github.example/o/r", Provider::GitHub),
        ];
        for (url, expected) in cases {
            assert_eq!(Provider::for_url(url, None), Ok(expected), "{url}");
        }
        let unknown = Provider::for_url("https://codeberg.org/o/r", None).unwrap_err();
        assert!(unknown.contains("no registered providers for") && unknown.contains("provider:"), "{unknown}");
        assert_eq!(Provider::for_url("https://codeberg.org/o/r", Some("gitea")), Ok(Provider::Gitea));
        assert!(
            Provider::for_url("https://x/o/r", Some("gitee"))
                .unwrap_err()
                .contains("no registered providers with name")
        );
        assert!(Provider::for_url("git@github.com:o/r.git", None).unwrap_err().contains("use https://"));
    }

    #[test]
    fn api_coordinates_per_forge() {
        let github = Repository::of("https://user:pw@github.com/Akuity/Kargo.git", Provider::GitHub).unwrap();
        assert_eq!(
            (github.api.as_str(), github.owner.as_str(), github.name.as_str()),
            ("https://api.github.com", "Akuity", "Kargo")
        );
        let ghes = Repository::of("https://ghe.example.com:8443/o/r", Provider::GitHub).unwrap();
        assert_eq!(ghes.api, "https://ghe.example.com:8443/api/v3");
        let tenant = Repository::of("https://acme.ghe.com/o/r", Provider::GitHub).unwrap();
        assert_eq!(tenant.api, "https://api.acme.ghe.com");
        assert!(
            Repository::of("https://github.com/only-owner", Provider::GitHub).unwrap_err().contains("owner and name")
        );
        let gitlab = Repository::of("https://gitlab.example.com/group/sub/proj.git", Provider::GitLab).unwrap();
        assert_eq!(
            (gitlab.api.as_str(), gitlab.owner.as_str(), gitlab.name.as_str()),
            ("https://gitlab.example.com/api/v4", "group/sub", "proj")
        );
        let gitea = Repository::of("http://gitea.local:3000/o/r", Provider::Gitea).unwrap();
        assert_eq!(gitea.api, "http://gitea.local:3000/api/v1");
        let azure = Repository::of("https://dev.azure.com/org/proj/_git/repo", Provider::Azure).unwrap();
        assert_eq!(
            (azure.api.as_str(), azure.project.as_deref(), azure.name.as_str()),
            ("https://dev.azure.com/org", Some("proj"), "repo")
        );
        let legacy = Repository::of("https://org.visualstudio.com/proj/_git/repo", Provider::Azure).unwrap();
        assert_eq!(legacy.api, "https://dev.azure.com/org");
        assert!(Repository::of("https://dev.azure.com/org/proj/repo", Provider::Azure).is_err());
        let server =
            Repository::of("https://tfs.example.com/DefaultCollection/proj/_git/repo", Provider::Azure).unwrap();
        assert_eq!(
            (server.api.as_str(), server.project.as_deref(), server.name.as_str()),
            ("https://tfs.example.com/DefaultCollection", Some("proj"), "repo")
        );
        let bitbucket = Repository::of("https://bitbucket.org/ws/repo", Provider::Bitbucket).unwrap();
        assert_eq!(bitbucket.api, "https://api.bitbucket.org/2.0");
        // A self-hosted URL never sends its token to bitbucket.org: Data Center, by its clone URL.
        assert!(
            Repository::of("https://git.example.com/ws/repo", Provider::Bitbucket).unwrap_err().contains("Data Center")
        );
        let center =
            Repository::of("https://git.example.com/bitbucket/scm/OPS/config.git", Provider::Bitbucket).unwrap();
        assert_eq!(
            (center.api.as_str(), center.web.as_str(), center.owner.as_str(), center.name.as_str(), center.data_center),
            (
                "https://git.example.com/bitbucket/rest/api/latest",
                "https://git.example.com/bitbucket",
                "OPS",
                "config",
                true
            )
        );
        assert!(Repository::of("https://github.com/o/../r", Provider::GitHub).is_err());
    }

    #[test]
    fn operators_can_point_a_host_at_another_api_root() {
        let overrides =
            ApiOverrides::parse("bitbucket.org=http://127.0.0.1:9/2.0/, Git.Example.com=https://proxy/api/v4").unwrap();
        let bitbucket = Repository::of("https://bitbucket.org/ws/repo", Provider::Bitbucket).unwrap();
        assert_eq!(overrides.apply(bitbucket).api, "http://127.0.0.1:9/2.0");
        let gitlab = Repository::of("https://git.example.com/g/p", Provider::GitLab).unwrap();
        assert_eq!(overrides.apply(gitlab).api, "https://proxy/api/v4");
        let github = Repository::of("https://github.com/o/r", Provider::GitHub).unwrap();
        assert_eq!(overrides.apply(github).api, "https://api.github.com", "other hosts untouched");
        assert!(ApiOverrides::parse("bitbucket.org").unwrap_err().contains("host=url"));
        // A Bitbucket API elsewhere only where the operator said so.
        let elsewhere = ApiOverrides::parse("git.local:8080=http://git.local:8080/2.0").unwrap();
        let repo = elsewhere.repository("http://git.local:8080/ws/app.git", Provider::Bitbucket).unwrap();
        assert_eq!(
            (repo.api.as_str(), repo.owner.as_str(), repo.name.as_str()),
            ("http://git.local:8080/2.0", "ws", "app")
        );
        assert!(ApiOverrides::default().repository("http://git.local:8080/ws/app.git", Provider::Bitbucket).is_err());
        assert!(ApiOverrides::parse("bitbucket.org=file:///etc").unwrap_err().contains("https://"));
    }
}
