//! The behaviour every backend must show. Each backend's tests call [`check`] on a fresh store
//! (and [`check_compaction`] on one that keeps few events).

use std::sync::Arc;
use std::time::Duration;

use convoy_api::Kind;
use futures::StreamExt;
use serde_json::{Value, json};

use crate::{EventType, Key, LabelSelector, Store, StoreError, StoreExt, Write, follow};

fn stage(project: &str, name: &str, label: &str) -> Value {
    json!({
        "apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Stage",
        "metadata": {"name": name, "namespace": project, "labels": {"tier": label}},
        "spec": {"requestedFreight": [{"origin": {"kind": "Warehouse", "name": "w"}, "sources": {"direct": true}}]}
    })
}

fn key(project: &str, name: &str) -> Key {
    Key::new(Kind::Stage, project, name)
}

fn rv(object: &Value) -> String {
    object["metadata"]["resourceVersion"].as_str().unwrap_or_default().to_owned()
}

/// Runs every check; panics with a message naming the first one that fails.
pub async fn check(store: Arc<dyn Store>) {
    create_and_get(&*store).await;
    optimistic_concurrency(&*store).await;
    status_updates(&*store).await;
    deletes(&*store).await;
    lists(&*store).await;
    atomic_sets(&*store).await;
    cluster_scoped(&*store).await;
    watches(store.clone()).await;
    tokens(&*store).await;
    audit_trail(&*store).await;
}

fn token(name: &str, hash: &str) -> crate::TokenRecord {
    crate::TokenRecord {
        name: name.into(),
        hash: hash.into(),
        project: "shop".into(),
        grants: vec![crate::Grant { project: "shop".into(), role: "kargo-viewer".into() }],
        created_at: "2026-01-01T00:00:00Z".into(),
        created_by: "token:admin".into(),
        expires_at: Some("2027-01-01T00:00:00Z".into()),
        last_used_at: None,
        revoked_at: None,
    }
}

async fn tokens(store: &dyn Store) {
    store.create_token(token("ci", "h-ci")).await.unwrap();
    let found = store.token_by_hash("h-ci").await.unwrap().expect("a token is found by its hash");
    assert_eq!(found, token("ci", "h-ci"), "a token reads back as written");
    assert_eq!(store.token_by_hash("h-other").await.unwrap(), None);
    assert!(matches!(store.create_token(token("ci", "h-new")).await, Err(StoreError::Exists(_))), "names are unique");
    let grants = vec![
        crate::Grant { project: "shop".into(), role: "kargo-promoter".into() },
        crate::Grant { project: String::new(), role: "kargo-user".into() },
    ];
    store.set_token_grants("ci", &grants).await.unwrap();
    store.token_used("ci", "2026-02-01T00:00:00Z").await.unwrap();
    let found = store.token_by_hash("h-ci").await.unwrap().unwrap();
    assert_eq!(found.grants, grants);
    assert_eq!(found.last_used_at.as_deref(), Some("2026-02-01T00:00:00Z"));
    assert!(store.revoke_token("ci", "2026-03-01T00:00:00Z").await.unwrap());
    assert!(!store.revoke_token("ci", "2026-04-01T00:00:00Z").await.unwrap(), "revoking twice changes nothing");
    let found = store.token_by_hash("h-ci").await.unwrap().unwrap();
    assert_eq!(found.revoked_at.as_deref(), Some("2026-03-01T00:00:00Z"));
    assert!(store.revoke_token("nosuch", "2026-03-01T00:00:00Z").await.is_err());
    assert!(matches!(store.create_token(token("ci", "h-again")).await, Err(StoreError::Exists(_))), "not reused");
    assert!(store.tokens().await.unwrap().iter().any(|t| t.name == "ci"));
}

