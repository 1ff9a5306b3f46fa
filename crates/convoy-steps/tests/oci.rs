//! `oci-download` and `oci-push` against a real `docker-registry` behind Basic auth: layers of
//! images and indexes, retags that keep the digest, annotations that change it, credentials
//! from the project's `image` Secrets.

mod common;

use std::sync::Arc;

use common::Now;
use convoy_api::PromotionStep;
use convoy_discovery::testing::{Pusher, sha, start_registry};
use convoy_engine::{
    NoJournal, Orchestrator, Outcome, Phase, Progress, PromotionContext, RepoCredentials, ResourceError, Resources,
};
use convoy_git::Mirrors;
use serde_json::{Map, Value, json};

/// The project's image credentials: alice's, for the test registry only.
struct RegistryLogin(String);

#[async_trait::async_trait]
impl Resources for RegistryLogin {
    async fn set_freight_alias(&self, _: &str, _: &str, _: &str) -> Result<(), ResourceError> {
        unreachable!()
    }
    async fn set_metadata(
        &self,
        _: &str,
        _: convoy_api::Kind,
        _: &str,
        _: &Map<String, Value>,
    ) -> Result<(), ResourceError> {
        unreachable!()
    }
    async fn source_credentials(
        &self,
        _: &str,
        kind: &str,
        url: &str,
    ) -> Result<Option<RepoCredentials>, ResourceError> {
        Ok((kind == "image" && url.starts_with(&self.0))
            .then(|| RepoCredentials { username: "alice".into(), password: "s3cret".into() }))
    }
}

async fn run(registry: &convoy_engine::Registry, work: &std::path::Path, plan: Value) -> Progress {
    let plan: Vec<PromotionStep> = serde_json::from_value(plan).unwrap();
    let orchestrator = Orchestrator { registry, data: &convoy_expr::NoData, clock: &Now };
    let context = PromotionContext { work_dir: work.to_owned(), ..PromotionContext::default() };
    let mut progress = Progress::default();
    let outcome = orchestrator.run(&context, &plan, &mut progress, &mut NoJournal).await;
    assert_eq!(outcome, Outcome::Finished { phase: Phase::Succeeded }, "{:#?}", progress.step_execution_metadata);
    progress
}

/// The digest the registry reports for a manifest.
async fn stored_digest(pusher: &Pusher, repo: &str, reference: &str) -> (String, Value) {
    let response = pusher
        .client
        .get(format!("{}/v2/{repo}/manifests/{reference}", pusher.base))
        .basic_auth("alice", Some("s3cret"))
        .header("accept", convoy_discovery::registry::MANIFEST_TYPES)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{repo}:{reference}: {}", response.status());
    let digest = response.headers()["docker-content-digest"].to_str().unwrap().to_owned();
    (digest, response.json().await.unwrap())
}

