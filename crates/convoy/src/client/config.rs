//! The client configuration file (`$XDG_CONFIG_HOME/convoy/config.yaml`) and the resolved
//! settings of one invocation.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cli::GlobalArgs;

pub const DEFAULT_SERVER: &str = "http://127.0.0.1:7070";

/// What `convoy login` writes: the server to use by default, and one token per server, so a
/// token saved for one server is never sent to another (`--server` elsewhere, or a typo).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Tokens by server URL.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub tokens: std::collections::BTreeMap<String, String>,
    /// The token of `server`, as versions before 0.2 wrote it; read, never written.
    #[serde(default, skip_serializing)]
    pub token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// How to verify each https server, by server URL.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub tls: std::collections::BTreeMap<String, ServerTls>,
}

/// How one server's certificate is verified (kubeconfig's `certificate-authority` and
/// `insecure-skip-tls-verify`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServerTls {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_authority: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure_skip_tls_verify: bool,
}

impl ConfigFile {
    /// The saved token for `server`, and only for it.
    pub fn token_for(&self, server: &str) -> Option<String> {
        let server = normalize_server(server);
        if let Some(token) = self.tokens.get(&server) {
            return Some(token.clone());
        }
        let saved_for = normalize_server(self.server.as_deref().unwrap_or(DEFAULT_SERVER));
        self.token.clone().filter(|_| saved_for == server)
    }

    /// Saves `token` and how to verify `server`, and makes it the default server.
    pub fn save_login(&mut self, server: &str, token: String, tls: ServerTls) {
        let server = normalize_server(server);
        if tls == ServerTls::default() {
            self.tls.remove(&server);
        } else {
            self.tls.insert(server.clone(), tls);
        }
        if let Some(legacy) = self.token.take() {
            let saved_for = normalize_server(self.server.as_deref().unwrap_or(DEFAULT_SERVER));
            self.tokens.entry(saved_for).or_insert(legacy);
        }
        self.tokens.insert(server.clone(), token);
        self.server = Some(server);
    }
}

/// A server URL as tokens are filed under: no trailing `/`, scheme and host lower-cased.
pub fn normalize_server(server: &str) -> String {
    let trimmed = server.trim().trim_end_matches('/');
    match trimmed.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
            let path = if path.is_empty() { String::new() } else { format!("/{path}") };
            format!("{}://{}{path}", scheme.to_ascii_lowercase(), authority.to_ascii_lowercase())
        }
        None => trimmed.to_owned(),
    }
}

/// The settings one command runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub server: String,
    pub token: Option<String>,
    pub project: Option<String>,
    pub config_path: PathBuf,
    pub tls: ServerTls,
}

pub fn default_config_path() -> PathBuf {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| home().join(".config"));
    base.join("convoy").join("config.yaml")
}

fn home() -> PathBuf {
    std::env::var_os("HOME").map_or_else(|| PathBuf::from("/"), PathBuf::from)
}

/// The data directory default: `$XDG_DATA_HOME/convoy`, i.e. `~/.local/share/convoy`.
pub fn default_data_dir() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| home().join(".local").join("share"));
    base.join("convoy")
}

pub fn read(path: &Path) -> anyhow::Result<ConfigFile> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_yaml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ConfigFile::default()),
        Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
    }
}

/// Writes the file readable by its owner only (it holds a token).
pub fn write(path: &Path, config: &ConfigFile) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    }
    let text = serde_yaml::to_string(config)?;
    let tmp = path.with_extension("yaml.tmp");
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

impl Settings {
    /// Flag (or its env var, through clap) > config file > default.
    pub fn resolve(global: &GlobalArgs) -> anyhow::Result<Settings> {
        let config_path = global.config.clone().unwrap_or_else(default_config_path);
        let file = read(&config_path)?;
        let server = global
            .server
            .clone()
            .or(file.server.clone())
            .unwrap_or_else(|| DEFAULT_SERVER.to_owned())
            .trim_end_matches('/')
            .to_owned();
        Ok(Settings {
            token: global.token.clone().or_else(|| file.token_for(&server)),
            tls: tls_for(global, &file, &server),
            server,
            project: global.project.clone().or(file.project),
            config_path,
        })
    }
}

/// The flags' TLS settings, else those saved for `server`.
pub fn tls_for(global: &GlobalArgs, file: &ConfigFile, server: &str) -> ServerTls {
    if global.certificate_authority.is_some() || global.insecure_skip_tls_verify {
        return ServerTls {
            certificate_authority: global.certificate_authority.clone(),
            insecure_skip_tls_verify: global.insecure_skip_tls_verify,
        };
    }
    file.tls.get(&normalize_server(server)).cloned().unwrap_or_default()
}

#[cfg(test)]
mod token_tests {
    use super::*;

    #[test]
    fn a_saved_token_goes_only_to_its_server() {
        let mut file = ConfigFile::default();
        file.save_login("http://Convoy.example:7070/", "t1".into(), ServerTls::default());
        assert_eq!(file.token_for("http://convoy.example:7070"), Some("t1".into()));
        assert_eq!(file.token_for("http://evil.example:7070"), None);
        assert_eq!(file.token_for("https://convoy.example:7070"), None);
        file.save_login("http://other:7070", "t2".into(), ServerTls::default());
        assert_eq!(file.token_for("http://convoy.example:7070"), Some("t1".into()));
        assert_eq!(file.server.as_deref(), Some("http://other:7070"));
    }

    #[test]
    fn a_legacy_token_belongs_to_the_legacy_server() {
        let file: ConfigFile = serde_yaml::from_str("server: http://a:7070\ntoken: old\n").unwrap();
        assert_eq!(file.token_for("http://a:7070"), Some("old".into()));
        assert_eq!(file.token_for("http://b:7070"), None);
        let mut file = file;
        file.save_login("http://b:7070", "new".into(), ServerTls::default());
        let text = serde_yaml::to_string(&file).unwrap();
        assert!(!text.contains("\ntoken:") && text.contains("http://a:7070: old"), "{text}");
    }
}