async fn audit_trail(store: &dyn Store) {
    let record = |at: &str, project: &str, actor: &str| crate::AuditRecord {
        id: 0,
        at: at.into(),
        actor: actor.into(),
        groups: vec![],
        verb: "update".into(),
        project: project.into(),
        kind: "Stage".into(),
        name: "test".into(),
        summary: "configured".into(),
        request_id: "r".into(),
        source: "127.0.0.1".into(),
        outcome: "allowed".into(),
        status: 200,
    };
    store
        .append_audit(vec![
            record("2026-01-01T00:00:00Z", "a", "token:x"),
            record("2026-01-02T00:00:00Z", "b", "token:y"),
            record("2026-01-03T00:00:00Z", "a", "token:y"),
        ])
        .await
        .unwrap();
    let all = store.audit(&crate::AuditQuery { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(all.len(), 3);
    assert!(all[0].id > all[1].id && all[1].id > all[2].id, "newest first, ids increasing in append order");
    assert_eq!(all[0].at, "2026-01-03T00:00:00Z");
    let query = crate::AuditQuery {
        projects: vec!["a".into()],
        actor: Some("token:y".into()),
        limit: 10,
        ..Default::default()
    };
    let found = store.audit(&query).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0], crate::AuditRecord { id: found[0].id, ..record("2026-01-03T00:00:00Z", "a", "token:y") });
    let since = crate::AuditQuery { since: Some("2026-01-02T00:00:00Z".into()), limit: 10, ..Default::default() };
    assert_eq!(store.audit(&since).await.unwrap().len(), 2);
    let page = crate::AuditQuery { before: Some(all[0].id), limit: 1, ..Default::default() };
    assert_eq!(store.audit(&page).await.unwrap()[0].id, all[1].id, "pages go on before an id");
    assert_eq!(store.prune_audit("2026-01-02T00:00:00Z").await.unwrap(), 1);
    assert_eq!(store.audit(&crate::AuditQuery { limit: 10, ..Default::default() }).await.unwrap().len(), 2);
}

