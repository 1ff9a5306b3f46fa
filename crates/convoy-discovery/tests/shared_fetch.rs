//! Many Warehouses on one repository share the mirror: one fetch per discovery cycle, and none
//! when `ls-remote` shows nothing moved.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use convoy_api::Warehouse;
use convoy_discovery::{Anonymous, Sources, discover};
use convoy_git::Mirrors;
use convoy_git::testing::git;

fn commit(work: &Path, n: usize) -> String {
    std::fs::write(work.join("file.txt"), n.to_string()).unwrap();
    git(work, &["commit", "--quiet", "-am", &format!("change {n}")]);
    git(work, &["push", "--quiet", "origin", "main"]);
    git(work, &["rev-parse", "HEAD"])
}

async fn cycle(sources: &Arc<Sources>, warehouses: &[Warehouse]) -> Vec<String> {
    let mut tasks = tokio::task::JoinSet::new();
    for warehouse in warehouses {
        let (sources, warehouse) = (sources.clone(), warehouse.clone());
        tasks.spawn(async move {
            let found = discover(&sources, &warehouse, &Anonymous, false).await.unwrap();
            found["git"][0]["commits"][0]["id"].as_str().unwrap().to_owned()
        });
    }
    tasks.join_all().await
}

#[tokio::test]
async fn a_hundred_warehouses_one_fetch_per_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let bare = dir.path().join("repo.git");
    git(dir.path(), &["init", "--quiet", "--bare", "-b", "main", bare.to_str().unwrap()]);
    let work = dir.path().join("work");
    git(dir.path(), &["clone", "--quiet", bare.to_str().unwrap(), work.to_str().unwrap()]);
    std::fs::write(work.join("file.txt"), "0").unwrap();
    git(&work, &["add", "."]);
    let first = commit(&work, 1);
    let url = format!("file://{}", bare.display());
    convoy_git::allow_file_remotes(true);
    let warehouses: Vec<Warehouse> = (0..100)
        .map(|i| {
            serde_json::from_value(serde_json::json!({
                "apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Warehouse",
                "metadata": {"name": format!("w{i}"), "namespace": "p"},
                "spec": {"subscriptions": [{"git": {"repoURL": url, "branch": "main"}}]}
            }))
            .unwrap()
        })
        .collect();
    let mirrors = Arc::new(Mirrors::new(dir.path().join("mirrors")));
    let sources = Arc::new(Sources::new(mirrors.clone()));

    let found = cycle(&sources, &warehouses).await;
    assert!(found.iter().all(|id| *id == first));
    assert_eq!(mirrors.fetch_count(), 1, "one clone for 100 Warehouses");

    // The next cycle, after the remote moved: one fetch, and everyone sees the new commit.
    let second = commit(&work, 2);
    tokio::time::sleep(convoy_discovery::git::FRESH_WITHIN + Duration::from_millis(100)).await;
    let found = cycle(&sources, &warehouses).await;
    assert!(found.iter().all(|id| *id == second), "{found:?}");
    assert_eq!(mirrors.fetch_count(), 2, "one fetch for 100 Warehouses");

    // A cycle with nothing new: ls-remote only, no fetch.
    tokio::time::sleep(convoy_discovery::git::FRESH_WITHIN + Duration::from_millis(100)).await;
    cycle(&sources, &warehouses).await;
    assert_eq!(mirrors.fetch_count(), 2, "no fetch when the remote's refs did not move");
    assert_eq!(mirrors.unchanged_count(), 1);

    // A refresh that was asked for (a webhook) looks at the remote at once, fresh mirror or not.
    let third = commit(&work, 3);
    let found = discover(&sources, &warehouses[0], &Anonymous, true).await.unwrap();
    assert_eq!(found["git"][0]["commits"][0]["id"], serde_json::json!(third));
}