#[tokio::test]
async fn download_and_push_images_and_indexes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("registry")).unwrap();
    let Some(registry) = start_registry(&dir.path().join("registry"), Some(("alice", "s3cret"))) else { return };
    let pusher = Pusher {
        client: reqwest::Client::new(),
        base: format!("http://{}", registry.address),
        auth: Some(("alice".into(), "s3cret".into())),
    };
    let (image_digest, _) = pusher.image("team/app", "1.0.0", "amd64", "2024-01-01T00:00:00Z").await;
    // A two-platform index of the same repository.
    let (amd, amd_size) = pusher.image("team/multi", "amd", "amd64", "2024-01-01T00:00:00Z").await;
    let (arm, arm_size) = pusher.image("team/multi", "arm", "arm64", "2024-01-01T00:00:00Z").await;
    let index = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": arm, "size": arm_size, "platform": {"os": "linux", "architecture": "arm64"}},
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": amd, "size": amd_size, "platform": {"os": "linux", "architecture": "amd64"}}]});
    let index_digest = pusher.manifest("team/multi", "2.0.0", "application/vnd.oci.image.index.v1+json", &index).await;

    let host = registry.address.clone();
    let steps =
        convoy_steps::builtin(Arc::new(Mirrors::new(dir.path().join("m"))), Arc::new(RegistryLogin(host.clone())));
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let progress = run(
        &steps,
        &work,
        json!([
            {"uses": "oci-download", "as": "single", "config": {"imageRef": format!("{host}/team/app:1.0.0"), "outPath": "./out/app.layer"}},
            {"uses": "oci-download", "as": "index", "config": {"imageRef": format!("{host}/team/multi:2.0.0"), "outPath": "./out/multi.layer",
                "mediaType": "application/vnd.oci.image.layer.v1.tar"}},
            {"uses": "oci-push", "as": "retag", "config": {"imageRef": format!("{host}/team/app:1.0.0"), "destRef": format!("{host}/prod/app:1.0.0")}},
            {"uses": "oci-push", "as": "annotated", "config": {"imageRef": format!("{host}/team/app@{image_digest}"), "destRef": format!("{host}/prod/app:stamped"),
                "annotations": {"org.example.promoted-to": "prod"}}},
            {"uses": "oci-push", "as": "multi", "config": {"imageRef": format!("{host}/team/multi:2.0.0"), "destRef": format!("{host}/prod/multi:2.0.0")}}
        ]),
    )
    .await;
    // The layers Pusher::image writes are "<repo>:<tag>:<arch>"; the index gives amd64's.
    assert_eq!(std::fs::read_to_string(work.join("out/app.layer")).unwrap(), "team/app:1.0.0:amd64");
    assert_eq!(std::fs::read_to_string(work.join("out/multi.layer")).unwrap(), "team/multi:amd:amd64");

    // A retag keeps the digest, in the destination repository (blobs were mounted across).
    assert_eq!(
        progress.state["retag"],
        json!({"image": format!("{host}/prod/app:1.0.0"), "digest": image_digest, "tag": "1.0.0"})
    );
    assert_eq!(stored_digest(&pusher, "prod/app", "1.0.0").await.0, image_digest);
    // Annotations make a new manifest, whose digest the output reports.
    let (digest, manifest) = stored_digest(&pusher, "prod/app", "stamped").await;
    assert_eq!(progress.state["annotated"]["digest"], json!(digest));
    assert_ne!(digest, image_digest);
    assert_eq!(manifest["annotations"]["org.example.promoted-to"], "prod");
    assert_eq!(manifest["annotations"]["org.opencontainers.image.source"], "https://example.com/app", "kept");
    assert_eq!(sha(serde_json::to_vec(&manifest).unwrap().as_slice()), digest, "compact JSON, as pushed");
    // An index arrives whole: same digest, and its platform images resolve.
    assert_eq!(stored_digest(&pusher, "prod/multi", "2.0.0").await.0, index_digest);
    assert_eq!(stored_digest(&pusher, "prod/multi", &arm).await.0, arm);
}

#[tokio::test]
async fn refusals_say_why() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("registry")).unwrap();
    let Some(registry) = start_registry(&dir.path().join("registry"), Some(("alice", "s3cret"))) else { return };
    let host = registry.address.clone();
    let steps =
        convoy_steps::builtin(Arc::new(Mirrors::new(dir.path().join("m"))), Arc::new(convoy_engine::NoResources));
    let plan: Vec<PromotionStep> = serde_json::from_value(json!([
        {"uses": "oci-push", "as": "no-tag", "config": {"imageRef": format!("{host}/team/app:1.0.0"), "destRef": format!("{host}/prod/app")}},
        {"uses": "oci-download", "as": "anonymous", "if": "${{ always() }}", "config": {"imageRef": format!("{host}/team/app:1.0.0"), "outPath": "x"}}
    ]))
    .unwrap();
    let orchestrator = Orchestrator { registry: &steps, data: &convoy_expr::NoData, clock: &Now };
    let context = PromotionContext { work_dir: dir.path().to_owned(), ..PromotionContext::default() };
    let mut progress = Progress::default();
    let _ = orchestrator.run(&context, &plan, &mut progress, &mut NoJournal).await;
    let message = |alias: &str| progress.meta(alias).unwrap().message.clone().unwrap_or_default();
    assert!(message("no-tag").contains("destRef"), "{}", message("no-tag"));
    assert!(message("anonymous").contains("requires credentials"), "{}", message("anonymous"));
}