async fn create_and_get(store: &dyn Store) {
    let before = store.current_revision().await.unwrap();
    let created = store.create(stage("cg", "a", "web")).await.unwrap();
    assert!(created.revision > before, "create: revision must increase");
    assert_eq!(rv(&created.object), created.revision.to_string(), "create: resourceVersion is the revision");
    assert_eq!(created.object["metadata"]["generation"], json!(1));
    assert!(created.object["metadata"]["uid"].as_str().is_some_and(|u| u.len() >= 32), "create: uid assigned");
    assert!(created.object["metadata"]["creationTimestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
    let got = store.get(&key("cg", "a")).await.unwrap().expect("get after create");
    assert_eq!(got, created, "get returns what create stored");
    assert_eq!(store.get(&key("cg", "missing")).await.unwrap(), None);
    let again = store.create(stage("cg", "a", "web")).await;
    assert_eq!(again.unwrap_err(), StoreError::AlreadyExists(key("cg", "a")));
}

async fn optimistic_concurrency(store: &dyn Store) {
    let created = store.create(stage("oc", "a", "web")).await.unwrap();
    let mut changed = created.object.clone();
    changed["spec"]["vars"] = json!([{"name": "x", "value": "1"}]);
    let updated = store.put(changed.clone(), Some(created.revision)).await.unwrap();
    assert!(updated.revision > created.revision);
    assert_eq!(updated.object["metadata"]["generation"], json!(2), "a spec change bumps generation");
    assert_eq!(updated.object["metadata"]["uid"], created.object["metadata"]["uid"], "uid survives updates");
    let stale = store.put(changed.clone(), Some(created.revision)).await;
    assert_eq!(
        stale.unwrap_err(),
        StoreError::Conflict { key: key("oc", "a"), expected: created.revision, actual: updated.revision },
        "a stale resourceVersion is a conflict"
    );
    let mut relabelled = updated.object.clone();
    relabelled["metadata"]["labels"]["tier"] = json!("db");
    let relabelled = store.put(relabelled, None).await.unwrap();
    assert_eq!(relabelled.object["metadata"]["generation"], json!(2), "metadata changes keep the generation");
    let missing = store.put(stage("oc", "nope", "web"), Some(1)).await;
    assert_eq!(missing.unwrap_err(), StoreError::NotFound(key("oc", "nope")));
}

async fn status_updates(store: &dyn Store) {
    let created = store.create(stage("st", "a", "web")).await.unwrap();
    let updated =
        store.put_status(key("st", "a"), json!({"freightSummary": "x"}), Some(created.revision)).await.unwrap();
    assert_eq!(updated.object["status"], json!({"freightSummary": "x"}));
    assert_eq!(updated.object["spec"], created.object["spec"], "status updates keep the spec");
    assert_eq!(updated.object["metadata"]["generation"], json!(1), "status updates keep the generation");
    let stale = store.put_status(key("st", "a"), json!({}), Some(created.revision)).await;
    assert!(matches!(stale, Err(StoreError::Conflict { .. })));
    let missing = store.put_status(key("st", "nope"), json!({}), None).await;
    assert_eq!(missing.unwrap_err(), StoreError::NotFound(key("st", "nope")));
}

async fn deletes(store: &dyn Store) {
    let created = store.create(stage("del", "a", "web")).await.unwrap();
    let stale = store.delete(key("del", "a"), Some(created.revision - 1)).await;
    assert!(matches!(stale, Err(StoreError::Conflict { .. })), "delete checks resourceVersion");
    let deleted = store.delete(key("del", "a"), Some(created.revision)).await.unwrap();
    assert_eq!(deleted.object["metadata"]["name"], json!("a"));
    assert_eq!(store.get(&key("del", "a")).await.unwrap(), None);
    assert_eq!(store.delete(key("del", "a"), None).await.unwrap_err(), StoreError::NotFound(key("del", "a")));
    store.create(stage("del", "a", "web")).await.expect("a deleted name can be reused");
}

async fn lists(store: &dyn Store) {
    for (name, tier) in [("c", "web"), ("a", "web"), ("b", "db")] {
        store.create(stage("ls", name, tier)).await.unwrap();
    }
    store.create(stage("ls-other", "z", "web")).await.unwrap();
    let (all, revision) = store.list(Kind::Stage, Some("ls"), &LabelSelector::everything()).await.unwrap();
    let names: Vec<_> = all.iter().map(|s| s.key.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"], "list is sorted by name and scoped to the project");
    assert!(all.iter().all(|s| s.revision <= revision), "the list revision covers its items");
    let web = LabelSelector::parse("tier=web").unwrap();
    let (filtered, _) = store.list(Kind::Stage, Some("ls"), &web).await.unwrap();
    assert_eq!(filtered.iter().map(|s| s.key.name.as_str()).collect::<Vec<_>>(), ["a", "c"]);
    let (everywhere, _) = store.list(Kind::Stage, None, &web).await.unwrap();
    assert!(everywhere.iter().any(|s| s.key.project == "ls-other"), "no project lists every project");
    let (none, _) = store.list(Kind::Warehouse, Some("ls"), &LabelSelector::everything()).await.unwrap();
    assert!(none.is_empty(), "list is scoped to the kind");
    // Pages: the same order, a position to go on from, and whether more follow.
    let first = store.list_page(Kind::Stage, Some("ls"), &LabelSelector::everything(), None, 2).await.unwrap();
    assert_eq!(first.items.iter().map(|s| s.key.name.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    assert!(first.more, "a third Stage follows");
    let last =
        store.list_page(Kind::Stage, Some("ls"), &LabelSelector::everything(), Some(("ls", "b")), 2).await.unwrap();
    assert_eq!(last.items.iter().map(|s| s.key.name.as_str()).collect::<Vec<_>>(), ["c"]);
    assert!(!last.more, "nothing after the last");
    let web_page = store.list_page(Kind::Stage, None, &web, Some(("ls", "a")), 2).await.unwrap();
    let keys: Vec<_> = web_page.items.iter().map(|s| format!("{}/{}", s.key.project, s.key.name)).collect();
    assert_eq!(keys, ["ls/c", "ls-other/z"], "pages across projects filter before counting");
}

async fn atomic_sets(store: &dyn Store) {
    let existing = store.create(stage("at", "exists", "web")).await.unwrap();
    let before = store.current_revision().await.unwrap();
    let result = store
        .apply(vec![
            Write::Create(stage("at", "new-1", "web")),
            Write::Put { object: stage("at", "exists", "db"), expected: Some(existing.revision + 100) },
        ])
        .await;
    assert!(matches!(result, Err(StoreError::Conflict { .. })));
    assert_eq!(store.get(&key("at", "new-1")).await.unwrap(), None, "a failed set writes nothing");
    assert_eq!(store.current_revision().await.unwrap(), before, "a failed set takes no revision");
    let results = store
        .apply(vec![Write::Create(stage("at", "new-1", "web")), Write::Create(stage("at", "new-2", "web"))])
        .await
        .unwrap();
    assert_eq!(results.len(), 2);
    assert!(results[0].revision < results[1].revision, "revisions increase within a set");
    // One key written several times in a set: each write sees the one before it.
    let start = store.current_revision().await.unwrap();
    let results = store
        .apply(vec![
            Write::Create(stage("at", "twice", "web")),
            Write::Put { object: stage("at", "twice", "db"), expected: Some(start + 1) },
            Write::Create(stage("at", "gone", "web")),
            Write::Delete { key: key("at", "gone"), expected: Some(start + 3) },
        ])
        .await
        .unwrap();
    assert_eq!(results.iter().map(|r| r.revision).collect::<Vec<_>>(), [start + 1, start + 2, start + 3, start + 4]);
    let twice = store.get(&key("at", "twice")).await.unwrap().expect("stored");
    assert_eq!((twice.revision, twice.object["metadata"]["labels"]["tier"].clone()), (start + 2, json!("db")));
    assert_eq!(store.get(&key("at", "gone")).await.unwrap(), None, "created and deleted in one set");
    let events = store.events_since(start, 10).await.unwrap();
    let types: Vec<EventType> = events.iter().map(|e| e.event_type).collect();
    assert_eq!(types, [EventType::Added, EventType::Modified, EventType::Added, EventType::Deleted]);
    assert_eq!(store.current_revision().await.unwrap(), start + 4);
}

async fn cluster_scoped(store: &dyn Store) {
    let project = json!({"apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Project", "metadata": {"name": "cs"}});
    store.create(project).await.unwrap();
    let got = store.get(&Key::new(Kind::Project, "ignored", "cs")).await.unwrap();
    assert!(got.is_some(), "cluster-scoped keys ignore the project");
}

async fn watches(store: Arc<dyn Store>) {
    let start = store.current_revision().await.unwrap();
    let mut stream = follow(store.clone(), start);
    let created = store.create(stage("wt", "a", "web")).await.unwrap();
    let mut changed = created.object.clone();
    changed["spec"]["vars"] = json!([{"name": "v", "value": "1"}]);
    store.put(changed, None).await.unwrap();
    store.delete(key("wt", "a"), None).await.unwrap();
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let event = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("watch delivers events within 10 s")
            .expect("stream open")
            .expect("no error");
        if event.object["metadata"]["namespace"] == json!("wt") {
            seen.push(event);
        }
    }
    let types: Vec<EventType> = seen.iter().map(|e| e.event_type).collect();
    assert_eq!(types, [EventType::Added, EventType::Modified, EventType::Deleted]);
    assert!(seen.windows(2).all(|w| w[0].revision < w[1].revision), "events arrive in revision order");
    // Resuming from a revision replays exactly what came after it.
    let mut resumed = follow(store.clone(), seen[0].revision);
    let next = tokio::time::timeout(Duration::from_secs(10), resumed.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(next.revision, seen[1].revision, "resume starts after the given revision");
}

/// For a store created to keep at most `retain` events: an old revision is refused.
pub async fn check_compaction(store: Arc<dyn Store>, retain: usize) {
    for i in 0..(retain + 5) {
        store.create(stage("cp", &format!("s{i}"), "web")).await.unwrap();
    }
    let result = store.events_since(0, 10).await;
    assert!(matches!(result, Err(StoreError::RevisionTooOld { .. })), "replay from 0 after compaction: {result:?}");
    let current = store.current_revision().await.unwrap();
    assert!(store.events_since(current - 2, 10).await.unwrap().len() == 2, "recent revisions replay");
}
