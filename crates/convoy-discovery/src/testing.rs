//! Test support: a real registry on loopback and a pusher speaking the distribution API, for
//! this crate's tests and the end-to-end tests of the `convoy` binary (feature `testing`).

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A running `docker-registry`, stopped when dropped.
pub struct Registry {
    child: Child,
    pub address: String,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A registry on a free loopback port; with `user`, behind htpasswd Basic auth.
pub fn start_registry(dir: &Path, user: Option<(&str, &str)>) -> Option<Registry> {
    if Command::new("docker-registry").arg("--version").output().is_err() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "docker-registry is required in CI (scripts/test.sh installs it)"
        );
        eprintln!("skipping: docker-registry is not installed");
        return None;
    }
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut config = format!(
        "version: 0.1\nlog: {{level: warn}}\nstorage: {{filesystem: {{rootdirectory: {}}}}}\nhttp: {{addr: \"127.0.0.1:{port}\"}}\n",
        dir.join("data").display()
    );
    if let Some((name, password)) = user {
        let out = Command::new("htpasswd").args(["-Bbn", name, password]).output().expect("htpasswd (apache2-utils)");
        std::fs::write(dir.join("htpasswd"), out.stdout).unwrap();
        config.push_str(&format!("auth: {{htpasswd: {{realm: test, path: {}}}}}\n", dir.join("htpasswd").display()));
    }
    std::fs::write(dir.join("config.yml"), config).unwrap();
    let child = Command::new("docker-registry")
        .arg("serve")
        .arg(dir.join("config.yml"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "registry did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(Registry { child, address: format!("127.0.0.1:{port}") })
}

pub fn sha(bytes: &[u8]) -> String {
    format!("sha256:{}", Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// Pushes with the distribution API (blob upload, then manifest PUT); returns the manifest's digest.
pub struct Pusher {
    pub client: reqwest::Client,
    pub base: String,
    pub auth: Option<(String, String)>,
}

impl Pusher {
    fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        let request = self.client.request(method, url);
        match &self.auth {
            Some((u, p)) => request.basic_auth(u, Some(p)),
            None => request,
        }
    }

    pub async fn blob(&self, repo: &str, bytes: &[u8]) -> String {
        let digest = sha(bytes);
        let start = self
            .request(reqwest::Method::POST, &format!("{}/v2/{repo}/blobs/uploads/", self.base))
            .send()
            .await
            .unwrap();
        assert!(start.status().is_success(), "upload start: {}", start.status());
        let location = start.headers()["location"].to_str().unwrap().to_owned();
        let location = if location.starts_with("http") { location } else { format!("{}{location}", self.base) };
        let separator = if location.contains('?') { '&' } else { '?' };
        let put = self
            .request(reqwest::Method::PUT, &format!("{location}{separator}digest={digest}"))
            .header("content-type", "application/octet-stream")
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap();
        assert!(put.status().is_success(), "blob put: {}", put.status());
        digest
    }

    pub async fn manifest(&self, repo: &str, reference: &str, media_type: &str, manifest: &Value) -> String {
        let body = serde_json::to_vec(manifest).unwrap();
        let put = self
            .request(reqwest::Method::PUT, &format!("{}/v2/{repo}/manifests/{reference}", self.base))
            .header("content-type", media_type)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert!(put.status().is_success(), "manifest put: {} {}", put.status(), put.text().await.unwrap_or_default());
        sha(&body)
    }

    /// A one-layer image for a platform with a build time; returns (digest, manifest size).
    pub async fn image(&self, repo: &str, tag: &str, arch: &str, created: &str) -> (String, usize) {
        let config = json!({"architecture": arch, "os": "linux", "created": created, "config": {"Labels": {"org.opencontainers.image.created": created}}, "rootfs": {"type": "layers", "diff_ids": []}});
        let config = serde_json::to_vec(&config).unwrap();
        let layer = format!("{repo}:{tag}:{arch}").into_bytes();
        let config_digest = self.blob(repo, &config).await;
        let layer_digest = self.blob(repo, &layer).await;
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": layer.len()}],
            "annotations": {"org.opencontainers.image.source": "https://example.com/app"}
        });
        let size = serde_json::to_vec(&manifest).unwrap().len();
        (self.manifest(repo, tag, "application/vnd.oci.image.manifest.v1+json", &manifest).await, size)
    }
}
